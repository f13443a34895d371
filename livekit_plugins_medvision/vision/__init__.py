"""VisionStreamer: a participant's camera or screen share to Gemini Live, off the event loop."""

from .delivery import VideoSink
from .options import VideoSourcePreference, VisionOptions
from .stats import VisionStats
from .streamer import VisionEventTypes, VisionStreamer

__all__ = [
    "VideoSink",
    "VideoSourcePreference",
    "VisionEventTypes",
    "VisionOptions",
    "VisionStats",
    "VisionStreamer",
]

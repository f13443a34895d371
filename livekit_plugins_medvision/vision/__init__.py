"""VisionStreamer: a participant's camera or screen share to Gemini Live, off the event loop."""

from .capture import Capture, CaptureSource
from .delivery import VideoSink
from .options import VideoSourcePreference, VisionOptions
from .stats import VisionStats
from .streamer import VisionEventTypes, VisionStreamer
from .tools import LOOK_CLOSELY_DESCRIPTION, look_closely_tool

__all__ = [
    "LOOK_CLOSELY_DESCRIPTION",
    "Capture",
    "CaptureSource",
    "VideoSink",
    "VideoSourcePreference",
    "VisionEventTypes",
    "VisionOptions",
    "VisionStats",
    "VisionStreamer",
    "look_closely_tool",
]

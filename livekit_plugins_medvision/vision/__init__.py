"""VisionStreamer: a participant's camera or screen share to Gemini Live, off the event loop."""

from .capture import Capture, CaptureSource
from .consent import CONSENT_ATTRIBUTE, ConsentChangedEvent, ConsentState
from .delivery import VideoSink
from .options import SCREEN_SHARE_PROFILE, SourceProfile, VideoSourcePreference, VisionOptions
from .stats import VisionStats
from .streamer import VisionEventTypes, VisionStreamer
from .tools import CONSENT_DESCRIPTION, LOOK_CLOSELY_DESCRIPTION, consent_tool, look_closely_tool

__all__ = [
    "CONSENT_ATTRIBUTE",
    "CONSENT_DESCRIPTION",
    "SCREEN_SHARE_PROFILE",
    "ConsentChangedEvent",
    "ConsentState",
    "SourceProfile",
    "LOOK_CLOSELY_DESCRIPTION",
    "Capture",
    "CaptureSource",
    "VideoSink",
    "VideoSourcePreference",
    "VisionEventTypes",
    "VisionOptions",
    "VisionStats",
    "VisionStreamer",
    "consent_tool",
    "look_closely_tool",
]

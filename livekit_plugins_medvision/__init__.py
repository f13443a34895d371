"""Eyes, patient context and per-modality cost for LiveKit voice agents on Gemini Live.

- ``MedVision.start(ctx, session, agent)`` wires the three parts below to an ``AgentSession``
  in the right order and closes them, in order, in one shutdown callback.

- ``VisionStreamer`` streams a participant's camera or screen share to a Gemini Live
  ``RealtimeModel``, scaled and converted off the event loop (only the plugin's JPEG of the
  small frame stays on it).
- ``PatientContextProvider`` reads patient context and avatar configuration from PostgreSQL
  through one asyncpg pool, and ``clinic_instructions`` renders it safely into the prompt.
- ``CostTracker`` prices a Gemini Live session per modality from its real usage messages,
  with budgets that act on the video stream.
- ``CallSupervisor`` keeps a call going through a lost Gemini Live connection, reconnecting
  with backoff for a bounded time, and ends it cleanly past that bound.
- ``start_avatar`` starts the avatar a clinic's configuration names (tavus, bey, anam, simli,
  lemonslice), importing its plugin only then; without it the agent runs on, avatar-less.

``livekit_plugins_medvision.testing`` holds a local Gemini Live emulator for offline tests.
"""

from livekit.agents import Plugin

from .avatars import AVATAR_PROVIDERS, Avatar, AvatarProvider, create_avatar, start_avatar
from .call import CallContext, MedVision
from .continuity import CallSupervisor, ReconnectPolicy
from .costs import (
    Bucket,
    Budget,
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    CostReport,
    CostTracker,
    ModelPricing,
    UsageUpdatedEvent,
    VideoDegradedEvent,
    pricing_for,
)
from .errors import (
    CostLedgerError,
    MedVisionError,
    PatientContextError,
    PatientContextUnavailable,
    RealtimeUnavailableError,
    StreamerClosedError,
    VisionUnavailableError,
)
from .log import logger
from .patients import (
    AvatarConfig,
    PatientContext,
    PatientContextProvider,
    PatientQueries,
    clinic_instructions,
    render_patient_context,
)
from .privacy import hash_patient_id
from .production import UnsafeSettingsError, check_production_settings
from .retry import call_with_retry
from .tokens import estimate_image_tokens
from .version import __version__
from .vision import (
    Capture,
    ConsentChangedEvent,
    SourceProfile,
    VideoSink,
    VideoSourcePreference,
    VisionEventTypes,
    VisionOptions,
    VisionStats,
    VisionStreamer,
    consent_tool,
    look_closely_tool,
)

__all__ = [
    "AVATAR_PROVIDERS",
    "Avatar",
    "AvatarConfig",
    "AvatarProvider",
    "Bucket",
    "Budget",
    "Capture",
    "ConsentChangedEvent",
    "BudgetHardExceededEvent",
    "BudgetSoftExceededEvent",
    "CallContext",
    "CallSupervisor",
    "CostLedgerError",
    "CostReport",
    "CostTracker",
    "MedVision",
    "MedVisionError",
    "ModelPricing",
    "PatientContext",
    "PatientContextError",
    "PatientContextProvider",
    "PatientContextUnavailable",
    "PatientQueries",
    "RealtimeUnavailableError",
    "ReconnectPolicy",
    "SourceProfile",
    "StreamerClosedError",
    "UnsafeSettingsError",
    "UsageUpdatedEvent",
    "VideoDegradedEvent",
    "VideoSink",
    "VideoSourcePreference",
    "VisionEventTypes",
    "VisionOptions",
    "VisionStats",
    "VisionStreamer",
    "VisionUnavailableError",
    "__version__",
    "call_with_retry",
    "check_production_settings",
    "clinic_instructions",
    "consent_tool",
    "create_avatar",
    "estimate_image_tokens",
    "hash_patient_id",
    "look_closely_tool",
    "pricing_for",
    "render_patient_context",
    "start_avatar",
]


class MedVisionPlugin(Plugin):
    """Registers the package with LiveKit Agents, so the CLI's log level reaches its logger."""

    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__ or __name__, logger)


Plugin.register_plugin(MedVisionPlugin())

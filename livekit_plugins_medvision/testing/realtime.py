"""LiveKit's Google ``RealtimeModel`` pointed at a running emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livekit.plugins import google

if TYPE_CHECKING:
    from .server import FakeGeminiLive

__all__ = ["realtime_model"]


def realtime_model(server: FakeGeminiLive, **options: object) -> google.realtime.RealtimeModel:
    """Return ``google.realtime.RealtimeModel(**options)`` talking to ``server`` over TLS.

    The API key and ``http_options`` (base URL and an SSL context that trusts the emulator)
    are set; every other keyword goes to ``RealtimeModel`` unchanged (``model``,
    ``instructions``, ``media_resolution``, ``realtime_input_config``...).

    Raises:
        ValueError: ``options`` sets ``api_key`` or ``http_options`` (the helper owns them).
    """
    for owned in ("api_key", "http_options"):
        if owned in options:
            raise ValueError(f"realtime_model sets {owned} itself; pass the other options only")
    return google.realtime.RealtimeModel(
        api_key="fake",
        http_options=server.http_options(),
        **options,  # type: ignore[arg-type]  # RealtimeModel's own keywords, checked by it
    )

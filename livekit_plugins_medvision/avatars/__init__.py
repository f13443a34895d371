"""Avatar providers by name: tavus, bey, anam, simli and lemonslice, each imported lazily.

``start_avatar(provider, settings, session, room)`` builds the avatar a clinic's configuration
asks for and starts it; a plugin that is not installed or bad settings give one warning line and
``None``, so the agent runs without an avatar.
"""

from .registry import (
    AVATAR_PROVIDERS,
    Avatar,
    AvatarProvider,
    NestedOption,
    create_avatar,
    start_avatar,
)

__all__ = [
    "AVATAR_PROVIDERS",
    "Avatar",
    "AvatarProvider",
    "NestedOption",
    "create_avatar",
    "start_avatar",
]

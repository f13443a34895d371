"""Avatar providers by name, each imported only when a clinic's configuration asks for it.

The five LiveKit avatar plugins share one shape: construct ``AvatarSession(**options)``, then
``await avatar.start(session, room=room)``, then ``await avatar.aclose()``. What differs is the
plugin to import and the options each constructor takes. Options come from a database row, so
they are checked here (known names, right types) before any plugin is imported; secrets such as
API keys are not accepted from the row: each plugin reads its own from the environment.

A plugin that is not installed, an unknown provider, bad options or a provider that fails to
start all end the same way: one warning line, and the agent carries on without an avatar.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.voice.avatar import AvatarSession

from ..log import logger

__all__ = [
    "AVATAR_PROVIDERS",
    "Avatar",
    "AvatarProvider",
    "NestedOption",
    "create_avatar",
    "start_avatar",
]

OptionType = type[str] | type[int]


class Avatar(Protocol):
    """What the agent needs from an avatar session, whichever provider made it."""

    @property
    def provider(self) -> str:
        """The provider's name, as reported by its plugin."""
        ...

    async def start(self, agent_session: AgentSession[None], room: rtc.Room) -> object:
        """Join ``room`` and take over the session's audio output."""
        ...

    async def aclose(self) -> None:
        """Leave the room and release the provider's resources."""
        ...


@dataclass(frozen=True)
class NestedOption:
    """An option whose value is an object the plugin wants as one of its own classes.

    Attributes:
        class_name: The class in the plugin module built from the object (``"SimliConfig"``).
        fields: Accepted fields and their types.
        required: Fields that must be present.
        from_env: Fields filled from an environment variable (field -> variable), for the
            secrets a plugin takes in its config rather than reading them itself.
    """

    class_name: str
    fields: Mapping[str, OptionType]
    required: frozenset[str] = frozenset()
    from_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AvatarProvider:
    """How to build one provider's ``AvatarSession`` from a configuration row.

    Attributes:
        name: The provider name stored in the clinic's configuration (``"tavus"``).
        module: The plugin module that holds ``AvatarSession`` (``"livekit.plugins.tavus"``).
        package: The distribution to install for it (``"livekit-plugins-tavus"``).
        options: Accepted constructor options and their types.
        nested: Accepted options whose value is an object, by option name.
        required: Options that must be present.
    """

    name: str
    module: str
    package: str
    options: Mapping[str, OptionType] = field(default_factory=dict)
    nested: Mapping[str, NestedOption] = field(default_factory=dict)
    required: frozenset[str] = frozenset()

    def check(self, settings: Mapping[str, object]) -> dict[str, object]:
        """Return ``settings`` checked against this provider's options.

        Nested options come back as plain dicts (environment fields filled in); ``build`` turns
        them into the plugin's classes once the plugin is imported.

        Raises:
            ValueError: an unknown option or field, a value of the wrong type, or a required
                option or field that is missing; the message names it.
        """
        _check_names(f"{self.name} avatar", settings, self.options.keys() | self.nested.keys())
        _check_required(f"{self.name} avatar", settings, self.required)
        checked: dict[str, object] = {}
        for key, value in settings.items():
            what = f"{self.name} avatar option {key!r}"
            if key in self.options:
                checked[key] = _check_value(what, value, self.options[key])
            else:
                checked[key] = _check_nested(what, value, self.nested[key])
        return checked

    def build(self, settings: Mapping[str, object]) -> Avatar:
        """Import the plugin and construct its ``AvatarSession`` from checked ``settings``.

        Raises:
            ModuleNotFoundError: the plugin is not installed.
            TypeError: the plugin's ``AvatarSession`` is not a LiveKit avatar session.
        """
        module = importlib.import_module(self.module)
        kwargs = dict(settings)
        for key, nested in self.nested.items():
            if key in kwargs:
                kwargs[key] = getattr(module, nested.class_name)(**_as_mapping(kwargs[key]))
        avatar = module.AvatarSession(**kwargs)
        if not isinstance(avatar, AvatarSession):
            raise TypeError(f"{self.module}.AvatarSession is not a LiveKit AvatarSession")
        return avatar


def _check_names(what: str, given: Mapping[str, object], known: set[str]) -> None:
    for name in given:
        if name not in known:
            raise ValueError(f"{what}: unknown option {name!r} (accepted: {sorted(known)})")


def _check_required(what: str, given: Mapping[str, object], required: frozenset[str]) -> None:
    missing = sorted(required - given.keys())
    if missing:
        raise ValueError(f"{what}: missing option {missing[0]!r}")


def _check_nested(what: str, value: object, nested: NestedOption) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object")
    _check_names(what, value, set(nested.fields))
    checked = {
        name: _check_value(f"{what} field {name!r}", item, nested.fields[name])
        for name, item in value.items()
    }
    for name, variable in nested.from_env.items():
        if name not in checked:
            from_env = os.environ.get(variable)
            if not from_env:
                raise ValueError(f"{what}: {variable} is not set")
            checked[name] = from_env
    _check_required(what, checked, nested.required)
    return checked


def _check_value(what: str, value: object, expected: OptionType) -> object:
    # bool is an int subclass; a JSON true where a number is expected is a mistake
    if isinstance(value, bool) or not isinstance(value, expected):
        kind = "a string" if expected is str else "an integer"
        raise ValueError(f"{what} must be {kind}, got {type(value).__name__}")
    return value


def _as_mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError("a nested avatar option was not checked")
    return value


_PARTICIPANT: Mapping[str, OptionType] = {
    "avatar_participant_identity": str,
    "avatar_participant_name": str,
}

AVATAR_PROVIDERS: Mapping[str, AvatarProvider] = MappingProxyType(
    {
        "anam": AvatarProvider(
            name="anam",
            module="livekit.plugins.anam",
            package="livekit-plugins-anam",
            options=_PARTICIPANT,
            nested={
                "persona_config": NestedOption(
                    "PersonaConfig",
                    {"name": str, "avatarId": str, "avatarModel": str},
                    required=frozenset({"name", "avatarId"}),
                )
            },
            required=frozenset({"persona_config"}),
        ),
        "bey": AvatarProvider(
            name="bey",
            module="livekit.plugins.bey",
            package="livekit-plugins-bey",
            options={"avatar_id": str, **_PARTICIPANT},
        ),
        "lemonslice": AvatarProvider(
            name="lemonslice",
            module="livekit.plugins.lemonslice",
            package="livekit-plugins-lemonslice",
            options={
                "agent_id": str,
                "agent_image_url": str,
                "agent_prompt": str,
                "agent_idle_prompt": str,
                "idle_timeout": int,
                "model": str,
                **_PARTICIPANT,
            },
        ),
        "simli": AvatarProvider(
            name="simli",
            module="livekit.plugins.simli",
            package="livekit-plugins-simli",
            options=_PARTICIPANT,
            nested={
                "simli_config": NestedOption(
                    "SimliConfig",
                    {
                        "face_id": str,
                        "emotion_id": str,
                        "max_session_length": int,
                        "max_idle_time": int,
                    },
                    required=frozenset({"face_id"}),
                    from_env={"api_key": "SIMLI_API_KEY"},
                )
            },
            required=frozenset({"simli_config"}),
        ),
        "tavus": AvatarProvider(
            name="tavus",
            module="livekit.plugins.tavus",
            package="livekit-plugins-tavus",
            options={"face_id": str, "pal_id": str, **_PARTICIPANT},
        ),
    }
)
"""The supported avatar providers by name (hedra is left out: its 1.8.9 plugin is disabled)."""


def create_avatar(
    provider: str,
    settings: Mapping[str, object],
    *,
    providers: Mapping[str, AvatarProvider] = AVATAR_PROVIDERS,
) -> Avatar | None:
    """Construct the avatar a configuration row asks for, or ``None`` with one warning line.

    Args:
        provider: The provider name (a key of ``providers``).
        settings: The provider's constructor options, as stored in the configuration.
        providers: The registry to look ``provider`` up in.
    """
    spec = providers.get(provider)
    if spec is None:
        logger.warning(
            "avatar disabled: unknown provider %r (known: %s)", provider, ", ".join(providers)
        )
        return None
    try:
        checked = spec.check(settings)
    except ValueError as exc:
        logger.warning("avatar disabled: %s", exc)
        return None
    try:
        return spec.build(checked)
    except ModuleNotFoundError as exc:
        if exc.name is None or not spec.module.startswith(exc.name):
            logger.warning("avatar disabled: %s failed to import (%s)", spec.module, exc)
        else:
            logger.warning(
                "avatar disabled: provider %r needs %s (pip install %s)",
                provider,
                spec.package,
                spec.package,
            )
        return None
    except Exception as exc:  # a plugin's own exception types, e.g. a missing API key
        logger.warning(
            "avatar disabled: %s could not be created (%s: %s)",
            provider,
            type(exc).__name__,
            exc,
        )
        return None


async def start_avatar(
    provider: str,
    settings: Mapping[str, object],
    session: AgentSession[None],
    room: rtc.Room,
    *,
    providers: Mapping[str, AvatarProvider] = AVATAR_PROVIDERS,
) -> Avatar | None:
    """Create and start the configured avatar; ``None`` (one warning line) if it cannot run.

    Call it before ``session.start(...)`` so the avatar receives the agent's audio from the
    first word. In a LiveKit job the avatar closes itself at shutdown; elsewhere call
    ``aclose()`` on the result.

    Args:
        provider: The provider name (a key of ``providers``).
        settings: The provider's constructor options, as stored in the configuration.
        session: The agent session whose audio the avatar speaks.
        room: The room the avatar joins.
        providers: The registry to look ``provider`` up in.
    """
    avatar = create_avatar(provider, settings, providers=providers)
    if avatar is None:
        return None
    try:
        await avatar.start(session, room)
    except Exception as exc:  # provider API down, bad credentials: the call goes on without it
        logger.warning(
            "avatar disabled: %s failed to start (%s: %s)", provider, type(exc).__name__, exc
        )
        try:
            await avatar.aclose()
        except Exception as close_exc:  # the start failure above is the line that matters
            logger.debug(
                "avatar %s failed to close after a failed start (%s)",
                provider,
                type(close_exc).__name__,
            )
        return None
    return avatar

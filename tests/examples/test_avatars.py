from collections.abc import Iterator

import pytest
from livekit import rtc
from livekit.agents import AgentSession

from livekit_plugins_medvision.avatars import (
    AVATAR_PROVIDERS,
    AvatarProvider,
    NestedOption,
    create_avatar,
    start_avatar,
)

from . import fake_avatar_plugin

FAKE = AvatarProvider(
    name="fake",
    module="tests.examples.fake_avatar_plugin",
    package="fake-avatar-plugin",
    options={"avatar_participant_name": str},
    nested={
        "face_config": NestedOption(
            "FaceConfig",
            {"face_id": str},
            required=frozenset({"face_id"}),
            from_env={"api_key": "FAKE_AVATAR_API_KEY"},
        )
    },
    required=frozenset({"face_config"}),
)
PROVIDERS = {"fake": FAKE}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FAKE_AVATAR_API_KEY", "k")
    fake_avatar_plugin.events.clear()
    yield


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_the_five_providers_are_registered() -> None:
    assert sorted(AVATAR_PROVIDERS) == ["anam", "bey", "lemonslice", "simli", "tavus"]
    for name, provider in AVATAR_PROVIDERS.items():
        assert provider.module == f"livekit.plugins.{name}"
        assert provider.package == f"livekit-plugins-{name}"


@pytest.mark.parametrize(
    "provider, settings",
    [
        ("tavus", {"face_id": "r-1"}),
        ("bey", {}),
        ("anam", {"persona_config": {"name": "Ana", "avatarId": "a-1"}}),
        ("lemonslice", {"agent_id": "l-1", "idle_timeout": 30}),
    ],
)
def test_a_provider_that_is_not_installed_gives_one_line_and_no_avatar(
    provider: str, settings: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    assert create_avatar(provider, settings) is None
    assert _warnings(caplog) == [
        f"avatar disabled: provider {provider!r} needs livekit-plugins-{provider} "
        f"(pip install livekit-plugins-{provider})"
    ]


@pytest.mark.parametrize(
    "provider, settings, named",
    [
        ("tavus", {"face_id": 7}, "'face_id' must be a string, got int"),
        ("tavus", {"api_key": "sk-live"}, "unknown option 'api_key'"),
        ("anam", {}, "missing option 'persona_config'"),
        ("anam", {"persona_config": "Ana"}, "'persona_config' must be an object"),
        ("anam", {"persona_config": {"nme": "Ana"}}, "unknown option 'nme'"),
        ("anam", {"persona_config": {"name": "Ana"}}, "missing option 'avatarId'"),
        ("lemonslice", {"idle_timeout": True}, "idle_timeout' must be an integer, got bool"),
        ("simli", {"simli_config": {"face_id": "f"}}, "SIMLI_API_KEY is not set"),
        (
            "simli",
            {"simli_config": {"max_idle_time": 30.5}},
            "max_idle_time' must be an integer, got float",
        ),
    ],
)
def test_bad_settings_are_named_before_any_import(
    provider: str,
    settings: dict[str, object],
    named: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SIMLI_API_KEY", raising=False)
    assert create_avatar(provider, settings) is None
    [line] = _warnings(caplog)
    assert named in line
    assert "sk-live" not in caplog.text


def test_an_unknown_provider_names_the_known_ones(caplog: pytest.LogCaptureFixture) -> None:
    assert create_avatar("hedra", {}) is None
    [line] = _warnings(caplog)
    assert "unknown provider 'hedra'" in line
    assert "tavus" in line


def test_an_installed_provider_is_built_with_nested_config_and_env_secret() -> None:
    avatar = create_avatar(
        "fake",
        {"face_config": {"face_id": "f-1"}, "avatar_participant_name": "Dr. Avatar"},
        providers=PROVIDERS,
    )
    assert isinstance(avatar, fake_avatar_plugin.AvatarSession)
    assert avatar.face_config == fake_avatar_plugin.FaceConfig(face_id="f-1", api_key="k")
    assert avatar.name == "Dr. Avatar"


def test_a_plugin_error_at_construction_gives_one_line(caplog: pytest.LogCaptureFixture) -> None:
    settings = {"face_config": {"face_id": "refused"}}
    assert create_avatar("fake", settings, providers=PROVIDERS) is None
    [line] = _warnings(caplog)
    assert line == (
        "avatar disabled: fake could not be created (RuntimeError: the provider refused this face)"
    )


def test_a_module_without_an_avatar_session_is_rejected(caplog: pytest.LogCaptureFixture) -> None:
    broken = AvatarProvider(name="broken", module="tests.examples.conftest", package="x")
    assert create_avatar("broken", {}, providers={"broken": broken}) is None
    [line] = _warnings(caplog)
    assert "broken could not be created (AttributeError" in line


async def test_start_then_aclose() -> None:
    session: AgentSession[None] = AgentSession()
    room = rtc.Room()
    avatar = await start_avatar(
        "fake", {"face_config": {"face_id": "f-1"}}, session, room, providers=PROVIDERS
    )
    assert avatar is not None
    assert avatar.provider == "fake"
    await avatar.aclose()
    assert fake_avatar_plugin.events == ["construct", "start", "aclose"]
    await session.aclose()


@pytest.mark.parametrize("face_id", ["offline", "offline-unclosable"])
async def test_a_provider_that_fails_to_start_is_closed_and_dropped(
    face_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    session: AgentSession[None] = AgentSession()
    avatar = await start_avatar(
        "fake", {"face_config": {"face_id": face_id}}, session, rtc.Room(), providers=PROVIDERS
    )
    assert avatar is None
    assert fake_avatar_plugin.events == ["construct", "aclose"]
    [line] = _warnings(caplog)
    assert "fake failed to start (ConnectionError" in line
    await session.aclose()

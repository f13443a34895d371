"""The service's documented rules, as the emulator enforces them (docs/emulator.md's table)."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from google import genai
from google.genai import errors, types

from livekit_plugins_medvision.testing import FakeGeminiLive, SessionLimits, Unverified

from .conftest import MODEL, encode_image
from .test_genai_client import TEXT_ONLY, read_until
from .test_wire import PATH, expect_close, raw_session

pytestmark = pytest.mark.e2e

SETUP = {"setup": {"model": f"models/{MODEL}"}}


async def test_a_model_not_offered_for_live_is_refused_with_1008(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model="gemini-2.5-flsh-native-audio", config=TEXT_ONLY):
            pass
    assert refused.value.code == 1008
    assert server.received.rejected[0].reason.startswith(
        "models/gemini-2.5-flsh-native-audio is not found for API version v1"
    )
    assert server.received.setups == []


async def test_the_model_list_is_a_knob() -> None:
    async with FakeGeminiLive(models={"my-tuned-live"}) as server:
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps({"setup": {"model": "models/my-tuned-live"}}))
            assert json.loads(await socket.recv()) == {"setupComplete": {}}
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps(SETUP))
            assert (await expect_close(socket)).code == 1008


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            {"model": f"models/{MODEL}", "generationConfig": {"temprature": 0.2}},
            'Invalid JSON payload received. Unknown name "temprature" at '
            "'setup.generation_config': Cannot find field.",
        ),
        (
            # Listed by the proto as not supported in a Live setup.
            {"model": f"models/{MODEL}", "generationConfig": {"responseMimeType": "text/x"}},
            'Invalid JSON payload received. Unknown name "responseMimeType" at '
            "'setup.generation_config': Cannot find field.",
        ),
        (
            {"model": f"models/{MODEL}", "generationConfig": {"mediaResolution": "LOW"}},
            "Invalid value at 'setup.generation_config.media_resolution' "
            "(type.googleapis.com/google.ai.generativelanguage.v1beta.Genera",
        ),
        (
            {
                "model": f"models/{MODEL}",
                "realtimeInputConfig": {"turnCoverage": "TURN_INCLUDES_EVERYTHING"},
            },
            "Invalid value at 'setup.realtime_input_config.turn_coverage' "
            "(type.googleapis.com/google.ai.generativelanguage.v1beta.Realt",
        ),
        ({"model": 7}, "Invalid value at 'setup.model' (TYPE_STRING)"),
    ],
)
async def test_setup_fields_are_checked_against_the_schema(
    server: FakeGeminiLive, setup: dict[str, object], reason: str
) -> None:
    async with raw_session(server, setup=False) as socket:
        await socket.send(json.dumps({"setup": setup}))
        closed = await expect_close(socket)
    # A close reason holds at most 123 bytes: longer ones are cut, as the service must too.
    assert (closed.code, closed.reason) == (1007, reason)
    assert server.received.setups == []


async def test_enum_numbers_and_both_key_spellings_are_accepted(server: FakeGeminiLive) -> None:
    async with raw_session(server, setup=False) as socket:
        await socket.send(
            json.dumps(
                {
                    "setup": {
                        "model": f"models/{MODEL}",
                        "generation_config": {"media_resolution": 1, "responseModalities": [1]},
                        "realtimeInputConfig": {"turn_coverage": "TURN_INCLUDES_ALL_INPUT"},
                    }
                }
            )
        )
        assert json.loads(await socket.recv()) == {"setupComplete": {}}
    setup = server.received.setups[0]
    assert setup.media_resolution == "MEDIA_RESOLUTION_LOW"
    assert setup.response_modalities == ("TEXT",)


async def test_activity_signals_are_refused_while_the_service_detects_speech(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        with pytest.raises(errors.APIError) as refused:
            await read_until(session, lambda m: False)
    assert refused.value.code == 1007
    assert "automatic activity detection is on" in server.received.rejected[0].detail


async def test_activity_signals_under_detection_can_be_ignored_instead() -> None:
    async with FakeGeminiLive(
        unverified=Unverified(reject_activity_signals_under_detection=False)
    ) as server:
        async with raw_session(server) as socket:
            await socket.send(json.dumps({"realtime_input": {"activityStart": {}}}))
            await socket.send(json.dumps({"realtime_input": {"text": "still here"}}))
            await server.wait_for_turns(1)
    assert server.received.rejected == []
    assert server.received.activity_starts == 0


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
@pytest.mark.parametrize("how", ["query", "header"])
async def test_the_api_key_may_come_in_the_query_or_a_header(
    server: FakeGeminiLive, version: str, how: str
) -> None:
    path = PATH.replace("v1beta", version)
    if how == "query":
        session = raw_session(server, path=f"{path}?key=fake", headers={})
    else:
        session = raw_session(server, path=path, headers={"x-goog-api-key": "fake"})
    async with session as socket:
        await socket.send(json.dumps({"realtime_input": {"text": "hi"}}))
        await server.wait_for_turns(1)
    assert server.received.connections[0].path == path  # the key is not recorded


@pytest.mark.parametrize("how", ["query", "header"])
async def test_an_ephemeral_token_opens_the_constrained_path(
    server: FakeGeminiLive, how: str
) -> None:
    path = PATH.replace("v1beta", "v1alpha") + "Constrained"
    if how == "query":
        session = raw_session(server, path=f"{path}?access_token=auth_tokens/abc", headers={})
    else:
        session = raw_session(server, path=path, headers={"Authorization": "Token auth_tokens/abc"})
    async with session as socket:
        await socket.send(json.dumps({"realtime_input": {"text": "hi"}}))
        await server.wait_for_turns(1)


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        (PATH, {}, 1008),  # no key at all
        (f"{PATH}?key=", {}, 1008),
        (PATH + "Constrained", {}, 1008),  # no token
        (PATH + "Constrained?access_token=not-a-token", {}, 1007),
    ],
)
async def test_a_request_without_valid_credentials_is_closed(
    server: FakeGeminiLive, path: str, headers: dict[str, str], code: int
) -> None:
    async with raw_session(server, setup=False, path=path, headers=headers) as socket:
        assert (await expect_close(socket)).code == code
    assert server.received.setups == []


async def test_only_the_configured_api_keys_open_a_session() -> None:
    async with FakeGeminiLive(api_keys={"right"}) as server:
        async with raw_session(server, setup=False, headers={"x-goog-api-key": "wrong"}) as socket:
            closed = await expect_close(socket)
        assert (closed.code, closed.reason) == (
            1007,
            "API key not valid. Please pass a valid API key.",
        )
        async with raw_session(server, headers={"x-goog-api-key": "right"}):
            pass


async def test_an_unknown_resumption_handle_is_refused(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        session_resumption=types.SessionResumptionConfig(handle="emulator-9-9"),
    )
    with pytest.raises(errors.APIError) as refused:
        async with client.aio.live.connect(model=MODEL, config=config):
            pass
    assert refused.value.code == 1007
    assert server.received.rejected[0].detail == "session resumption handle unknown"


async def test_an_expired_resumption_handle_is_refused() -> None:
    async with FakeGeminiLive(limits=SessionLimits(handle_seconds=0.2)) as server:
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps({"setup": {**SETUP["setup"], "sessionResumption": {}}}))
            assert json.loads(await socket.recv()) == {"setupComplete": {}}
            update = json.loads(await socket.recv())
        handle = update["sessionResumptionUpdate"]["newHandle"]
        resume = {"setup": {**SETUP["setup"], "sessionResumption": {"handle": handle}}}
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps(resume))
            assert json.loads(await socket.recv()) == {"setupComplete": {}}
        await asyncio.sleep(0.3)  # the handle's life (2 h at the service) has passed
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps(resume))
            assert (await expect_close(socket)).code == 1007
    assert server.received.rejected[-1].detail == "session resumption handle expired"


async def test_a_connection_gets_go_away_then_is_closed_at_the_end_of_its_life() -> None:
    # 10 minutes at 1/500: 1.2 s, the goAway 60 s (0.12 s) ahead.
    async with FakeGeminiLive(time_scale=1 / 500) as server:
        async with raw_session(server) as socket:
            opened = time.monotonic()
            notice = json.loads(await socket.recv())
            noticed = time.monotonic() - opened
            closed = await expect_close(socket)
            ended = time.monotonic() - opened
    assert "goAway" in notice and notice["goAway"]["timeLeft"].endswith("s")
    assert float(notice["goAway"]["timeLeft"][:-1]) <= 0.12
    assert closed.code == 1011
    assert noticed < ended
    assert server.received.connections[0].close_code == 1011


async def test_audio_and_video_without_compression_end_the_session_after_two_minutes() -> None:
    # 2 minutes at 1/1000: 0.12 s after setup; the connection itself would last 0.6 s.
    limits = SessionLimits()
    async with FakeGeminiLive(time_scale=1 / 1000, limits=limits) as server:
        async with raw_session(server) as socket:
            await socket.send(
                json.dumps({"realtime_input": {"audio": {"data": "AAAA", "mimeType": "audio/pcm"}}})
            )
            await socket.send(json.dumps(_tiny_jpeg_message()))
            closed = await expect_close(socket)
        await server.wait_for(lambda r: r.connections[0].closed_at is not None)
        lived = server.received.connections[0]
        assert lived.closed_at is not None
        assert closed.code == 1011
        assert lived.closed_at - lived.opened_at < 0.5  # the session's cap, not the connection's


async def test_context_window_compression_lifts_the_session_cap() -> None:
    async with FakeGeminiLive(time_scale=1 / 1000) as server:
        compressed = {
            "setup": {
                **SETUP["setup"],
                "contextWindowCompression": {"slidingWindow": {}, "triggerTokens": 1000},
            }
        }
        async with raw_session(server, setup=False) as socket:
            await socket.send(json.dumps(compressed))
            await socket.recv()
            await socket.send(
                json.dumps({"realtime_input": {"audio": {"data": "AAAA", "mimeType": "audio/pcm"}}})
            )
            await socket.send(json.dumps(_tiny_jpeg_message()))
            notice = json.loads(await socket.recv())  # the connection's goAway, at 0.54 s
            assert "goAway" in notice
        await server.wait_for(lambda r: r.connections[0].closed_at is not None)
        lived = server.received.connections[0]
        assert lived.closed_at is not None and lived.closed_at - lived.opened_at > 0.5


def _tiny_jpeg_message() -> dict[str, object]:
    data = base64.b64encode(encode_image(16, 16)).decode()
    return {"realtime_input": {"video": {"data": data, "mimeType": "image/jpeg"}}}


async def test_an_undecodable_frame_can_be_kept_instead_of_refused() -> None:
    garbage = base64.b64encode(b"not a jpeg").decode()
    message = {"realtime_input": {"video": {"data": garbage, "mimeType": "image/jpeg"}}}
    async with FakeGeminiLive(unverified=Unverified(reject_undecodable_frames=False)) as server:
        async with raw_session(server) as socket:
            await socket.send(json.dumps(message))
            await socket.send(json.dumps({"realtime_input": {"text": "and this?"}}))
            await server.wait_for_turns(1)
    (image,) = server.received.images
    assert (image.format, image.width, image.height, image.size_bytes) == ("", 0, 0, 10)
    assert server.received.rejected == []


async def test_several_realtime_fields_in_one_message_can_be_accepted() -> None:
    both = {"realtime_input": {"text": "a", "audioStreamEnd": True}}
    async with FakeGeminiLive(unverified=Unverified(one_field_per_realtime_input=False)) as server:
        async with raw_session(server) as socket:
            await socket.send(json.dumps(both))
            await server.wait_for_turns(1)
    assert server.received.rejected == []
    assert (server.received.texts[0].text, server.received.audio_stream_ends) == ("a", 1)

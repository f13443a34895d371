"""The emulator's wire handling with a raw websocket client: key spellings, bad input, paths."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import struct
import sys
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from google.genai import types
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.frames import Close

from livekit_plugins_medvision.testing import ComputedUsage, FakeGeminiLive, Received, Reply

from .conftest import MODEL, encode_image

pytestmark = pytest.mark.e2e

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@asynccontextmanager
async def raw_session(
    server: FakeGeminiLive,
    *,
    setup: bool = True,
    path: str = PATH,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[ClientConnection]:
    uri = f"wss://127.0.0.1:{server.port}{path}"
    sent = {"x-goog-api-key": "fake"} if headers is None else headers
    async with connect(uri, ssl=server.ssl_context(), additional_headers=sent) as socket:
        if setup:
            await socket.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            assert json.loads(await socket.recv()) == {"setupComplete": {}}
        yield socket


async def expect_close(socket: ClientConnection) -> Close:
    """Read until the emulator closes the connection; return its close frame."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await socket.recv()
    assert closed.value.rcvd is not None, "the connection was cut without a close frame"
    return closed.value.rcvd


async def expect_invalid_argument(socket: ClientConnection) -> str:
    """Read until the emulator closes with 1007; return the close reason."""
    closed = await expect_close(socket)
    assert closed.code == 1007
    return closed.reason


async def test_camel_case_keys_and_standard_base64(server: FakeGeminiLive) -> None:
    jpeg = encode_image(123, 45)
    audio = bytes(range(256)) * 4  # standard base64 of it has '+' and '/'
    async with raw_session(server) as socket:
        await socket.send(
            json.dumps(
                {
                    "realtimeInput": {
                        "video": {"data": base64.b64encode(jpeg).decode(), "mimeType": "image/jpeg"}
                    }
                }
            )
        )
        await socket.send(
            json.dumps(
                {
                    "realtimeInput": {
                        "audio": {
                            "data": base64.b64encode(audio).decode(),
                            "mimeType": "audio/pcm;rate=16000",
                        }
                    }
                }
            )
        )
        await socket.send(
            json.dumps(
                {
                    "clientContent": {
                        "turns": [{"role": "user", "parts": [{"text": "hello"}]}],
                        "turn_complete": True,
                    }
                }
            )
        )
        await server.wait_for_turns(1)
    received = server.received
    assert (received.images[0].width, received.images[0].height) == (123, 45)
    assert received.images[0].size_bytes == len(jpeg)
    assert received.audio[0].size_bytes == len(audio)
    assert received.texts[0].text == "hello"


GENERIC = "Request contains an invalid argument."


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG claiming ``width`` x ``height``: all Pillow reads before decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"")


def realtime_video(data: bytes, mime_type: str = "image/jpeg") -> str:
    return json.dumps(
        {
            "realtime_input": {
                "video": {"data": base64.b64encode(data).decode(), "mime_type": mime_type}
            }
        }
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not json", GENERIC),
        ("[" * 100_000 + "]" * 100_000, GENERIC),  # deeper than Python's JSON parser goes
        ('{"client_content": {"turnComplete": ' + "9" * 5_000 + "}}", GENERIC),  # int limit
        (json.dumps(["setup"]), GENERIC),
        (
            json.dumps({"realtimeInput": {"video": {"data": "%%%", "mimeType": "image/jpeg"}}}),
            "Invalid value at 'realtime_input.video.data' (TYPE_BYTES)",
        ),
        (
            json.dumps(
                {"realtime_input": {"mediaChunks": [{"data": "", "mimeType": "audio/pcm"}]}}
            ),
            GENERIC,
        ),
        (json.dumps({"realtime_input": {"text": "a", "audioStreamEnd": True}}), GENERIC),
        (
            json.dumps({"client_content": {"turns": [], "unknownField": 1}}),
            """Invalid JSON payload received. Unknown name "unknownField" at 'client_content': """
            "Cannot find field.",
        ),
        (
            json.dumps(
                {
                    "tool_response": {
                        "functionResponses": [{"id": "a", "name": "f", "priority": "HIGH"}]
                    }
                }
            ),
            """Invalid JSON payload received. Unknown name "priority" at """
            "'tool_response.function_responses[0]': Cannot find field.",
        ),
        (
            json.dumps({"bogus": {}}),
            'Invalid JSON payload received. Unknown name "bogus": Cannot find field.',
        ),
        (realtime_video(b"not an image"), GENERIC),
        (realtime_video(encode_image(64, 64)[:200]), GENERIC),  # truncated
        (realtime_video(encode_image(64, 64), "text/plain"), GENERIC),
        # Pillow warns about 100 Mpx and refuses 200 Mpx: both are refused frames, not a crash.
        (realtime_video(png_header(10_000, 10_000), "image/png"), GENERIC),
        (realtime_video(png_header(20_000, 10_000), "image/png"), GENERIC),
        (
            json.dumps({"realtime_input": {"audio": {"data": "AAAA", "mime_type": "audio/mp3"}}}),
            GENERIC,
        ),
        (json.dumps({"setup": {"model": f"models/{MODEL}"}}), GENERIC),  # a second setup
    ],
)
async def test_malformed_messages_close_with_1007_and_the_emulator_carries_on(
    server: FakeGeminiLive, payload: str, reason: str
) -> None:
    async with raw_session(server) as socket:
        await socket.send(payload)
        assert await expect_invalid_argument(socket) == reason
    assert len(server.received.rejected) == 1
    rejected = server.received.rejected[0]
    assert (rejected.code, rejected.reason) == (1007, reason)
    # Nothing of the message's values is echoed (only field names and error kinds).
    assert "%%%" not in rejected.detail and "HIGH" not in rejected.detail

    async with raw_session(server) as socket:
        await socket.send(json.dumps({"realtime_input": {"text": "still up?"}}))
        await server.wait_for_turns(1)
    assert server.received.turns[0].connection == 2


async def test_setup_must_come_first(server: FakeGeminiLive) -> None:
    async with raw_session(server, setup=False) as socket:
        await socket.send(json.dumps({"realtime_input": {"text": "hi"}}))
        await expect_invalid_argument(socket)
    async with raw_session(server, setup=False) as socket:
        await socket.send(json.dumps({"setup": {"generationConfig": {}}}))
        await expect_invalid_argument(socket)
    assert [r.detail for r in server.received.rejected] == [
        "the first message must be setup",
        "setup.model is missing",
    ]
    assert server.received.setups == []


async def test_unknown_path_is_refused(server: FakeGeminiLive) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with raw_session(server, setup=False, path="/ws/elsewhere"):
            pass
    assert refused.value.response.status_code == 404
    assert server.received.connections == []


async def test_listens_on_loopback_only(server: FakeGeminiLive) -> None:
    assert server.base_url == f"https://127.0.0.1:{server.port}"
    async with raw_session(server) as socket:
        assert socket.remote_address[0] == "127.0.0.1"
    # Linux routes all of 127.0.0.0/8 to the loopback interface: a server bound to every
    # address would accept this connection, one bound to 127.0.0.1 alone refuses it.
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.2", server.port)
        writer.close()
        await writer.wait_closed()


async def test_wait_for_times_out_with_a_message(server: FakeGeminiLive) -> None:
    with pytest.raises(TimeoutError, match="no 3 images within 0.05 s"):
        await server.wait_for_images(3, timeout=0.05)


async def test_lifecycle_and_bad_arguments() -> None:
    emulator = FakeGeminiLive()
    with pytest.raises(RuntimeError, match="not running"):
        emulator.http_options()
    async with emulator:
        with pytest.raises(RuntimeError, match="only be started once"):
            await emulator.start()
        with pytest.raises(ValueError, match="time_left"):
            await emulator.send_go_away(time_left="soon")
        with pytest.raises(ValueError, match="code"):
            await emulator.close_all(code=1006)
        with pytest.raises(ValueError, match="reason"):
            await emulator.close_all(reason="x" * 124)
        with pytest.raises(ValueError, match="replies"):
            emulator.queue_reply("hello")  # type: ignore[arg-type]  # the wrong type on purpose
        with pytest.raises(ValueError, match="usages"):
            emulator.queue_usage("100 tokens")  # type: ignore[arg-type]  # the wrong type on purpose
    await emulator.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        await emulator.wait_for_images(1)  # at once: nothing more can arrive
    with pytest.raises(ValueError, match="reply"):
        FakeGeminiLive(reply="hello")  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ValueError, match="usage"):
        FakeGeminiLive(usage=258)  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ValueError, match="audio_seconds"):
        Reply(audio_seconds=-1)
    with pytest.raises(ValueError, match="usage must be"):
        Reply(usage=258)  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ValueError, match="text must be"):
        Reply(text=None)  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ValueError, match="usage_placement"):
        Reply(usage_placement="later")  # type: ignore[arg-type]  # the wrong value on purpose
    with pytest.raises(ValueError, match="tokens_per_image"):
        ComputedUsage(tokens_per_image=-5)
    with pytest.raises(ValueError, match="chars_per_text_token"):
        ComputedUsage(chars_per_text_token=0)


async def test_without_the_testing_extra_start_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)  # as if not installed
    emulator = FakeGeminiLive()
    with pytest.raises(ModuleNotFoundError, match=r"livekit-plugins-medvision\[testing\]"):
        await emulator.start()
    await emulator.aclose()


async def test_close_removes_the_certificate() -> None:
    async with FakeGeminiLive() as emulator:
        cert = emulator.cert_path
        assert cert.exists()
    assert not cert.exists()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.port


async def test_aclose_with_clients_connected_leaves_nothing_behind() -> None:
    emulator = FakeGeminiLive()
    await emulator.start()
    cert = emulator.cert_path
    async with raw_session(emulator) as ready:
        emulator.hold_setup()
        async with raw_session(emulator, setup=False) as held:
            await held.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            await emulator.wait_for(lambda r: len(r.connections) == 2, what="the held connection")
            waiting = asyncio.create_task(emulator.wait_for_turns(1))
            await asyncio.sleep(0)  # one loop step: the task is now waiting on the emulator
            async with asyncio.timeout(10):  # the held setup must not keep aclose() waiting
                await emulator.aclose()
            for socket in (ready, held):
                with pytest.raises(ConnectionClosedOK):
                    async with asyncio.timeout(5):
                        while True:
                            await socket.recv()
                assert socket.close_code == 1001  # going away
            with pytest.raises(RuntimeError, match="closed while waited on"):
                await waiting
    assert not cert.exists()
    assert emulator.open_connections == 0
    assert all(c.close_code == 1001 for c in emulator.received.connections)
    # The emulator runs on its own loop: nothing of it is left on this one. The test's own
    # clients cancel their keepalive tasks on close; give those a loop step to finish.
    for _ in range(10):
        if not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            break
        await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_failing_predicate_fails_the_wait_not_the_emulator(server: FakeGeminiLive) -> None:
    def broken(received: Received) -> bool:
        # False at first; raises IndexError once a connection opens with no frame yet.
        return bool(received.connections) and received.images[0].width > 0

    waiting = asyncio.create_task(server.wait_for(broken))
    async with raw_session(server) as socket:
        with pytest.raises(IndexError):
            await waiting
        await socket.send(json.dumps({"realtime_input": {"text": "fine?"}}))
        await server.wait_for_turns(1)


def test_the_public_surface_is_all_of_it() -> None:
    import livekit_plugins_medvision.testing as testing

    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(testing.__all__) == public
    assert list(testing.__all__) == sorted(testing.__all__)


def test_tool_calls_must_be_named_function_calls() -> None:
    with pytest.raises(ValueError, match="tool_calls"):
        Reply(tool_calls=(types.FunctionCall(args={}),))
    with pytest.raises(ValueError, match="tool_calls"):
        Reply(tool_calls=("look_closer",))  # type: ignore[arg-type]  # the wrong type on purpose

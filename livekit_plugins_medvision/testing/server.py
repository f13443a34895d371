"""``FakeGeminiLive``: a local Gemini Live service for offline tests and demos.

It serves BidiGenerateContent over ``wss://127.0.0.1:<free port>`` with a certificate made at
start-up, so the real google-genai client and LiveKit's Google ``RealtimeModel`` talk to it
exactly as they talk to Google. It records what it receives (typed, see ``recording``),
answers turns as scripted (see ``script``) and lets a test act as the service would: send
``goAway`` or ``sessionResumptionUpdate``, or close every connection with an error code.
"""

from __future__ import annotations

import asyncio
import enum
import io
import re
import ssl
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from google.genai import types
from PIL import Image, UnidentifiedImageError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..log import logger
from .certs import LocalCertificate, make_local_certificate
from .compression import SlidingWindow
from .protocol import (
    INVALID_ARGUMENT,
    MAX_REASON_BYTES,
    ClientContent,
    ClientMessage,
    ProtocolError,
    RealtimeInput,
    Setup,
    ToolResponse,
    dump_server_message,
    parse_client_message,
)
from .recording import (
    ConnectionRecord,
    Received,
    ReceivedAudio,
    ReceivedImage,
    ReceivedText,
    RejectedMessage,
    SetupRecord,
    TurnRecord,
    TurnTrigger,
)
from .script import OUTPUT_AUDIO_MIME_TYPE, ComputedUsage, Reply, TurnStats, UsageFn

__all__ = ["FakeGeminiLive"]

_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.v1(alpha|beta)?\."
    r"GenerativeService\.BidiGenerateContent(Constrained)?$"
)
_DURATION = re.compile(r"^\d+(\.\d+)?s$")
_MAX_MESSAGE_BYTES = 16 * 2**20
_AUDIO_CHUNK_BYTES = 9_600  # 0.1 s of 24 kHz 16-bit mono per modelTurn message
_RESERVED_CLOSE_CODES = {1004, 1005, 1006, 1015}


class _State(enum.Enum):
    NEW = enum.auto()
    RUNNING = enum.auto()
    CLOSED = enum.auto()


@dataclass
class _Counts:
    images: int = 0
    audio_bytes: int = 0
    text_chars: int = 0

    def add(self, other: _Counts) -> None:
        self.images += other.images
        self.audio_bytes += other.audio_bytes
        self.text_chars += other.text_chars

    def copy(self) -> _Counts:
        return _Counts(self.images, self.audio_bytes, self.text_chars)


@dataclass(frozen=True)
class _PendingTurn:
    trigger: TurnTrigger
    new: _Counts
    context: _Counts


@dataclass
class _Connection:
    index: int
    socket: ServerConnection
    setup: Setup | None = None
    new: _Counts = field(default_factory=_Counts)
    context: _Counts = field(default_factory=_Counts)
    audio_since_activity_start: bool = False
    turns: asyncio.Queue[_PendingTurn] = field(default_factory=asyncio.Queue)
    window: SlidingWindow | None = None
    context_turns: list[_Counts] = field(default_factory=list)
    """What each turn in context added, oldest first (for the sliding window)."""


class FakeGeminiLive:
    """A Gemini Live emulator on 127.0.0.1, reached by the real clients over TLS.

    Example:
        ::

            async with FakeGeminiLive() as server:
                model = google.realtime.RealtimeModel(
                    api_key="fake", http_options=server.http_options()
                )
                ...
                await server.wait_for_images(3)
                assert server.received.images[0].mime_type == "image/jpeg"

    Every turn is answered with ``reply`` (or the next queued ``Reply``) and a usage message:
    the next queued ``UsageMetadata`` if any, else ``usage(stats)``.

    Args:
        reply: The default answer to a turn.
        usage: Computes a turn's usage when none is queued; defaults to ``ComputedUsage()``.
        resumable: Whether to grant session resumption handles to clients that ask for them.
    """

    def __init__(
        self,
        *,
        reply: Reply | None = None,
        usage: UsageFn | None = None,
        resumable: bool = True,
    ) -> None:
        if reply is not None and not isinstance(reply, Reply):
            raise ValueError(f"reply must be a Reply, got {type(reply).__name__}")
        if usage is not None and not callable(usage):
            raise ValueError("usage must be a callable taking TurnStats")
        self._default_reply = reply if reply is not None else Reply()
        self._usage_fn: UsageFn = usage if usage is not None else ComputedUsage()
        self._resumable = resumable
        self._replies: deque[Reply] = deque()
        self._usages: deque[types.UsageMetadata] = deque()
        self._received = Received()
        self._connections: dict[int, _Connection] = {}
        self._handles: dict[str, _Counts] = {}
        self._waiters: list[tuple[Callable[[Received], bool], asyncio.Future[None]]] = []
        self._turn_count = 0
        self._setup_open = asyncio.Event()
        self._setup_open.set()
        self._state = _State.NEW
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._certificate: LocalCertificate | None = None
        self._server: Server | None = None
        self._port = 0

    # Lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Make the certificate and start listening on a free port of 127.0.0.1.

        Raises:
            RuntimeError: the emulator was already started.
        """
        if self._state is not _State.NEW:
            raise RuntimeError("FakeGeminiLive can only be started once")
        self._state = _State.RUNNING
        self._tmp = tempfile.TemporaryDirectory(prefix="medvision-gemini-")
        try:
            self._certificate = make_local_certificate(Path(self._tmp.name))
            self._server = await serve(
                self._handle,
                "127.0.0.1",
                0,
                ssl=self._certificate.server_context(),
                process_request=_check_path,
                compression=None,
                max_size=_MAX_MESSAGE_BYTES,
            )
        except BaseException:
            self._state = _State.CLOSED
            self._tmp.cleanup()
            raise
        self._port = int(next(iter(self._server.sockets)).getsockname()[1])
        logger.debug("Gemini Live emulator listening", extra={"port": self._port})

    async def aclose(self) -> None:
        """Close every connection (1001, going away), stop listening and delete the certificate.

        Idempotent.
        """
        if self._state is not _State.RUNNING:
            self._state = _State.CLOSED
            return
        self._state = _State.CLOSED
        self._setup_open.set()  # a held setup would keep its connection handler from ending
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("FakeGeminiLive closed while waited on"))
        if self._tmp is not None:
            self._tmp.cleanup()

    # Where clients connect

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        self._require_running()
        return self._port

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>``: google-genai turns it into ``wss://``."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def cert_path(self) -> Path:
        """The PEM file of the authority that signed the emulator's certificate."""
        self._require_running()
        assert self._certificate is not None
        return self._certificate.ca_path

    def ssl_context(self) -> ssl.SSLContext:
        """Return a client SSL context that trusts the emulator (and nothing else)."""
        self._require_running()
        assert self._certificate is not None
        return self._certificate.client_context()

    def http_options(self) -> types.HttpOptions:
        """Return options for ``genai.Client(http_options=...)`` or ``RealtimeModel(...)``."""
        return types.HttpOptions(
            base_url=self.base_url, async_client_args={"ssl": self.ssl_context()}
        )

    def env(self) -> dict[str, str]:
        """Return the environment variables that point a default-built client at the emulator.

        ``GOOGLE_GEMINI_BASE_URL``, ``SSL_CERT_FILE`` (trusted for the websocket) and a fake
        ``GOOGLE_API_KEY``.
        """
        return {
            "GOOGLE_GEMINI_BASE_URL": self.base_url,
            "SSL_CERT_FILE": str(self.cert_path),
            "GOOGLE_API_KEY": "fake",
        }

    # What was received

    @property
    def received(self) -> Received:
        """Everything received so far (a live view: it keeps growing)."""
        return self._received

    @property
    def open_connections(self) -> int:
        """How many connections are open right now."""
        return len(self._connections)

    async def wait_for(
        self,
        predicate: Callable[[Received], bool],
        *,
        # A default deadline, so a broken test fails with a message instead of hanging.
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "the condition",
    ) -> None:
        """Wait until ``predicate(self.received)`` holds, checked after every event.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds.
            RuntimeError: it does not hold and the emulator is not running.
        """
        if predicate(self._received):
            return
        self._require_running()  # nothing more will arrive: fail now, not at the timeout
        waiter = asyncio.get_running_loop().create_future()
        entry = (predicate, waiter)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise TimeoutError(f"emulator: no {what} within {timeout} s") from None
        finally:
            self._waiters.remove(entry)

    async def wait_for_images(
        self,
        count: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 (see wait_for)
    ) -> None:
        """Wait until ``count`` video frames have been received in total."""
        await self.wait_for(
            lambda r: len(r.images) >= count, timeout=timeout, what=f"{count} images"
        )

    async def wait_for_connections(
        self,
        count: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 (see wait_for)
    ) -> None:
        """Wait until ``count`` connections have completed their setup, in total."""
        await self.wait_for(
            lambda r: len(r.setups) >= count, timeout=timeout, what=f"{count} connections"
        )

    async def wait_for_turns(
        self,
        count: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 (see wait_for)
    ) -> None:
        """Wait until ``count`` turns have been answered, in total."""
        await self.wait_for(lambda r: len(r.turns) >= count, timeout=timeout, what=f"{count} turns")

    # Scripting

    def queue_reply(self, *replies: Reply) -> None:
        """Answer the next turns with these replies, in order, then with the default again."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise ValueError(f"replies must be Reply objects, got {type(reply).__name__}")
        self._replies.extend(replies)

    def queue_usage(self, *usages: types.UsageMetadata) -> None:
        """Report these usages for the next turns whose reply sets no usage of its own."""
        for usage in usages:
            if not isinstance(usage, types.UsageMetadata):
                raise ValueError(f"usages must be UsageMetadata, got {type(usage).__name__}")
        self._usages.extend(usages)

    # Acting as the service

    def hold_setup(self) -> None:
        """Keep new connections waiting for ``setupComplete`` until ``release_setup()``.

        Lets a test act while a client is connecting but not ready, e.g. to check what piles
        up in its send queue.
        """
        self._setup_open.clear()

    def release_setup(self) -> None:
        """Answer the setups held by ``hold_setup()``, and any later ones at once."""
        self._setup_open.set()

    async def send_go_away(self, time_left: str = "1s") -> None:
        """Tell every open connection it will be closed soon, as the service does ~60 s ahead.

        Args:
            time_left: A protobuf duration such as ``"1s"`` or ``"0.5s"``.
        """
        if not _DURATION.match(time_left):
            raise ValueError(f"time_left must be a duration such as '1s', got {time_left!r}")
        message = types.LiveServerMessage(go_away=types.LiveServerGoAway(time_left=time_left))
        await self._broadcast(message)

    async def send_resumption_update(self) -> None:
        """Give every open connection that asked for resumption a new handle."""
        for connection in list(self._connections.values()):
            if connection.setup is not None and connection.setup.resumption_requested:
                await self._send(connection, self._resumption_update(connection))

    async def close_all(
        self, code: int = 1011, reason: str = "Internal error encountered."
    ) -> None:
        """Close every open connection with ``code``, as the service does on errors.

        Args:
            code: A close code that may be sent (1000-4999, not 1004-1006 or 1015).
            reason: The close reason, at most 123 bytes of UTF-8.
        """
        if not 1000 <= code <= 4999 or code in _RESERVED_CLOSE_CODES:
            raise ValueError(f"code must be a sendable close code, got {code!r}")
        if len(reason.encode()) > MAX_REASON_BYTES:
            raise ValueError("reason must be at most 123 bytes of UTF-8")
        await asyncio.gather(
            *(connection.socket.close(code, reason) for connection in self._connections.values())
        )

    # Connection handling

    async def _handle(self, socket: ServerConnection) -> None:
        index = len(self._received.connections) + 1
        record = ConnectionRecord(
            index=index,
            path=socket.request.path if socket.request is not None else "",
            opened_at=time.monotonic(),
        )
        connection = _Connection(index=index, socket=socket)
        self._connections[index] = connection
        self._received.connections.append(record)
        self._notify()
        responder = asyncio.create_task(self._respond(connection), name=f"emulator-turns-{index}")
        try:
            async for data in socket:
                try:
                    await self._on_message(connection, parse_client_message(data))
                except ProtocolError as exc:
                    self._received.rejected.append(
                        RejectedMessage(
                            index, INVALID_ARGUMENT, exc.reason, exc.detail, time.monotonic()
                        )
                    )
                    logger.debug("emulator rejected a client message", extra={"code": 1007})
                    await socket.close(INVALID_ARGUMENT, exc.reason)
                    break
        except ConnectionClosed:
            pass
        finally:
            responder.cancel()
            await asyncio.gather(responder, return_exceptions=True)
            del self._connections[index]
            record.closed_at = time.monotonic()
            record.close_code = socket.close_code if socket.close_code is not None else 1006
            self._notify()

    async def _on_message(self, connection: _Connection, message: ClientMessage) -> None:
        now = time.monotonic()
        if isinstance(message, Setup):
            if connection.setup is not None:
                raise ProtocolError("setup sent twice")
            await self._on_setup(connection, message, now)
            return
        if connection.setup is None:
            raise ProtocolError("the first message must be setup")
        if isinstance(message, RealtimeInput):
            self._on_realtime_input(connection, message.message, now)
        elif isinstance(message, ClientContent):
            content = message.message
            for turn in content.turns or []:
                for part in turn.parts or []:
                    if part.text is not None:
                        self._add_text(connection, part.text, "client_content", turn.role, now)
            if content.turn_complete:
                self._trigger(connection, "client_content")
        elif isinstance(message, ToolResponse):
            self._received.tool_responses.extend(message.message.function_responses or [])
            self._trigger(connection, "tool_response")
        self._notify()

    async def _on_setup(self, connection: _Connection, setup: Setup, now: float) -> None:
        connection.setup = setup
        connection.window = SlidingWindow.from_setup(setup.raw)
        await self._setup_open.wait()
        if setup.resumption_handle is not None:
            # The handle restores the conversation: the context carries on from where it was.
            connection.context = self._handles.get(setup.resumption_handle, _Counts()).copy()
            connection.context_turns = [connection.context.copy()]
        self._received.setups.append(
            SetupRecord(
                connection=connection.index,
                model=setup.model,
                response_modalities=setup.response_modalities,
                media_resolution=setup.media_resolution,
                resumption_requested=setup.resumption_requested,
                resumption_handle=setup.resumption_handle,
                turn_coverage=setup.turn_coverage,
                input_transcription=setup.input_transcription,
                output_transcription=setup.output_transcription,
                system_instruction=setup.system_instruction,
                raw=setup.raw,
                at=now,
            )
        )
        await self._send(
            connection, types.LiveServerMessage(setup_complete=types.LiveServerSetupComplete())
        )
        if setup.resumption_requested and self._resumable:
            await self._send(connection, self._resumption_update(connection))
        self._notify()

    def _on_realtime_input(
        self, connection: _Connection, message: types.LiveClientRealtimeInput, now: float
    ) -> None:
        index = connection.index
        if message.video is not None:
            self._received.images.append(_decode_image(index, message.video, now))
            connection.new.images += 1
        elif message.audio is not None:
            mime_type = message.audio.mime_type or ""
            if not mime_type.startswith("audio/pcm"):
                raise ProtocolError("realtime_input.audio must be audio/pcm")
            size = len(message.audio.data or b"")
            self._received.audio.append(ReceivedAudio(index, mime_type, size, now))
            connection.new.audio_bytes += size
            connection.audio_since_activity_start = True
        elif message.text is not None:
            self._add_text(connection, message.text, "realtime_input", None, now)
            self._trigger(connection, "realtime_text")
        elif message.audio_stream_end:
            self._received.audio_stream_ends += 1
            self._trigger(connection, "audio_stream_end")
        elif message.activity_start is not None:
            self._received.activity_starts += 1
            connection.audio_since_activity_start = False
        elif message.activity_end is not None:
            self._received.activity_ends += 1
            if connection.audio_since_activity_start:
                self._trigger(connection, "activity_end")

    def _add_text(
        self,
        connection: _Connection,
        text: str,
        source: Literal["realtime_input", "client_content"],
        role: str | None,
        now: float,
    ) -> None:
        self._received.texts.append(ReceivedText(connection.index, text, source, role, now))
        connection.new.text_chars += len(text)

    def _trigger(self, connection: _Connection, trigger: TurnTrigger) -> None:
        connection.context.add(connection.new)
        if connection.window is not None:
            connection.context_turns.append(connection.new.copy())
            connection.context_turns = connection.window.apply(
                connection.context_turns, self._context_tokens
            )
            connection.context = _Counts()
            for turn in connection.context_turns:
                connection.context.add(turn)
        pending = _PendingTurn(trigger, connection.new, connection.context.copy())
        connection.new = _Counts()
        connection.turns.put_nowait(pending)

    # Answering turns

    async def _respond(self, connection: _Connection) -> None:
        while True:
            pending = await connection.turns.get()
            try:
                await self._answer(connection, pending)
            except Exception:
                # Most likely a test's usage callable: fail the connection as the service fails
                # on internal errors, and leave the traceback in the log.
                logger.exception("Gemini Live emulator could not answer a turn")
                await connection.socket.close(1011, "Internal error encountered.")
                return

    async def _answer(self, connection: _Connection, pending: _PendingTurn) -> None:
        setup = connection.setup
        assert setup is not None
        reply = self._replies.popleft() if self._replies else self._default_reply
        modalities = {modality.upper() for modality in setup.response_modalities}
        speaks = not modalities or "AUDIO" in modalities  # the service's default is AUDIO
        audio = bytes(reply.audio_bytes()) if speaks and not reply.tool_calls else b""
        self._turn_count += 1
        stats = TurnStats(
            turn=self._turn_count,
            connection=connection.index,
            trigger=pending.trigger,
            new_images=pending.new.images,
            new_audio_bytes=pending.new.audio_bytes,
            new_text_chars=pending.new.text_chars,
            context_images=pending.context.images,
            context_audio_bytes=pending.context.audio_bytes,
            context_text_chars=pending.context.text_chars,
            reply_text=reply.text,
            reply_audio_bytes=len(audio),
        )
        usage = self._usage_for(reply, stats)

        for message in _reply_messages(reply, audio, setup.output_transcription, usage):
            await self._send(connection, message)
        self._received.turns.append(
            TurnRecord(
                index=stats.turn,
                connection=connection.index,
                trigger=pending.trigger,
                usage=usage,
                reply_text=reply.text,
                at=time.monotonic(),
            )
        )
        if setup.resumption_requested and self._resumable:
            await self._send(connection, self._resumption_update(connection))
        self._notify()

    def _usage_for(self, reply: Reply, stats: TurnStats) -> types.UsageMetadata:
        if isinstance(reply.usage, types.UsageMetadata):
            return reply.usage
        if reply.usage is not None:
            return reply.usage(stats)
        if self._usages:
            return self._usages.popleft()
        return self._usage_fn(stats)

    def _context_tokens(self, counts: _Counts) -> int:
        """Prompt tokens of ``counts`` by the default usage's rates (the window's measure)."""
        rates = self._usage_fn if isinstance(self._usage_fn, ComputedUsage) else ComputedUsage()
        return sum(rates.input_tokens(counts.images, counts.audio_bytes, counts.text_chars))

    def _resumption_update(self, connection: _Connection) -> types.LiveServerMessage:
        handle = f"emulator-{connection.index}-{len(self._handles) + 1}"
        # What the handle restores: the context so far, including input not yet in a turn.
        restored = connection.context.copy()
        restored.add(connection.new)
        self._handles[handle] = restored
        return types.LiveServerMessage(
            session_resumption_update=types.LiveServerSessionResumptionUpdate(
                new_handle=handle, resumable=True
            )
        )

    # Plumbing

    async def _broadcast(self, message: types.LiveServerMessage) -> None:
        for connection in list(self._connections.values()):
            await self._send(connection, message)

    async def _send(self, connection: _Connection, message: types.LiveServerMessage) -> None:
        # A connection closing while the emulator speaks ends its reader too; nothing to do.
        try:
            await connection.socket.send(dump_server_message(message))
        except ConnectionClosed:
            pass

    def _notify(self) -> None:
        for predicate, waiter in self._waiters:
            if waiter.done():
                continue
            # A test's predicate that raises fails that test's wait, not the emulator.
            try:
                holds = predicate(self._received)
            except Exception as exc:
                waiter.set_exception(exc)
                continue
            if holds:
                waiter.set_result(None)

    def _require_running(self) -> None:
        if self._state is not _State.RUNNING:
            raise RuntimeError("FakeGeminiLive is not running: use `async with FakeGeminiLive()`")


def _check_path(connection: ServerConnection, request: Request) -> Response | None:
    if _PATH.match(request.path):
        return None
    return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")


def _reply_messages(
    reply: Reply, audio: bytes, transcribe: bool, usage: types.UsageMetadata
) -> list[types.LiveServerMessage]:
    """The messages of one answer, in the order the service sends them."""
    contents: list[types.LiveServerContent] = []
    if reply.input_transcription is not None:
        contents.append(
            types.LiveServerContent(
                input_transcription=types.Transcription(text=reply.input_transcription)
            )
        )
    with_usage = usage if reply.usage_placement == "with" else None
    if reply.tool_calls:
        # The model now waits for the tool response: the turn goes on after it.
        final = types.LiveServerMessage(
            tool_call=types.LiveServerToolCall(function_calls=list(reply.tool_calls)),
            usage_metadata=with_usage,
        )
    else:
        for start in range(0, len(audio), _AUDIO_CHUNK_BYTES):
            chunk = audio[start : start + _AUDIO_CHUNK_BYTES]
            contents.append(
                _model_turn(types.Part.from_bytes(data=chunk, mime_type=OUTPUT_AUDIO_MIME_TYPE))
            )
        if audio and transcribe and reply.text:
            contents.append(
                types.LiveServerContent(output_transcription=types.Transcription(text=reply.text))
            )
        elif not audio and reply.text:
            contents.append(_model_turn(types.Part(text=reply.text)))
        contents.append(types.LiveServerContent(generation_complete=True))
        final = types.LiveServerMessage(
            server_content=types.LiveServerContent(turn_complete=True), usage_metadata=with_usage
        )
    messages = [types.LiveServerMessage(server_content=content) for content in contents]
    usage_message = types.LiveServerMessage(usage_metadata=usage)
    if reply.usage_placement == "before":
        return [*messages, usage_message, final]
    if reply.usage_placement == "with":
        return [*messages, final]
    return [*messages, final, usage_message]


def _model_turn(part: types.Part) -> types.LiveServerContent:
    return types.LiveServerContent(model_turn=types.Content(role="model", parts=[part]))


def _decode_image(connection: int, blob: types.Blob, now: float) -> ReceivedImage:
    mime_type = blob.mime_type or ""
    data = blob.data or b""
    if not mime_type.startswith("image/"):
        raise ProtocolError("realtime_input.video must be an image")
    try:
        # Pillow only warns about a frame of 89-179 Mpx and would then decode it (hundreds of
        # MB); refuse it like any other frame the service would not take.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # decode it all: a truncated or corrupt frame is refused
                width, height = image.size
                image_format = image.format or ""
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ProtocolError("realtime_input.video is not a decodable image") from None
    return ReceivedImage(connection, mime_type, image_format, width, height, len(data), now)

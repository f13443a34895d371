"""``FakeGeminiLive``: a local Gemini Live service for offline tests and demos.

It serves BidiGenerateContent over ``wss://127.0.0.1:<free port>`` with a certificate made at
start-up, so the real google-genai client and LiveKit's Google ``RealtimeModel`` talk to it
exactly as they talk to Google. It runs in its own thread with its own event loop: decoding
frames and audio never stalls the loop of the agent under test. It checks what it receives
against the documented protocol (``wire``, ``protocol``), detects speech on the client's audio
(``vad``), answers turns as scripted (``script``), records everything (``recording``) and lets a
test act as the service or the network would: ``goAway``, resumption handles, close codes,
dropped connections, stalls and slow answers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import json
import math
import re
import socket as socket_module
import ssl
import struct
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

from google.genai import types
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..log import logger
from .answers import audio_bytes, reply_messages
from .certs import LocalCertificate, make_local_certificate
from .compression import SlidingWindow
from .frames import decode_image
from .models import DEFAULT_LIVE_MODELS, frame_tokens, model_id
from .protocol import (
    MAX_REASON_BYTES,
    Blob,
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
    ReceivedText,
    RejectedMessage,
    SetupRecord,
    TurnRecord,
    TurnTrigger,
)
from .script import (
    OUTPUT_AUDIO_BYTES_PER_SECOND,
    ComputedUsage,
    Reply,
    TurnStats,
    UsageFn,
)
from .settings import SessionLimits, Unverified
from .vad import EnergyVad, VoiceActivitySettings

__all__ = ["FakeGeminiLive"]

_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.v1(alpha|beta)?\."
    r"GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$"
)
_DURATION = re.compile(r"^\d+(\.\d+)?s$")
_RATE = re.compile(r"rate=(\d+)")
_MAX_MESSAGE_BYTES = 16 * 2**20
_RESERVED_CLOSE_CODES = {1004, 1005, 1006, 1015}
_KEY_REASON = "API key not valid. Please pass a valid API key."
_NO_KEY_REASON = "The request is missing a valid API key."
_LIMIT_REASON = "Deadline expired before operation could complete."
_T = TypeVar("_T")


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
class _Session:
    """What a resumption handle restores: the context and the session's age and media."""

    context: _Counts
    started_at: float
    audio: bool
    video: bool
    turns: list[_Counts] = field(default_factory=list)
    """What each turn in context added, oldest first (for the sliding window)."""


@dataclass(frozen=True)
class _Handle:
    session: _Session
    issued_at: float


@dataclass
class _ClosePlan:
    remaining: int
    code: int
    reason: str


class _TcpConnection(ServerConnection):
    """A server connection that keeps its transport, to pause reading or abort it."""

    tcp: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if isinstance(transport, asyncio.Transport):
            self.tcp = transport


@dataclass
class _Connection:
    index: int
    socket: _TcpConnection
    record: ConnectionRecord
    opened_at: float
    setup: Setup | None = None
    session: _Session | None = None
    vad: EnergyVad | None = None
    window: SlidingWindow | None = None
    new: _Counts = field(default_factory=_Counts)
    audio_since_activity_start: bool = False
    turns: asyncio.Queue[_PendingTurn] = field(default_factory=asyncio.Queue)
    barge_in: asyncio.Event | None = None
    """Set to interrupt the answer being sent; ``None`` while no answer is."""
    media_changed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


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
        models: The model ids a setup may name (``models/<id>``); ``None`` accepts any.
        api_keys: The API keys accepted; ``None`` accepts any non-empty key.
        tokens: The ephemeral tokens accepted on the constrained path; ``None`` accepts any
            ``auth_tokens/...`` name.
        vad: The speech detector's levels and default durations.
        limits: The service's connection and session limits, or ``None`` to lift them.
        time_scale: Multiplies every duration of ``limits`` (0.01: a 10-minute connection
            lasts 6 s).
        playback_wait: Wait as long as the spoken answer lasts between ``generationComplete``
            and ``turnComplete``, as the service does when it assumes real-time playback; a
            barge-in in that window interrupts the answer.
        unverified: Switches for behaviours no public source settles.
        record_wire: Keep every client message as decoded JSON in ``received.wire``.
    """

    def __init__(
        self,
        *,
        reply: Reply | None = None,
        usage: UsageFn | None = None,
        resumable: bool = True,
        models: Collection[str] | None = DEFAULT_LIVE_MODELS,
        api_keys: Collection[str] | None = None,
        tokens: Collection[str] | None = None,
        vad: VoiceActivitySettings | None = None,
        limits: SessionLimits | None = SessionLimits(),  # noqa: B008 (frozen, immutable)
        time_scale: float = 1.0,
        playback_wait: bool = True,
        unverified: Unverified | None = None,
        record_wire: bool = False,
    ) -> None:
        if reply is not None and not isinstance(reply, Reply):
            raise ValueError(f"reply must be a Reply, got {type(reply).__name__}")
        if usage is not None and not callable(usage):
            raise ValueError("usage must be a callable taking TurnStats")
        if isinstance(models, str) or isinstance(api_keys, str) or isinstance(tokens, str):
            raise ValueError("models, api_keys and tokens must be collections of strings")
        scale: object = time_scale  # checked as given: a test's typo fails here
        if not isinstance(scale, int | float) or not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
        self._default_reply = reply if reply is not None else Reply()
        self._usage_fn: UsageFn = usage if usage is not None else ComputedUsage()
        self._resumable = resumable
        self._models = None if models is None else frozenset(model_id(m) for m in models)
        self._api_keys = None if api_keys is None else frozenset(api_keys)
        self._tokens = None if tokens is None else frozenset(tokens)
        self._vad = vad if vad is not None else VoiceActivitySettings()
        self._limits = limits
        self._time_scale = float(time_scale)
        self._playback_wait = playback_wait
        self._unverified = unverified if unverified is not None else Unverified()
        self._record_wire = record_wire
        self._replies: deque[Reply] = deque()
        self._usages: deque[types.UsageMetadata] = deque()
        self._received = Received()
        self._connections: dict[int, _Connection] = {}
        self._handles: dict[str, _Handle] = {}
        self._waiters: list[tuple[Callable[[Received], bool], asyncio.Future[None]]] = []
        self._turn_count = 0
        self._setup_held = False
        self._stalled = False
        self._response_delay = 0.0
        self._audio_pace = 0.0
        self._close_plan: _ClosePlan | None = None
        self._background: set[asyncio.Future[None]] = set()
        self._state = _State.NEW
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._certificate: LocalCertificate | None = None
        self._port = 0
        self._caller_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._resume: asyncio.Event | None = None
        self._setup_open: asyncio.Event | None = None
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()

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

        The server runs in a thread of its own, with its own event loop.

        Raises:
            RuntimeError: the emulator was already started.
        """
        if self._state is not _State.NEW:
            raise RuntimeError("FakeGeminiLive can only be started once")
        self._state = _State.RUNNING
        self._caller_loop = asyncio.get_running_loop()
        self._tmp = tempfile.TemporaryDirectory(prefix="medvision-gemini-")
        try:
            self._certificate = make_local_certificate(Path(self._tmp.name))
            ready: concurrent.futures.Future[int] = concurrent.futures.Future()
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="gemini-live-emulator", daemon=True
            )
            self._thread.start()
            self._port = await asyncio.wrap_future(ready)
        except BaseException:
            self._state = _State.CLOSED
            await self._join()
            self._tmp.cleanup()
            raise
        logger.debug("Gemini Live emulator listening", extra={"port": self._port})

    async def aclose(self) -> None:
        """Close every connection (1001, going away), stop listening and delete the certificate.

        Idempotent.
        """
        if self._state is not _State.RUNNING:
            self._state = _State.CLOSED
            return
        self._state = _State.CLOSED
        await self._join()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("FakeGeminiLive closed while waited on"))
        if self._tmp is not None:
            self._tmp.cleanup()

    async def _join(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is None or self._thread is None:
            return
        if stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        await asyncio.wrap_future(self._stopped)
        self._thread.join()

    def _run(self, ready: concurrent.futures.Future[int]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(ready))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set_result(None)

    async def _main(self, ready: concurrent.futures.Future[int]) -> None:
        self._stop = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self._setup_open = asyncio.Event()
        if not self._setup_held:
            self._setup_open.set()
        assert self._certificate is not None
        try:
            server: Server = await serve(
                self._handle,
                "127.0.0.1",
                0,
                ssl=self._certificate.server_context(),
                process_request=_check_path,
                create_connection=_TcpConnection,
                compression=None,
                max_size=_MAX_MESSAGE_BYTES,
                ping_interval=None,  # the emulator never closes a quiet client by itself
            )
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(int(next(iter(server.sockets)).getsockname()[1]))
        await self._stop.wait()
        self._setup_open.set()  # a held setup would keep its connection handler from ending
        self._resume.set()
        for connection in self._connections.values():
            if connection.socket.tcp is not None and not connection.socket.tcp.is_closing():
                connection.socket.tcp.resume_reading()
        server.close()
        await server.wait_closed()

    async def _in_server(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coroutine`` on the emulator's loop and wait for it from the caller's."""
        self._require_running()
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    def _soon(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` on the emulator's loop (now, if it is not running yet)."""
        if self._loop is None or self._state is not _State.RUNNING:
            callback()
            return
        self._loop.call_soon_threadsafe(callback)

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

        Call it from the loop that started the emulator.

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
        self._setup_held = True
        self._soon(lambda: self._setup_open.clear() if self._setup_open else None)

    def release_setup(self) -> None:
        """Answer the setups held by ``hold_setup()``, and any later ones at once."""
        self._setup_held = False
        self._soon(lambda: self._setup_open.set() if self._setup_open else None)

    async def send_go_away(self, time_left: str = "1s") -> None:
        """Tell every open connection it will be closed soon, as the service does ~60 s ahead.

        Only the notice: ``go_away_and_close`` also closes the connections when time is up.

        Args:
            time_left: A protobuf duration such as ``"1s"`` or ``"0.5s"``.
        """
        if not _DURATION.match(time_left):
            raise ValueError(f"time_left must be a duration such as '1s', got {time_left!r}")
        message = types.LiveServerMessage(go_away=types.LiveServerGoAway(time_left=time_left))
        await self._in_server(self._broadcast(message))

    async def send_resumption_update(self) -> None:
        """Give every open connection that asked for resumption a new handle."""

        async def update() -> None:
            for connection in list(self._connections.values()):
                if connection.setup is not None and connection.setup.resumption_requested:
                    await self._send(connection, self._resumption_update(connection))

        await self._in_server(update())

    async def close_all(
        self, code: int = 1011, reason: str = "Internal error encountered."
    ) -> None:
        """Close every open connection with ``code``, as the service does on errors.

        Args:
            code: A close code that may be sent (1000-4999, not 1004-1006 or 1015).
            reason: The close reason, at most 123 bytes of UTF-8.
        """
        _check_close(code, reason)

        async def close() -> None:
            await asyncio.gather(
                *(c.socket.close(code, reason) for c in list(self._connections.values()))
            )

        await self._in_server(close())

    # Faults on demand

    async def go_away_and_close(
        self,
        after: float = 1.0,
        *,
        code: int | None = None,
        reason: str = _LIMIT_REASON,
    ) -> None:
        """Send ``goAway`` to every open connection, then close them ``after`` seconds later.

        Returns once the notices are sent; the connections close on their own.

        Args:
            after: Seconds between the notice (its ``timeLeft``) and the close.
            code: The close code; defaults to ``Unverified.limit_close_code`` (1011).
            reason: The close reason.
        """
        if not math.isfinite(after) or after < 0:
            raise ValueError(f"after must be a non-negative number of seconds, got {after!r}")
        close_code = self._unverified.limit_close_code if code is None else code
        _check_close(close_code, reason)

        async def notice() -> None:
            assert self._loop is not None
            targets = list(self._connections.values())
            message = types.LiveServerMessage(
                go_away=types.LiveServerGoAway(time_left=_duration(after))
            )
            for connection in targets:
                await self._send(connection, message)
                self._loop.call_later(after, self._close_soon, connection, close_code, reason)

        await self._in_server(notice())

    async def drop_connections(self) -> None:
        """Cut every open connection at the TCP level: no close frame, the peer sees a reset."""

        async def drop() -> None:
            for connection in list(self._connections.values()):
                _abort(connection.socket)

        await self._in_server(drop())

    async def stall(self) -> None:
        """Stop reading and answering on every connection, open or new, until ``resume()``.

        Clients' messages pile up in the TCP buffers and their pings go unanswered, as when
        the service hangs.
        """
        await self._in_server(self._set_stalled(True))

    async def resume(self) -> None:
        """End a ``stall()``: read what piled up and answer again."""
        await self._in_server(self._set_stalled(False))

    async def _set_stalled(self, stalled: bool) -> None:
        assert self._resume is not None
        self._stalled = stalled
        if stalled:
            self._resume.clear()
        else:
            self._resume.set()
        for connection in self._connections.values():
            transport = connection.socket.tcp
            if transport is not None and not transport.is_closing():
                if stalled:
                    transport.pause_reading()
                else:
                    transport.resume_reading()

    def slow_responses(self, delay: float = 0.0, *, pace: float = 0.0) -> None:
        """Answer slowly: wait ``delay`` seconds before each answer and pace its audio.

        Args:
            delay: Seconds between a turn's end and the first message of its answer.
            pace: Seconds of wall time per second of spoken answer while sending it (1.0 is
                real time; 0, the default, sends it as fast as it can, like the service).
        """
        for name, value in (("delay", delay), ("pace", pace)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        self._response_delay = float(delay)
        self._audio_pace = float(pace)

    def close_on_message(
        self, n: int, code: int = 1011, reason: str = "Internal error encountered."
    ) -> None:
        """Close the connection that sends the ``n``-th client message from now on (once).

        Every client message counts, setup included, over all connections. The service
        closes with 1007 (invalid argument), 1008 (policy violation) or 1011 (internal
        error); any sendable code is allowed.
        """
        count: object = n
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        _check_close(code, reason)
        self._close_plan = _ClosePlan(remaining=n, code=code, reason=reason)

    # Connection handling

    async def _handle(self, socket: ServerConnection) -> None:
        assert isinstance(socket, _TcpConnection)
        index = len(self._received.connections) + 1
        path = urlsplit(socket.request.path if socket.request is not None else "").path
        record = ConnectionRecord(index=index, path=path, opened_at=time.monotonic())
        connection = _Connection(
            index=index, socket=socket, record=record, opened_at=record.opened_at
        )
        self._connections[index] = connection
        self._received.connections.append(record)
        if self._stalled and socket.tcp is not None:
            socket.tcp.pause_reading()
        self._notify()
        responder = asyncio.create_task(self._respond(connection), name=f"emulator-turns-{index}")
        connection.tasks.append(responder)
        try:
            refusal = self._check_credentials(socket.request)
            if refusal is not None:
                await self._reject(connection, refusal)
                return
            async for data in socket:
                try:
                    await self._on_frame(connection, data)
                except ProtocolError as exc:
                    await self._reject(connection, exc)
                    break
        except ConnectionClosed:
            pass
        finally:
            for task in connection.tasks:
                task.cancel()
            await asyncio.gather(*connection.tasks, return_exceptions=True)
            del self._connections[index]
            self._save_session(connection)
            record.closed_at = time.monotonic()
            record.close_code = socket.close_code if socket.close_code is not None else 1006
            self._notify()

    async def _reject(self, connection: _Connection, exc: ProtocolError) -> None:
        self._received.rejected.append(
            RejectedMessage(connection.index, exc.code, exc.reason, exc.detail, time.monotonic())
        )
        logger.debug("emulator rejected a client message", extra={"code": exc.code})
        await connection.socket.close(exc.code, exc.reason)

    def _check_credentials(self, request: Request | None) -> ProtocolError | None:
        """Check the API key, or the ephemeral token on the constrained path.

        Keys come as ``?key=`` or ``x-goog-api-key``; tokens as ``?access_token=`` or
        ``Authorization: Token``.
        """
        if request is None:
            return ProtocolError("no request", _NO_KEY_REASON, self._unverified.missing_key_code)
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        if url.path.endswith("Constrained"):
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Token ") if header.startswith("Token ") else ""
            token = token or next(iter(query.get("access_token", [])), "")
            if not token:
                return ProtocolError(
                    "no ephemeral token", _NO_KEY_REASON, self._unverified.missing_key_code
                )
            valid = (
                token in self._tokens
                if self._tokens is not None
                else (token.startswith("auth_tokens/"))
            )
            return None if valid else ProtocolError("ephemeral token not accepted", _KEY_REASON)
        key = request.headers.get("x-goog-api-key") or next(iter(query.get("key", [])), "")
        if not key:
            return ProtocolError("no API key", _NO_KEY_REASON, self._unverified.missing_key_code)
        if self._api_keys is not None and key not in self._api_keys:
            return ProtocolError("API key not accepted", _KEY_REASON)
        return None

    async def _on_frame(self, connection: _Connection, data: str | bytes) -> None:
        plan = self._close_plan
        if plan is not None:
            plan.remaining -= 1
            if plan.remaining == 0:
                self._close_plan = None
                await connection.socket.close(plan.code, plan.reason)
                return
        if self._record_wire:
            with contextlib.suppress(ValueError, RecursionError):
                self._received.wire.append(json.loads(data))
        await self._on_message(connection, parse_client_message(data))

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
            self._on_realtime_input(connection, connection.setup, message, now)
        elif isinstance(message, ClientContent):
            self._interrupt(connection)  # "a message here will interrupt" (proto)
            for role, texts in message.turns:
                for text in texts:
                    self._add_text(connection, text, "client_content", role, now)
            if message.turn_complete:
                self._trigger(connection, "client_content")
        elif isinstance(message, ToolResponse):
            self._received.tool_responses.extend(message.function_responses)
            self._trigger(connection, "tool_response")
        self._notify()

    async def _on_setup(self, connection: _Connection, setup: Setup, now: float) -> None:
        name = model_id(setup.model)
        if not setup.model.startswith("models/") or (
            self._models is not None and name not in self._models
        ):
            version = connection.record.path.split(".")[3] if connection.record.path else "v1"
            raise ProtocolError(
                "setup.model is not a Live model this emulator offers",
                f"models/{name} is not found for API version {version}, or is not supported "
                "for bidiGenerateContent.",
                code=1008,
            )
        session = _Session(context=_Counts(), started_at=now, audio=False, video=False)
        if setup.resumption_handle is not None:
            handle = self._handles.get(setup.resumption_handle)
            expired = handle is not None and (
                self._limits is not None
                and now - handle.issued_at > self._limits.handle_seconds * self._time_scale
            )
            if handle is None or expired:
                raise ProtocolError(
                    f"session resumption handle {'expired' if expired else 'unknown'}",
                    code=self._unverified.unknown_handle_code,
                )
            # The handle restores the conversation: the context carries on from where it was.
            saved = handle.session
            session = _Session(
                saved.context.copy(),
                saved.started_at,
                saved.audio,
                saved.video,
                turns=[saved.context.copy()],
            )
        connection.setup = setup
        connection.session = session
        connection.window = SlidingWindow.from_setup(setup.raw)
        if not setup.activity.disabled:
            connection.vad = EnergyVad(setup.activity, self._vad)
        assert self._setup_open is not None
        await self._setup_open.wait()
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
        if self._limits is not None and self._limits.enabled:
            connection.tasks.append(
                asyncio.create_task(self._enforce_limits(connection, self._limits))
            )
        self._notify()

    def _on_realtime_input(
        self, connection: _Connection, setup: Setup, message: RealtimeInput, now: float
    ) -> None:
        if message.field_count != 1 and self._unverified.one_field_per_realtime_input:
            raise ProtocolError(f"realtime_input sets {message.field_count} fields, expected one")
        session = connection.session
        assert session is not None
        index = connection.index
        if message.video is not None:
            image = decode_image(
                index, message.video, now, strict=self._unverified.reject_undecodable_frames
            )
            self._received.images.append(image)
            connection.new.images += 1
            if not session.video:
                session.video = True
                connection.media_changed.set()
        if message.audio is not None:
            self._on_audio(connection, setup, message.audio, now)
            if not session.audio:
                session.audio = True
                connection.media_changed.set()
        if message.text is not None:
            self._add_text(connection, message.text, "realtime_input", None, now)
            self._trigger(connection, "realtime_text")
        if message.audio_stream_end:
            self._received.audio_stream_ends += 1
            # The end of the stream ends the speech going on, if any; silence makes no turn.
            if connection.vad is not None and connection.vad.end_stream():
                self._received.speech_ends += 1
                self._trigger(connection, "audio_stream_end")
        if message.activity_start or message.activity_end:
            if not setup.activity.disabled:
                if self._unverified.reject_activity_signals_under_detection:
                    raise ProtocolError(
                        "activityStart/activityEnd sent while automatic activity detection is on"
                    )
                return
            if message.activity_start:
                self._received.activity_starts += 1
                connection.audio_since_activity_start = False
                if setup.activity.interrupts:
                    self._interrupt(connection)
            else:
                self._received.activity_ends += 1
                if connection.audio_since_activity_start:
                    self._trigger(connection, "activity_end")

    def _on_audio(self, connection: _Connection, setup: Setup, audio: Blob, now: float) -> None:
        if not audio.mime_type.startswith("audio/pcm"):
            raise ProtocolError("realtime_input.audio must be audio/pcm")
        self._received.audio.append(
            ReceivedAudio(connection.index, audio.mime_type, len(audio.data), now)
        )
        connection.new.audio_bytes += len(audio.data)
        connection.audio_since_activity_start = True
        if connection.vad is None:
            return
        rate = _RATE.search(audio.mime_type)
        for event in connection.vad.feed(audio.data, int(rate.group(1)) if rate else 16_000):
            if event == "start":
                self._received.speech_starts += 1
                if setup.activity.interrupts:
                    self._interrupt(connection)
            else:
                self._received.speech_ends += 1
                self._trigger(connection, "speech_end")

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
        session = connection.session
        assert session is not None and connection.setup is not None
        session.context.add(connection.new)
        if connection.window is not None:
            session.turns.append(connection.new.copy())
            per_frame = self._frame_tokens(connection.setup)
            session.turns = connection.window.apply(
                session.turns, lambda counts: self._context_tokens(counts, per_frame)
            )
            session.context = _Counts()
            for turn in session.turns:
                session.context.add(turn)
        pending = _PendingTurn(trigger, connection.new, session.context.copy())
        connection.new = _Counts()
        connection.turns.put_nowait(pending)

    def _interrupt(self, connection: _Connection) -> None:
        if connection.barge_in is not None and not connection.barge_in.is_set():
            connection.barge_in.set()

    def _save_session(self, connection: _Connection) -> None:
        # Input not yet in a turn is part of what a handle restores.
        if connection.session is not None:
            connection.session.context.add(connection.new)
            connection.new = _Counts()

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
            model=model_id(setup.model),
            media_resolution=setup.media_resolution,
            instruction_chars=setup.instruction_chars,
        )
        usage = self._usage_for(reply, stats)
        body, final = reply_messages(reply, audio, setup.output_transcription, usage)

        barge_in = asyncio.Event()
        connection.barge_in = barge_in
        try:
            interrupted = await _wait(barge_in, self._response_delay)
            started = time.monotonic()
            sent_audio = 0
            for message in body if not interrupted else []:
                await self._send(connection, message)
                chunk = audio_bytes(message)
                sent_audio += chunk
                if chunk and self._audio_pace:
                    seconds = chunk / OUTPUT_AUDIO_BYTES_PER_SECOND * self._audio_pace
                    if await _wait(barge_in, seconds):
                        interrupted = True
                        break
                if barge_in.is_set():
                    interrupted = True
                    break
            if not interrupted and self._playback_wait and audio:
                # The service waits for playback before turnComplete; speech in that window
                # still interrupts the answer.
                remaining = len(audio) / OUTPUT_AUDIO_BYTES_PER_SECOND - (
                    time.monotonic() - started
                )
                interrupted = await _wait(barge_in, remaining)
        finally:
            connection.barge_in = None
        if interrupted:
            self._received.interruptions += 1
            await self._send(
                connection,
                types.LiveServerMessage(server_content=types.LiveServerContent(interrupted=True)),
            )
            if reply.tool_calls:
                final = [
                    types.LiveServerMessage(
                        server_content=types.LiveServerContent(turn_complete=True)
                    ),
                    types.LiveServerMessage(usage_metadata=usage),
                ]
        for message in final:
            await self._send(connection, message)
        self._received.turns.append(
            TurnRecord(
                index=stats.turn,
                connection=connection.index,
                trigger=pending.trigger,
                usage=usage,
                reply_text=reply.text,
                at=time.monotonic(),
                interrupted=interrupted,
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

    def _rates(self) -> ComputedUsage:
        return self._usage_fn if isinstance(self._usage_fn, ComputedUsage) else ComputedUsage()

    def _frame_tokens(self, setup: Setup) -> int:
        rates = self._rates()
        if rates.tokens_per_image is not None:
            return rates.tokens_per_image
        return frame_tokens(
            model_id(setup.model), setup.media_resolution, gemini3_rate=rates.gemini3_rate
        )

    def _context_tokens(self, counts: _Counts, per_frame: int) -> int:
        """Prompt tokens of ``counts`` by the default usage's rates (the window's measure)."""
        return sum(
            self._rates().input_tokens(
                counts.images, counts.audio_bytes, counts.text_chars, per_frame=per_frame
            )
        )

    def _resumption_update(self, connection: _Connection) -> types.LiveServerMessage:
        handle = f"emulator-{connection.index}-{len(self._handles) + 1}"
        session = connection.session
        assert session is not None
        # What the handle restores: the context so far, including input not yet in a turn.
        context = session.context.copy()
        context.add(connection.new)
        self._handles[handle] = _Handle(
            _Session(context, session.started_at, session.audio, session.video), time.monotonic()
        )
        return types.LiveServerMessage(
            session_resumption_update=types.LiveServerSessionResumptionUpdate(
                new_handle=handle, resumable=True
            )
        )

    # The service's limits

    async def _enforce_limits(self, connection: _Connection, limits: SessionLimits) -> None:
        """Send ``goAway`` ahead of the connection's end; close it at its or the session's end."""
        scale = self._time_scale
        end = connection.opened_at + limits.connection_seconds * scale
        go_away_at = end - limits.go_away_before_seconds * scale
        warned = False
        while True:
            session = connection.session
            assert session is not None and connection.setup is not None
            session_end = math.inf
            if not connection.setup.compression and session.audio:
                cap = limits.audio_video_seconds if session.video else limits.audio_seconds
                session_end = session.started_at + cap * scale
            closing = min(end, session_end)
            now = time.monotonic()
            if not warned and go_away_at <= now and closing == end:
                warned = True
                left = max(0.0, end - now)
                await self._send(
                    connection,
                    types.LiveServerMessage(
                        go_away=types.LiveServerGoAway(time_left=_duration(left))
                    ),
                )
                continue
            if closing <= now:
                logger.debug("emulator: a session limit closed a connection")
                await connection.socket.close(self._unverified.limit_close_code, _LIMIT_REASON)
                return
            next_at = closing if warned or closing != end else min(go_away_at, closing)
            connection.media_changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_at - now)):
                    await connection.media_changed.wait()

    # Plumbing

    def _close_soon(self, connection: _Connection, code: int, reason: str) -> None:
        if connection.index in self._connections:
            task = asyncio.ensure_future(connection.socket.close(code, reason))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _broadcast(self, message: types.LiveServerMessage) -> None:
        for connection in list(self._connections.values()):
            await self._send(connection, message)

    async def _send(self, connection: _Connection, message: types.LiveServerMessage) -> None:
        assert self._resume is not None
        await self._resume.wait()  # a stalled service says nothing
        # A connection closing while the emulator speaks ends its reader too; nothing to do.
        try:
            await connection.socket.send(dump_server_message(message))
        except ConnectionClosed:
            pass

    def _notify(self) -> None:
        """Have the caller's loop re-check the waiters (called on the emulator's loop)."""
        loop = self._caller_loop
        if not self._waiters or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            loop.call_soon_threadsafe(self._check_waiters)

    def _check_waiters(self) -> None:
        for predicate, waiter in list(self._waiters):
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
    # websockets' request.path carries the query string (``?key=``, ``?access_token=``).
    if _PATH.match(urlsplit(request.path).path):
        return None
    return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")


def _check_close(code: int, reason: str) -> None:
    if not 1000 <= code <= 4999 or code in _RESERVED_CLOSE_CODES:
        raise ValueError(f"code must be a sendable close code, got {code!r}")
    if len(reason.encode()) > MAX_REASON_BYTES:
        raise ValueError("reason must be at most 123 bytes of UTF-8")


def _abort(socket: _TcpConnection) -> None:
    transport = socket.tcp
    if transport is None or transport.is_closing():
        return
    raw = transport.get_extra_info("socket")
    if raw is not None:
        # Linger 0: the kernel answers with a reset instead of an orderly FIN.
        with contextlib.suppress(OSError):
            raw.setsockopt(
                socket_module.SOL_SOCKET, socket_module.SO_LINGER, struct.pack("ii", 1, 0)
            )
    transport.abort()


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``event`` is set; return whether it was."""
    if event.is_set():
        return True
    if seconds <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


def _duration(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"

"""A TCP proxy on 127.0.0.1 that a test cuts: real network faults between a client and a server.

The client connects to the proxy's port instead of the server's; bytes are relayed unchanged
(TLS included, so certificates still verify). A test then acts as the network would:

- ``cut()``: the path is down. Open connections are reset (RST, as a dropped NAT entry or a
  restarted router does) and new ones are refused until ``restore()``.
- ``reset()``: open connections are reset, new ones are accepted at once (a flapping link, a
  load balancer dropping its connections).
- ``stall()``: nothing gets through and nobody is told (packets dropped without a reset, as on a
  dead radio link): open connections hang, new ones are accepted but never answered. What was
  sent meanwhile is delivered at ``restore()``, as TCP retransmits it.

A refused connect fails at once, so a client's reconnect attempts during a cut take about the
time of its own backoff: a cut of ``T`` seconds against a backoff and bound scaled by ``k`` ends
as a cut of ``T / k`` seconds against the unscaled ones, with fewer attempts (each attempt's own
overhead does not scale).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import Self

__all__ = ["TcpProxy"]

_CHUNK = 64 * 1024


@dataclass(eq=False)  # held in a set, by identity
class _Link:
    """One client connection and its connection to the server."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None


class TcpProxy:
    """Relays 127.0.0.1:``port`` to ``target_port``, until a test cuts it.

    Example:
        ::

            async with TcpProxy(server.port) as proxy:
                ...  # point the client at proxy.port
                await proxy.cut()
                await proxy.restore()
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._port = 0
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.accepted = 0
        """Connections accepted since start."""
        self.resets = 0
        """Connections reset by ``cut()`` or ``reset()``."""

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

    @property
    def port(self) -> int:
        """The port clients connect to; it stays the same across cuts."""
        if self._port == 0:
            raise RuntimeError("TcpProxy is not started")
        return self._port

    @property
    def listening(self) -> bool:
        """Whether new connections are accepted (not cut)."""
        return self._server is not None

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        await self._listen(0)

    async def cut(self) -> None:
        """Take the path down: refuse new connections and reset the open ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        await self.reset()

    async def reset(self) -> None:
        """Reset every open connection (both sides get an RST); keep accepting new ones."""
        links = list(self._links)
        self._links.clear()
        for link in links:
            self.resets += 1
            _abort(link.client)
            if link.upstream is not None:
                _abort(link.upstream)
        # a relay held by a stall waits on no socket: nothing but a cancel ends it
        for task in list(self._tasks):
            task.cancel()
        await self._settle()

    def stall(self) -> None:
        """Let nothing through, in either direction, without closing anything."""
        self._flowing.clear()

    async def restore(self) -> None:
        """End a cut or a stall: accept connections again, on the same port, and relay."""
        self._flowing.set()
        if self._server is None:
            await self._listen(self._port)

    async def aclose(self) -> None:
        """Stop listening, reset every connection and wait for the relays to end. Idempotent."""
        await self.cut()
        self._flowing.set()

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", port, reuse_address=True
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _settle(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.create_task(self._relay(reader, writer), name="tcp-proxy-link")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(client=writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # a stalled path answers no handshake
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._target)
            except OSError:
                _abort(writer)  # the server itself is down: the client sees a reset
                return
            link.upstream = up_writer
            if link not in self._links:  # cut while connecting
                _abort(up_writer)
                _abort(writer)
                return
            await asyncio.gather(
                _pipe(reader, up_writer, self._flowing), _pipe(up_reader, writer, self._flowing)
            )
        finally:
            self._links.discard(link)
            for side in (link.client, link.upstream):
                if side is not None and not side.is_closing():
                    side.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    """Copy until end of stream, then half-close; a reset on either side ends it quietly."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(_CHUNK):
            await flowing.wait()  # held, not lost, while stalled
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, not a FIN: the peer sees its connection reset, as on a network fault."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

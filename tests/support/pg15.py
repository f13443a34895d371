"""Debian's PostgreSQL 15 with TLS on, for tests and benchmarks where TLS must be a real server's.

The embedded build has no SSL, so ``start_pg15`` runs the system server (``pg_config --bindir``,
package ``postgresql-15``, installed by ``scripts/system-packages.sh``) from a fresh data folder:
a trustme authority signs its certificate, TCP clients log in with SCRAM-SHA-256 as on a
production server, and as root every program runs as the ``postgres`` user. It listens on
``127.0.0.1`` and, when the machine has one, a non-loopback address (``remote_host``), so a test
can connect to "a host that is not loopback" without leaving the machine.

    with start_pg15() as server:
        provider = await PatientContextProvider.connect(server.dsn(), ssl=server.client_context())
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

from .ports import free_port

__all__ = ["PASSWORD", "Pg15Server", "pg15_missing", "start_pg15"]

PASSWORD = "pg15-test-only"
"""The ``postgres`` user's password on every server this module starts."""

_READY = "database system is ready to accept connections"
_START_TIMEOUT_S = 60.0
_NON_DURABLE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def pg15_missing() -> str | None:
    """Why no PostgreSQL 15 server can be started here, or ``None`` if one can."""
    bindir = _bindir()
    if bindir is None:
        return "PostgreSQL 15 is not installed (apt-get install postgresql-15; see scripts/)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no 'postgres' user to run the server as"
    return None


class Pg15Server:
    """A running PostgreSQL 15 server with TLS; ``close()`` stops it and deletes its folder."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        folder: Path,
        port: int,
        authority: trustme.CA,
        remote_host: str | None,
    ) -> None:
        self._process = process
        self._folder = folder
        self.port = port
        """The TCP port, on every address the server listens on."""
        self.authority = authority
        """The certificate authority that signed the server's certificate."""
        self.ca_path = folder / "root.crt"
        """The authority's certificate as a PEM file (``sslrootcert=`` in a DSN)."""
        self.remote_host = remote_host
        """A non-loopback address of this machine the server listens on, if there is one; the
        certificate does not name it."""
        self.data_dir = folder / "data"

    def dsn(self, host: str = "127.0.0.1", database: str = "postgres", **params: str) -> str:
        """Return a password DSN for ``database`` on ``host``, with ``params`` as its query."""
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"postgresql://postgres:{PASSWORD}@{host}:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's authority only (verify-full)."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        return context

    def close(self) -> None:
        """Stop the server (fast shutdown) and delete its folder; idempotent."""
        if self._process.poll() is None:
            self._process.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown, then fast below
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
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


def start_pg15(
    *,
    durable: bool = False,
    hostnames: tuple[str, ...] = ("127.0.0.1", "localhost"),
    settings: tuple[str, ...] = (),
) -> Pg15Server:
    """Initialise and start a PostgreSQL 15 server with TLS in a new temporary folder.

    Blocks until the server accepts connections (its own log line, no polling); from async code
    call it through ``asyncio.to_thread``.

    Args:
        durable: Keep fsync and synchronous commit on (benchmarks); off by default (tests).
        hostnames: The names and addresses the certificate is valid for (not the non-loopback
            address the server also listens on, so a test can try a name it does not carry).
        settings: More ``name=value`` server settings.

    Raises:
        RuntimeError: PostgreSQL 15 is missing or the server did not start.
    """
    missing = pg15_missing()
    bindir = _bindir()
    if missing is not None or bindir is None:
        raise RuntimeError(missing)
    # under the system's temporary folder, which the postgres user can traverse (pytest's
    # tmp_path cannot be: its parents are private to the user running the tests)
    folder = Path(tempfile.mkdtemp(prefix="medvision-pg15-"))
    data = folder / "data"
    remote = _remote_address()
    authority = trustme.CA(organization_name="medvision test PostgreSQL")
    leaf = authority.issue_cert(*hostnames)
    authority.cert_pem.write_to_path(folder / "root.crt")
    leaf.cert_chain_pems[0].write_to_path(folder / "server.crt")
    leaf.private_key_pem.write_to_path(folder / "server.key")
    (folder / "server.key").chmod(0o600)
    (folder / "pwfile").write_text(PASSWORD + "\n")
    # initdb's own file admits loopback only; this server also listens on the remote address
    (folder / "pg_hba.conf").write_text(
        "local all all trust\n"
        "host all all 0.0.0.0/0 scram-sha-256\n"
        "host all all ::/0 scram-sha-256\n"
    )
    user = _run_as()
    if user is not None:
        os.chmod(folder, 0o700)
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, user, user)
    initdb = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={folder / 'pwfile'}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        user=user,
        check=False,
        capture_output=True,
        text=True,
    )
    if initdb.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
    port = free_port()
    listen = ",".join(["127.0.0.1", *([remote] if remote else [])])
    options = [
        f"port={port}",
        f"listen_addresses={listen}",
        f"unix_socket_directories={folder}",
        f"hba_file={folder / 'pg_hba.conf'}",
        "ssl=on",
        f"ssl_cert_file={folder / 'server.crt'}",
        f"ssl_key_file={folder / 'server.key'}",
        "password_encryption=scram-sha-256",
        "max_connections=200",
        *(() if durable else _NON_DURABLE),
        *settings,
    ]
    command = [str(bindir / "postgres"), "-D", str(data)]
    for option in options:
        command += ["-c", option]
    process = subprocess.Popen(
        command, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    server = Pg15Server(process, folder, port, authority, remote)
    if not _wait_ready(process):
        server.close()
        raise RuntimeError("PostgreSQL 15 did not start (see its log above)")
    return server


def _wait_ready(process: subprocess.Popen[str]) -> bool:
    """Wait for the server's "ready" line on its stderr; keep draining the log afterwards."""
    ready = threading.Event()
    stderr = process.stderr
    assert stderr is not None

    def drain() -> None:
        with contextlib.suppress(ValueError, OSError):  # closed by close()
            for line in stderr:
                if _READY in line:
                    ready.set()
        ready.set()  # the server exited: stop waiting

    threading.Thread(target=drain, name="pg15-log", daemon=True).start()
    return ready.wait(_START_TIMEOUT_S) and process.poll() is None


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        found = subprocess.run(
            [pg_config, "--bindir"], check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    bindir = Path(found)
    return bindir if (bindir / "postgres").exists() and (bindir / "initdb").exists() else None


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as ``postgres``."""
    return "postgres" if os.geteuid() == 0 else None


def _remote_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: only routes are looked up
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address

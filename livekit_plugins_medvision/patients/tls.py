"""How the provider secures its database connection: TLS with the server verified, by default.

asyncpg on its own uses libpq's ``sslmode=prefer``: TLS without any certificate check, and
cleartext when the server offers no TLS. Patient data deserves better, so over TCP the provider
asks for ``verify-full`` (the certificate chains to a trusted authority and names the host)
unless the DSN, ``PGSSLMODE`` or the caller's ``ssl=`` context says otherwise:

- no ``sslmode`` anywhere: verify-full against the system's trust store, or against the DSN's
  ``sslrootcert`` (or ``PGSSLROOTCERT``) when one is named;
- an explicit ``sslmode`` is honoured, and one weaker than ``verify-full`` to a host that is not
  loopback logs one warning per pool;
- Unix sockets need no TLS.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

from ..log import logger

__all__ = ["SSL_MODES", "DatabaseAddress", "TlsArgument", "parse_dsn", "tls_for"]

SSL_MODES: Final = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""libpq's ``sslmode`` values, weakest first."""

TlsArgument: TypeAlias = ssl.SSLContext | Literal["verify-full"] | bool | None
"""What ``tls_for`` hands to asyncpg's ``ssl=``."""

_FIX: Final = "use sslmode=verify-full (the default when the DSN names no sslmode)"


@dataclass(frozen=True)
class DatabaseAddress:
    """Where a DSN connects and how it asks for TLS; never its user name or password."""

    hosts: tuple[str, ...]
    """Host names, addresses, or Unix socket folders (starting with ``/``)."""
    sslmode: str | None
    """The ``sslmode`` of the DSN or of ``PGSSLMODE``; ``None`` when neither sets one."""
    sslrootcert: bool
    """Whether the DSN or ``PGSSLROOTCERT`` names a root certificate file."""

    @property
    def tcp_hosts(self) -> tuple[str, ...]:
        """The hosts reached over TCP (every one that is not a Unix socket folder)."""
        return tuple(host for host in self.hosts if not host.startswith("/"))

    @property
    def remote_hosts(self) -> tuple[str, ...]:
        """The TCP hosts that are not loopback (``localhost``, 127.0.0.0/8, ``::1``)."""
        return tuple(host for host in self.tcp_hosts if not _is_loopback(host))


def parse_dsn(dsn: str, env: Mapping[str, str] | None = None) -> DatabaseAddress:
    """Read where ``dsn`` connects and its TLS settings, as asyncpg would.

    Args:
        dsn: A ``postgresql://`` (or ``postgres://``) URI.
        env: The environment for ``PGHOST``, ``PGSSLMODE`` and ``PGSSLROOTCERT``; ``os.environ``
            by default.

    Raises:
        ValueError: not such a URI, a bad port or an unknown ``sslmode``. The message never
            quotes the DSN, which may hold a password.
    """
    env = os.environ if env is None else env
    try:
        parts = urlsplit(dsn.strip())
        query = parse_qs(parts.query)
    except ValueError:
        raise ValueError("not a valid postgresql:// URI") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a URI starting with postgresql:// (or postgres://)")
    hosts: list[str] = []
    location = parts.netloc.rpartition("@")[2]
    for item in filter(None, location.split(",")):
        host, port = _host_port(item)
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError("the port must be a number from 1 to 65535")
        if host:
            hosts.append(unquote(host))
    if "host" in query:  # as in asyncpg, the query's host list replaces the URI's
        hosts = [h for value in query["host"] for h in value.split(",") if h]
    if not hosts:
        hosts = [h for h in env.get("PGHOST", "").split(",") if h]
    if not hosts:
        hosts = ["/run/postgresql", "localhost"]  # asyncpg's defaults: local sockets, then TCP
    sslmode = query["sslmode"][-1] if "sslmode" in query else env.get("PGSSLMODE") or None
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    rootcert = bool(query.get("sslrootcert") or env.get("PGSSLROOTCERT"))
    return DatabaseAddress(tuple(hosts), sslmode, rootcert)


def tls_for(dsn: str, context: ssl.SSLContext | None) -> TlsArgument:
    """Return asyncpg's ``ssl=`` argument for ``dsn``: verify-full unless told otherwise.

    Logs one warning when the connection would not verify a server that is not loopback.

    Raises:
        ValueError: ``dsn`` is not a usable URI (see ``parse_dsn``).
    """
    address = parse_dsn(dsn)
    argument: TlsArgument
    mode: str
    if context is not None:
        mode = _context_mode(context)
        argument = context
    elif address.sslmode is not None:
        mode = address.sslmode
        argument = None  # asyncpg reads the DSN's (or PGSSLMODE's) own settings
    elif not address.tcp_hosts:
        return None  # Unix sockets only: no TLS to ask for
    else:
        mode = "verify-full"
        # asyncpg's "verify-full" loads sslrootcert; True is verify-full on the system store
        argument = "verify-full" if address.sslrootcert else True
    if mode != "verify-full" and address.remote_hosts:
        logger.warning(
            "patient database connection does not fully verify the server (sslmode=%s): %s",
            mode,
            _FIX,
        )
    return argument


def _context_mode(context: ssl.SSLContext) -> Literal["verify-full", "verify-ca", "require"]:
    if context.verify_mode == ssl.CERT_REQUIRED:
        return "verify-full" if context.check_hostname else "verify-ca"
    return "require"


def _host_port(item: str) -> tuple[str, str]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = item.partition(":")
    return host, port


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""The emulator's TLS certificate, made fresh at start-up.

google-genai always opens ``wss://`` (a custom ``http://`` base URL is rewritten to ``wss``), so
the emulator must speak TLS. A throwaway certificate authority signs one server certificate for
``127.0.0.1`` and ``localhost``; clients trust that authority's PEM file, nothing else changes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalCertificate", "make_local_certificate"]


@dataclass(frozen=True)
class LocalCertificate:
    """PEM files of a local certificate authority and the server certificate it signed."""

    ca_path: Path
    """The authority clients trust (``SSL_CERT_FILE``, or ``cafile=`` of an SSL context)."""
    chain_path: Path
    """The server's private key followed by its certificate chain."""

    def server_context(self) -> ssl.SSLContext:
        """Return a server-side context presenting the signed certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.chain_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client-side context that trusts only the local authority."""
        return ssl.create_default_context(cafile=self.ca_path)


def make_local_certificate(directory: Path) -> LocalCertificate:
    """Create an authority and a server certificate for 127.0.0.1, written into ``directory``.

    Args:
        directory: An existing folder the caller removes when done.

    Raises:
        ModuleNotFoundError: the ``testing`` extra (trustme) is not installed.
    """
    # imported here, so the package imports without the extra and says what to install
    try:
        import trustme
    except ImportError:
        raise ModuleNotFoundError(
            "the Gemini Live emulator needs the 'testing' extra: "
            'pip install "livekit-plugins-medvision[testing]"',
            name="trustme",
        ) from None
    authority = trustme.CA(organization_name="medvision local Gemini Live emulator")
    server = authority.issue_cert("127.0.0.1", "localhost")
    ca_path = directory / "emulator-ca.pem"
    chain_path = directory / "emulator-server.pem"
    authority.cert_pem.write_to_path(ca_path)
    server.private_key_and_cert_chain_pem.write_to_path(chain_path)
    return LocalCertificate(ca_path=ca_path, chain_path=chain_path)

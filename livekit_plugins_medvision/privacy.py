"""Pseudonymous ids: the only form of a patient id (or a room name) allowed in logs and the ledger.

``hash_patient_id`` is a keyed hash (HMAC-SHA256) under a secret key, so a hashed id cannot be
reversed by hashing every plausible MRN or CPF. The key comes from ``MEDVISION_ID_HASH_KEY``:
at least 128 bits, written as hex or base64 (``openssl rand -hex 32``). There is no key in this
source. Without the variable, each process draws a random key and logs one warning: hashes then
correlate within that process only, never across processes or restarts. A production worker
refuses to start without it (``check_production_settings``). Keep the key stable and secret:
changing it changes every hash in logs and ledgers.

Hashed ids have a recognisable, versioned form, ``mvh1_`` and 24 hex digits (96 bits), and every
place that takes a patient hash (``CostTracker.log_summary``, ``write_ledger``, the ``patient_hash``
key of a log record's ``extra``) accepts that form only: a raw id, CPF or name is a ``ValueError``.
Room names, which often name the patient, hash to ``mvr1_...`` with the same key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Final

from .log import logger

__all__ = [
    "HASH_KEY_ENV",
    "PATIENT_HASH_PREFIX",
    "PatientHashFilter",
    "check_patient_hash",
    "hash_key_problem",
    "hash_patient_id",
    "hash_room_name",
    "is_patient_hash",
]

HASH_KEY_ENV: Final = "MEDVISION_ID_HASH_KEY"
"""Environment variable holding the secret key of ``hash_patient_id``."""

PATIENT_HASH_PREFIX: Final = "mvh1_"
"""How every hashed patient id starts: the scheme's version 1 (HMAC-SHA256, 96 bits)."""

_ROOM_HASH_PREFIX: Final = "mvr1_"
_HEX_CHARS: Final = 24
_MIN_KEY_BYTES: Final = 16
_PATIENT_HASH: Final = re.compile(re.escape(PATIENT_HASH_PREFIX) + f"[0-9a-f]{{{_HEX_CHARS}}}")
_LOG_KEYS: Final = ("patient_hash", "medvision_patient_hash")
_KEY_FIX: Final = (
    f"set {HASH_KEY_ENV} to at least 128 bits of random key material in hex or base64, "
    "for example the output of: openssl rand -hex 32"
)

_process_key: bytes | None = None
_process_key_lock = threading.Lock()


def hash_patient_id(patient_id: str) -> str:
    """Return the keyed hash of ``patient_id``, safe to log and to store with costs.

    The same id and key always give the same ``mvh1_`` and 24 hex digits, enough to correlate
    log lines and ledger rows of one patient without revealing who the patient is.

    Args:
        patient_id: The patient identifier as used by the clinic's records.

    Raises:
        ValueError: ``patient_id`` is not a string, or ``MEDVISION_ID_HASH_KEY`` is set but is
            not a usable key (the message says how to make one; it never quotes the key).
    """
    if not isinstance(patient_id, str):
        raise ValueError("patient_id must be a string")
    return PATIENT_HASH_PREFIX + _digest(b"", patient_id)


def hash_room_name(room_name: str) -> str:
    """Return the keyed hash of a LiveKit room name (``mvr1_...``), kept in its place.

    Rooms are often named after the patient, so the cost ledger stores this instead.

    Raises:
        ValueError: ``room_name`` is not a string, or the key is not usable.
    """
    if not isinstance(room_name, str):
        raise ValueError("room_name must be a string")
    return _ROOM_HASH_PREFIX + _digest(b"room\x00", room_name)


def is_patient_hash(value: object) -> bool:
    """Whether ``value`` has the form of ``hash_patient_id``'s result."""
    return isinstance(value, str) and _PATIENT_HASH.fullmatch(value) is not None


def check_patient_hash(patient_hash: object) -> None:
    """Refuse anything but ``None`` or a hashed patient id, so no raw id is logged or stored.

    Raises:
        ValueError: ``patient_hash`` is not ``None`` and not of the form ``mvh1_`` + 24 hex
            digits (the message never quotes it: it may be the raw id).
    """
    if patient_hash is not None and not is_patient_hash(patient_hash):
        raise ValueError(
            "patient_hash must be a hashed patient id as hash_patient_id returns it "
            f"({PATIENT_HASH_PREFIX} and {_HEX_CHARS} hex digits), never the id itself"
        )


def hash_key_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Return what is wrong with the hashing key in ``env`` and how to fix it, or ``None``.

    A production start needs the key set: a random per-process key would make ledger rows of
    one patient impossible to total across workers.
    """
    raw = (os.environ if env is None else env).get(HASH_KEY_ENV, "")
    if not raw.strip():
        return f"{HASH_KEY_ENV} is unset: {_KEY_FIX}"
    try:
        _parse_key(raw)
    except ValueError as exc:
        return str(exc)
    return None


class PatientHashFilter(logging.Filter):
    """A logging filter that lets a record through only if its patient hash is a hash.

    Records whose ``extra`` carries ``patient_hash`` (or ``medvision_patient_hash``) with
    anything but ``None`` or a ``hash_patient_id`` result raise ``ValueError`` at the logging
    call, so a raw id never reaches a handler. The package logger has one; add one to your own
    logger with ``logger.addFilter(PatientHashFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Check the record's patient hash; raise ``ValueError`` if it is not one."""
        fields = record.__dict__
        for key in _LOG_KEYS:
            if key in fields:
                check_patient_hash(fields[key])
        return True


def _digest(domain: bytes, value: str) -> str:
    message = domain + value.encode("utf-8", "surrogatepass")
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:_HEX_CHARS]


def _key() -> bytes:
    raw = os.environ.get(HASH_KEY_ENV, "")
    if raw.strip():
        return _parse_key(raw)
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            _process_key = secrets.token_bytes(32)
            logger.warning(
                "%s unset: hashed patient ids use a random key of this process and correlate "
                "within it only; %s",
                HASH_KEY_ENV,
                _KEY_FIX,
            )
        return _process_key


@functools.lru_cache(maxsize=4)
def _parse_key(raw: str) -> bytes:
    """The key's bytes from hex or base64; at least 128 bits that are not all the same."""
    text = raw.strip()
    key: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        key = bytes.fromhex(text)
    else:
        try:  # standard or URL-safe alphabet, padding optional
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) < _MIN_KEY_BYTES or len(set(key)) == 1:
        raise ValueError(f"{HASH_KEY_ENV} is not a usable key: {_KEY_FIX}")
    return key


logger.addFilter(PatientHashFilter())

"""Pseudonymous patient ids: the only form of a patient id allowed in logs and in the cost ledger.

``hash_patient_id`` is a keyed hash (HMAC-SHA256), so a hashed id cannot be reversed by hashing
every plausible id unless the key is known. The key comes from the ``MEDVISION_ID_HASH_KEY``
environment variable; without it a fixed default key is used, which keeps hashes stable across
runs and machines but protects nothing against someone who reads this source. Production
deployments should set ``MEDVISION_ID_HASH_KEY`` to a secret of their own (for example 32 random
bytes in hex) and keep it stable, since changing it changes every hash in logs and ledgers.
"""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["HASH_KEY_ENV", "hash_patient_id"]

HASH_KEY_ENV = "MEDVISION_ID_HASH_KEY"
"""Environment variable holding the secret key of ``hash_patient_id``."""

_DEFAULT_KEY = b"livekit-plugins-medvision/patient-id/v1"
_HEX_CHARS = 16


def hash_patient_id(patient_id: str) -> str:
    """Return a short keyed hash of ``patient_id``, safe to log and to store with costs.

    The same id and key always give the same 16 hex characters (64 bits), enough to correlate
    log lines and ledger rows of one patient without revealing who the patient is.

    Args:
        patient_id: The patient identifier as used by the clinic's records.

    Raises:
        ValueError: ``patient_id`` is not a string.
    """
    if not isinstance(patient_id, str):
        raise ValueError("patient_id must be a string")
    key = os.environ.get(HASH_KEY_ENV, "").encode() or _DEFAULT_KEY
    digest = hmac.new(key, patient_id.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:_HEX_CHARS]

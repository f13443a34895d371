"""The package logger.

Its name sits under ``livekit.plugins`` so that the LiveKit CLI's ``--log-level`` reaches it.
Messages are static; no frame content and no patient identifier is ever logged (a hashed id at
most, under an ``lk.pii.*``-free ``extra`` key).
"""

import logging

logger = logging.getLogger("livekit.plugins.medvision")

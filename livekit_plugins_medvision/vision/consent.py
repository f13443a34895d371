"""Consent before sight: whether the followed participant has agreed to video analysis.

With consent required, nothing of a participant's video is prepared or sent until they have
consented, either through their participant attribute ``medvision.camera_consent`` set to
``granted`` (by the app that joins them, with ``AccessToken.with_attributes`` or
``set_attributes``), or through ``VisionStreamer.record_consent(True)``, which the agent calls
once the patient has said yes. The latest signal wins: an attribute changed to anything else
(``withdrawn``, ``denied``), or ``record_consent(False)``, withdraws it. Consent belongs to one
participant: following someone else starts from their own signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONSENT_ATTRIBUTE",
    "CONSENT_GRANTED",
    "ConsentChangedEvent",
    "ConsentLedger",
    "ConsentReason",
    "ConsentState",
]

CONSENT_ATTRIBUTE = "medvision.camera_consent"
"""The participant attribute read for consent."""
CONSENT_GRANTED = "granted"
"""The attribute value that grants consent; any other value withdraws it."""

ConsentState = Literal["not_required", "pending", "granted", "withdrawn"]
"""``pending``: no signal yet from the followed participant; nothing is sent but in ``granted``
(or ``not_required``)."""
ConsentReason = Literal["attribute", "agent", "participant", "option"]
"""What changed the state: the participant's attribute, ``record_consent``, a different
participant followed, or ``require_consent`` itself."""

_TRACK = "\x00track"  # the key of a track streamed without a room (no participant)


@dataclass(frozen=True)
class ConsentChangedEvent:
    """Emitted as ``consent_changed`` when the consent state of the followed video changes."""

    state: ConsentState
    reason: ConsentReason


class ConsentLedger:
    """The latest consent signal per participant, and the state of the one followed."""

    def __init__(self, *, required: bool) -> None:
        self.required = required
        self._signals: dict[str, bool] = {}
        self._attributes: dict[str, str | None] = {}
        self._key: str | None = None

    @property
    def state(self) -> ConsentState:
        """The state of the followed participant (or track)."""
        if not self.required:
            return "not_required"
        signal = self._signals.get(self._key) if self._key is not None else None
        if signal is None:
            return "pending"
        return "granted" if signal else "withdrawn"

    @property
    def allows(self) -> bool:
        """Whether frames may be sent now."""
        return self.state in ("not_required", "granted")

    def follow(self, identity: str | None, attributes: Mapping[str, str] | None) -> bool:
        """Follow a participant (``None``: nobody) and read its consent attribute.

        Returns:
            Whether this is a different participant from the one followed so far.
        """
        changed = identity != self._key
        self._key = identity
        if identity is not None and attributes is not None:
            value = attributes.get(CONSENT_ATTRIBUTE)
            if identity not in self._attributes or self._attributes[identity] != value:
                self._attributes[identity] = value
                if value is not None:
                    self._signals[identity] = value.strip().lower() == CONSENT_GRANTED
        return changed

    def follow_track(self) -> None:
        """Follow a track streamed without a room: only ``record`` can grant consent."""
        self._key = _TRACK

    def record(self, granted: bool) -> None:
        """Record what the followed participant said (``True``: consents)."""
        if self._key is not None:
            self._signals[self._key] = granted

"""Which simulcast layer of a video publication to receive: the smallest that still covers max_size.

A browser camera usually publishes simulcast: the full picture plus layers at 1/2 and 1/4 of
its size (LiveKit's ``VIDEO_QUALITY_HIGH``, ``MEDIUM``, ``LOW``). The streamer sends at most
``max_size`` pixels on the long side, once a second, so decoding a 1920x1080 layer at 30 fps to
send a 768 px frame wastes most of the decoder's work: the 960x540 layer covers it. The choice is
the smallest layer whose long side is at least ``max_size``.

The rtc SDK reports a publication's full size (``width``, ``height``) and whether it is
``simulcasted``, not the sizes of its layers; the 1/2 and 1/4 steps are assumed, as browsers and
LiveKit's SDKs publish them. If a publisher's layers are smaller than assumed, a frame arrives
smaller than ``max_size`` and is sent as it is (never upscaled).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from livekit import rtc

from ..log import logger
from .sources import ParticipantView, PublicationView

__all__ = ["LayerChooser", "LayeredPublication", "layer_for", "publication_of"]

_HIGH = rtc.VideoQuality.VIDEO_QUALITY_HIGH
_STEPS: tuple[tuple[rtc.VideoQuality.ValueType, int], ...] = (
    (rtc.VideoQuality.VIDEO_QUALITY_LOW, 4),
    (rtc.VideoQuality.VIDEO_QUALITY_MEDIUM, 2),
)


@runtime_checkable
class LayeredPublication(Protocol):
    """What is used of a publication to pick its layer (``rtc.RemoteTrackPublication`` has it)."""

    @property
    def kind(self) -> rtc.TrackKind.ValueType:
        """Audio or video."""

    @property
    def simulcasted(self) -> bool:
        """Whether the publisher sends several layers."""

    @property
    def width(self) -> int:
        """The full layer's width in pixels (0 when not known yet)."""

    @property
    def height(self) -> int:
        """The full layer's height in pixels (0 when not known yet)."""

    def set_video_quality(self, quality: rtc.VideoQuality.ValueType) -> None:
        """Ask the SFU for one layer."""


def layer_for(width: int, height: int, max_size: int) -> rtc.VideoQuality.ValueType:
    """The smallest layer of a ``width`` x ``height`` simulcast whose long side covers ``max_size``.

    An unknown size (0) gets the full layer.
    """
    long_side = max(width, height)
    for quality, divisor in _STEPS:
        if long_side > 0 and long_side // divisor >= max_size:
            return quality
    return _HIGH


def publication_of(
    participants: Iterable[ParticipantView], track: rtc.Track | None
) -> PublicationView | None:
    """The publication ``track`` was subscribed from, or ``None``."""
    if track is None:
        return None
    for participant in participants:
        for publication in participant.track_publications.values():
            if publication.track is track:
                return publication
    return None


class LayerChooser:
    """Asks the followed publication for its best-fitting layer, again only when that changes.

    ``follow()`` when the followed publication changes, ``resize()`` when ``max_size`` may have. A
    publication that is not a simulcast video is left alone; a request the SDK refuses is logged
    and the stream goes on at whatever layer the SFU sends.
    """

    def __init__(self) -> None:
        self._max_size = 0
        self._publication: LayeredPublication | None = None
        self._asked: rtc.VideoQuality.ValueType | None = None

    @property
    def quality(self) -> rtc.VideoQuality.ValueType | None:
        """The layer last asked for, or ``None`` (no simulcast publication followed)."""
        return self._asked

    def full_long_side(self) -> int:
        """Long side of the followed simulcast publication's full layer; 0 when none or unknown."""
        publication = self._publication
        return 0 if publication is None else max(publication.width, publication.height)

    def follow(self, publication: object | None, max_size: int) -> None:
        """Follow ``publication`` (any publication; only simulcast videos are acted on).

        Following the same publication again asks again only if its size or ``simulcasted``
        changed the layer that fits.
        """
        if publication is not self._publication:
            self._asked = None
        self._max_size = max_size
        self._publication = (
            publication
            if isinstance(publication, LayeredPublication)
            and publication.kind == rtc.TrackKind.KIND_VIDEO
            and publication.simulcasted
            else None
        )
        if self._publication is not None:
            self._ask()

    def resize(self, max_size: int) -> None:
        """``max_size`` may have changed: ask for another layer if another one fits now."""
        self._max_size = max_size
        if self._publication is not None:
            self._ask()

    def _ask(self) -> None:
        publication = self._publication
        assert publication is not None
        quality = layer_for(publication.width, publication.height, self._max_size)
        if quality == self._asked:
            return
        try:
            publication.set_video_quality(quality)
        except Exception:  # an SDK refusal must not stop the video: it stays on its layer
            logger.warning("asking for a simulcast layer failed", exc_info=True)
            return
        self._asked = quality
        logger.debug(
            "simulcast layer requested",
            extra={"quality": rtc.VideoQuality.Name(quality), "max_size": self._max_size},
        )

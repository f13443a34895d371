"""Frames the emulator receives, decoded far enough to know what they are."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from .protocol import Blob, ProtocolError
from .recording import ReceivedImage

__all__ = ["decode_image"]


def decode_image(connection: int, blob: Blob, now: float, *, strict: bool) -> ReceivedImage:
    """Decode a ``realtime_input.video`` frame whole; a frame that does not decode is refused.

    Raises:
        ProtocolError: not an image MIME type, or (with ``strict``) not a decodable image.
    """
    mime_type = blob.mime_type
    data = blob.data
    if not mime_type.startswith("image/"):
        raise ProtocolError("realtime_input.video must be an image")
    try:
        # Pillow only warns about a frame of 89-179 Mpx and would then decode it (hundreds of
        # MB); refuse it like any other frame the service would not take.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # decode it all: a truncated or corrupt frame is refused
                width, height = image.size
                image_format = image.format or ""
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        if strict:
            raise ProtocolError("realtime_input.video is not a decodable image") from None
        return ReceivedImage(connection, mime_type, "", 0, 0, len(data), now)
    return ReceivedImage(connection, mime_type, image_format, width, height, len(data), now)

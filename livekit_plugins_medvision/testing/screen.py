"""A synthetic shared screen: a page of text that scrolls line by line, as I420 frames.

What a screen share of a document looks like to the VisionStreamer: dark glyphs on a white
page, nothing moving but a blinking caret until the reader scrolls. Pages are a pure function
of their arguments (the words come from a seeded generator), so a test can show the same page
twice and know the pixels are identical.

    frame = document_frame(1920, 1080, first_line=3)     # the page scrolled by three lines
    source.capture_frame(frame)
"""

from __future__ import annotations

import functools
import random

from livekit import rtc
from PIL import Image, ImageDraw, ImageFont

__all__ = ["document_frame"]

_WORDS = (
    "dose tomar comprimido manhã noite jejum dias semana receita paciente alergia pressão "
    "glicose exame resultado retorno clínica médico enfermeira dor febre xarope gotas "
    "mg ml 500 250 12h 8h antes depois refeição água suspender continuar"
).split()


def document_frame(
    width: int,
    height: int,
    *,
    first_line: int = 0,
    lines: int | None = None,
    caret: bool = False,
    pointer: tuple[int, int] | None = None,
    seed: int = 0,
) -> rtc.VideoFrame:
    """Return a page of text as an I420 frame, scrolled down by ``first_line`` lines.

    Args:
        width: Frame width in pixels (even).
        height: Frame height in pixels (even).
        first_line: The document line shown at the top of the page.
        lines: How many lines are written so far (the rest of the page is blank), for a
            document being typed or a chat; ``None`` fills the page.
        caret: Draw a text caret at the end of the first line (a blinking caret toggles it).
        pointer: Draw a mouse pointer with its tip at this pixel.
        seed: Which document: the same seed always has the same words.
    """
    return _render(width, height, first_line, lines, caret, pointer, seed).convert(
        rtc.VideoBufferType.I420
    )


@functools.lru_cache(maxsize=64)
def _render(
    width: int,
    height: int,
    first_line: int,
    lines: int | None,
    caret: bool,
    pointer: tuple[int, int] | None,
    seed: int,
) -> rtc.VideoFrame:
    size = max(10, height // 60)  # 18 px type on a 1080p screen
    line_height = size * 3 // 2
    font = ImageFont.load_default(size=size)
    image = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    margin = width // 12
    rows = height // line_height if lines is None else min(lines, height // line_height)
    for row in range(rows):
        y = row * line_height + size // 2
        text = _line(seed, first_line + row, (width - 2 * margin) // (size // 2 + 1))
        draw.text((margin, y), text, fill=(20, 20, 20, 255), font=font)
        if caret and row == 0:
            right = margin + int(draw.textlength(text, font=font)) + 2
            draw.rectangle((right, y, right + 1, y + size), fill=(0, 0, 0, 255))
    if pointer is not None:
        x, y = pointer
        arrow = [(x, y), (x, y + size + 6), (x + 5, y + size), (x + size // 2 + 4, y + size)]
        draw.polygon(arrow, fill=(0, 0, 0, 255), outline=(255, 255, 255, 255))
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, image.tobytes())


def _line(seed: int, index: int, characters: int) -> str:
    """Document line ``index``: words from a generator seeded by the document and the line."""
    rng = random.Random(seed * 1_000_003 + index)
    words: list[str] = []
    length = 0
    target = characters - rng.randint(0, 3)  # justified text: every line about as long
    while length < target:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)

"""The worker's pure functions: validation, fitting, shrinking, rotation, change detection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from livekit import rtc
from PIL import Image

from livekit_plugins_medvision.vision.encoder import (
    Prepared,
    Skipped,
    fit_size,
    frame_problem,
    jpeg_size,
    prepare_frame,
    rotation_of,
)
from tests.support.video import i420_frame, psnr, rgba_frame, scene

R0 = rtc.VideoRotation.VIDEO_ROTATION_0


def prepare(frame: rtc.VideoFrame, rotation: rtc.VideoRotation.ValueType = R0) -> Prepared:
    out = prepare_frame(
        frame, rotation, max_size=768, reference=None, change_threshold=2.0, force=True
    )
    assert isinstance(out, Prepared)
    return out


def rgb_of(frame: rtc.VideoFrame) -> np.ndarray:
    return np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width, 4)


@pytest.mark.parametrize(
    ("size", "max_size", "expected"),
    [
        ((640, 360), 768, (640, 360)),  # never upscaled
        ((1280, 720), 768, (768, 432)),
        ((1920, 1080), 768, (768, 432)),
        ((3840, 2160), 768, (768, 432)),
        ((1080, 1920), 768, (432, 768)),  # portrait
        ((1000, 563), 768, (768, 432)),  # rounded down, inside the box
        ((1920, 1080), 1024, (1024, 576)),
        ((4000, 2), 768, (768, 1)),
    ],
)
def test_fit_size(size: tuple[int, int], max_size: int, expected: tuple[int, int]) -> None:
    assert fit_size(*size, max_size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [((640, 360), (640, 360)), ((1920, 1080), (768, 432)), ((3840, 2160), (768, 432))],
)
def test_prepared_frame_size_type_and_colours(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    pixels = scene(*size, t=1.0)
    out = prepare(i420_frame(pixels)).frame
    assert (out.width, out.height, out.type) == (*expected, rtc.VideoBufferType.RGBA)
    reference = Image.fromarray(pixels).resize(expected, Image.Resampling.LANCZOS)
    assert psnr(rgb_of(out), np.asarray(reference)) > 30.0


@pytest.mark.parametrize(
    ("rotation", "size", "corner"),
    [
        # the marked top-left corner of the source, seen after turning the frame upright
        (rtc.VideoRotation.VIDEO_ROTATION_0, (768, 432), (0, 0)),
        (rtc.VideoRotation.VIDEO_ROTATION_90, (432, 768), (0, 431)),
        (rtc.VideoRotation.VIDEO_ROTATION_180, (768, 432), (431, 767)),
        (rtc.VideoRotation.VIDEO_ROTATION_270, (432, 768), (767, 0)),
    ],
)
def test_rotation_turns_the_picture_clockwise(
    rotation: rtc.VideoRotation.ValueType, size: tuple[int, int], corner: tuple[int, int]
) -> None:
    pixels = np.full((1080, 1920, 4), 40, dtype=np.uint8)
    pixels[:200, :200, :3] = (250, 250, 250)  # a white block in the top-left corner
    out = prepare(i420_frame(pixels), rotation).frame
    assert (out.width, out.height) == size
    row, column = corner
    assert rgb_of(out)[row, column, 0] > 200
    assert rgb_of(out)[out.height - 1 - row, out.width - 1 - column, 0] < 80


_TURNS = {
    rtc.VideoRotation.VIDEO_ROTATION_0: 0,
    rtc.VideoRotation.VIDEO_ROTATION_90: -1,  # np.rot90 turns counter-clockwise for k > 0
    rtc.VideoRotation.VIDEO_ROTATION_180: 2,
    rtc.VideoRotation.VIDEO_ROTATION_270: 1,
}


@pytest.mark.parametrize("rotation", list(_TURNS))
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 562), (701, 393)),  # PyAV pads these rows (line size 1008, chroma 512)
        ((702, 394), (701, 393)),  # odd output size from an even one
        ((360, 640), (360, 640)),  # portrait, inside max_size: never upscaled
        ((130, 74), (130, 74)),  # barely larger than the thumbnail grid (128 x 72)
        ((30, 20), (30, 20)),  # smaller than the thumbnail grid
    ],
)
def test_odd_outputs_padded_rows_portrait_and_tiny_frames(
    size: tuple[int, int], expected: tuple[int, int], rotation: rtc.VideoRotation.ValueType
) -> None:
    """Sizes and layouts the common cases miss, against a full-resolution BOX reference."""
    source = i420_frame(scene(*size, t=1.0))
    out = prepare_frame(
        source, rotation, max_size=701, reference=None, change_threshold=2.0, force=True
    )
    assert isinstance(out, Prepared)
    assert out.thumbnail.shape == (18, 32)
    full = rgb_of(source.convert(rtc.VideoBufferType.RGBA))
    reference = np.rot90(
        np.asarray(Image.fromarray(full).resize(expected, Image.Resampling.BOX)),
        _TURNS[rotation],
    )
    assert rgb_of(out.frame).shape == reference.shape
    assert psnr(rgb_of(out.frame), reference) > 30.0


def test_unchanged_frames_are_skipped_and_changes_are_not() -> None:
    first = prepare(i420_frame(scene(1280, 720, t=0.0, seed=1)))
    noisy_again = i420_frame(scene(1280, 720, t=0.0, seed=2))
    moved = i420_frame(scene(1280, 720, t=1.5, seed=3))

    def decide(frame: rtc.VideoFrame, *, force: bool = False) -> Prepared | Skipped:
        return prepare_frame(
            frame, R0, max_size=768, reference=first.thumbnail, change_threshold=2.0, force=force
        )

    skipped = decide(noisy_again)
    assert isinstance(skipped, Skipped) and skipped.difference < 2.0
    assert isinstance(decide(moved), Prepared)
    assert isinstance(decide(noisy_again, force=True), Prepared)


def test_frame_problems_are_named() -> None:
    good = i420_frame(scene(64, 48))
    assert frame_problem(good) is None
    assert frame_problem(rgba_frame(scene(64, 48))) == "unsupported format"
    short = rtc.VideoFrame(64, 48, rtc.VideoBufferType.I420, bytes(good.data)[:1000])
    assert frame_problem(short) == "truncated buffer"
    odd = rtc.VideoFrame(63, 47, rtc.VideoBufferType.I420, bytes(63 * 47 * 2))
    assert frame_problem(odd) == "odd size"
    empty = rtc.VideoFrame(0, 0, rtc.VideoBufferType.I420, b"")
    assert frame_problem(empty) == "empty frame"


def test_rotation_of_unknown_values_is_upright() -> None:
    assert rotation_of(rtc.VideoRotation.VIDEO_ROTATION_90) == rtc.VideoRotation.VIDEO_ROTATION_90
    assert rotation_of(99) == rtc.VideoRotation.VIDEO_ROTATION_0


def test_jpeg_size_matches_what_the_model_encoder_produces() -> None:
    from livekit.agents.utils import images

    frame = prepare(i420_frame(scene(1280, 720))).frame
    encoded = images.encode(frame, images.EncodeOptions(format="JPEG", quality=75))
    assert jpeg_size(frame, 75) == len(encoded)


@given(
    width=st.integers(1, 8192),
    height=st.integers(1, 8192),
    max_size=st.integers(16, 4096),
)
def test_fit_size_properties(width: int, height: int, max_size: int) -> None:
    out_w, out_h = fit_size(width, height, max_size)
    assert 1 <= out_w <= width and 1 <= out_h <= height  # never upscaled
    assert max(out_w, out_h) <= max(max_size, 1)  # inside the box
    if max(width, height) <= max_size:
        assert (out_w, out_h) == (width, height)  # untouched when it fits
    else:
        assert max(out_w, out_h) == max_size  # as large as the box allows
        # the aspect ratio, to within the rounding of one pixel on the short side
        assert abs(out_w * height - out_h * width) <= max(width, height)

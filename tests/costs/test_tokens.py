"""estimate_image_tokens against the documented rules (gemini-facts §4)."""

from __future__ import annotations

import pytest
from google.genai import types

from livekit_plugins_medvision.tokens import ImageKind, estimate_image_tokens

R = types.MediaResolution
GEN2 = "gemini-2.5-flash-native-audio-preview-12-2025"
GEN3 = "gemini-3.1-flash-live-preview"


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (384, 384, 258),  # both sides within 384: one flat 258
        (100, 50, 258),
        (385, 100, 258),  # larger: 768x768 tiles, 258 each
        (768, 768, 258),
        (1024, 576, 516),
        (1536, 1536, 1032),
        (1920, 1080, 1548),  # 3 x 2 tiles
    ],
)
def test_gemini_2_images_by_tiles(width: int, height: int, tokens: int) -> None:
    assert estimate_image_tokens(width, height, model=GEN2, kind="image") == tokens


@pytest.mark.parametrize(
    ("resolution", "tokens"),
    [(None, 258), (R.MEDIA_RESOLUTION_UNSPECIFIED, 258), (R.MEDIA_RESOLUTION_LOW, 66)],
)
def test_gemini_2_video_frames_do_not_depend_on_size(
    resolution: types.MediaResolution | None, tokens: int
) -> None:
    for width, height in ((320, 240), (1024, 576), (1920, 1080)):
        assert estimate_image_tokens(width, height, model=GEN2, media_resolution=resolution) == (
            tokens
        )


@pytest.mark.parametrize(
    ("resolution", "tokens"),
    [
        (R.MEDIA_RESOLUTION_LOW, 64),
        (R.MEDIA_RESOLUTION_MEDIUM, 256),
        (R.MEDIA_RESOLUTION_HIGH, 256),
    ],
)
def test_gemini_2_images_with_a_media_resolution(
    resolution: types.MediaResolution, tokens: int
) -> None:
    assert (
        estimate_image_tokens(1920, 1080, model=GEN2, media_resolution=resolution, kind="image")
        == tokens
    )


@pytest.mark.parametrize(
    ("kind", "resolution", "tokens"),
    [
        ("image", None, 1120),  # HIGH is the default for images
        ("image", R.MEDIA_RESOLUTION_LOW, 280),
        ("image", R.MEDIA_RESOLUTION_MEDIUM, 560),
        ("image", R.MEDIA_RESOLUTION_HIGH, 1120),
        ("video_frame", None, 70),  # LOW = MEDIUM = 70 is the default for frames
        ("video_frame", R.MEDIA_RESOLUTION_LOW, 70),
        ("video_frame", R.MEDIA_RESOLUTION_MEDIUM, 70),
        ("video_frame", R.MEDIA_RESOLUTION_HIGH, 280),
    ],
)
def test_gemini_3_table(
    kind: ImageKind, resolution: types.MediaResolution | None, tokens: int
) -> None:
    for model in (GEN3, "gemini-3.8-live", "models/GEMINI-3.8-LIVE", " MODELS/gemini-3.8-live"):
        assert (
            estimate_image_tokens(640, 480, model=model, media_resolution=resolution, kind=kind)
            == tokens
        )


@pytest.mark.parametrize(
    ("width", "height", "name"), [(0, 10, "width"), (10, -1, "height"), (1.5, 10, "width")]
)
def test_bad_sizes_name_the_argument(width: int, height: int, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        estimate_image_tokens(width, height, model=GEN2)


def test_bool_size_empty_model_and_unknown_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        estimate_image_tokens(True, 10, model=GEN2)
    with pytest.raises(ValueError, match="model"):
        estimate_image_tokens(10, 10, model="models/ ")
    with pytest.raises(ValueError, match="model"):
        estimate_image_tokens(10, 10, model=None)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(ValueError, match="kind"):
        estimate_image_tokens(10, 10, model=GEN2, kind="frame")  # type: ignore[arg-type]  # bad on purpose

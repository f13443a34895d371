"""The fake_gemini_live fixture that the testing extra installs as a pytest plugin."""

from __future__ import annotations

import os

import pytest
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive, realtime_model

pytestmark = pytest.mark.e2e


async def connect_once(model: google.realtime.RealtimeModel, server: FakeGeminiLive) -> None:
    session = model.session()
    try:
        await server.wait_for_connections(1)
    finally:
        await session.aclose()
        await model.aclose()


@pytest.mark.parametrize(
    "fake_gemini_live", [{"models": {"my-live-model"}, "playback_wait": False}], indirect=True
)
async def test_knobs_by_indirect_parametrization(fake_gemini_live: FakeGeminiLive) -> None:
    await connect_once(realtime_model(fake_gemini_live, model="my-live-model"), fake_gemini_live)
    assert fake_gemini_live.received.setups[0].model == "models/my-live-model"


@pytest.mark.fake_gemini_live(api_keys={"fake"})
async def test_a_default_built_model_reaches_it_through_the_environment(
    fake_gemini_live: FakeGeminiLive,
) -> None:
    assert os.environ["GOOGLE_GEMINI_BASE_URL"] == fake_gemini_live.base_url
    # key, URL and trust from the environment
    await connect_once(google.realtime.RealtimeModel(), fake_gemini_live)
    assert fake_gemini_live.received.rejected == []


def test_realtime_model_owns_the_key_and_the_http_options() -> None:
    with pytest.raises(ValueError, match="api_key"):
        realtime_model(FakeGeminiLive(), api_key="real-key")

"""The ready tools: what the model reads back from look_closely and record_camera_consent."""

from __future__ import annotations

from livekit.agents.llm import FunctionTool, Tool

from livekit_plugins_medvision.vision import VisionStreamer, consent_tool, look_closely_tool
from tests.support.clock import ManualClock
from tests.support.video import RecordingSink, feed, make_camera


async def call(tool: Tool, **kwargs: object) -> str:
    """Run a function tool as the agent does with the model's arguments."""
    assert isinstance(tool, FunctionTool)
    result = await tool(**kwargs)
    assert isinstance(result, str)
    return result


async def test_look_closely_says_what_was_sent_or_why_nothing_was() -> None:
    async with VisionStreamer(clock=ManualClock(), silent_fps=0.0, require_consent=True) as s:
        look, consent = look_closely_tool(s), consent_tool(s)
        assert isinstance(look, FunctionTool) and look.info.name == "look_closely"
        assert isinstance(consent, FunctionTool) and consent.info.name == "record_camera_consent"
        camera = make_camera(1920, 1080)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        await feed(s, camera)

        refused = await call(look)
        assert refused.startswith("No picture could be taken: the patient has not consented")
        assert sink.frames == []

        assert "recorded" in await call(consent, granted=True)
        await feed(s, camera)
        sent = await call(look)
        assert "sharp 1536x864 picture of the patient's camera" in sent
        assert [(f.width, f.height) for f in sink.frames] == [(1536, 864)]

        await call(consent, granted=False)
        assert s.consent == "withdrawn"

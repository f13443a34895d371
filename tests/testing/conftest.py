"""Fixtures for the emulator's own tests: a running emulator and a real google-genai client."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from google import genai
from PIL import Image

from livekit_plugins_medvision.testing import FakeGeminiLive

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


@pytest.fixture
async def server() -> AsyncIterator[FakeGeminiLive]:
    """A running emulator, closed after the test."""
    async with FakeGeminiLive() as emulator:
        yield emulator


@pytest.fixture
async def client(server: FakeGeminiLive) -> AsyncIterator[genai.Client]:
    """A real google-genai client pointed at the emulator through ``http_options``."""
    genai_client = genai.Client(api_key="fake", http_options=server.http_options())
    try:
        yield genai_client
    finally:
        await genai_client.aio.aclose()


def encode_image(width: int, height: int, image_format: str = "JPEG") -> bytes:
    """Return a real encoded image of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, image_format)
    return buffer.getvalue()

"""The ``fake_gemini_live`` pytest fixture, loaded by pytest through the ``pytest11`` entry point.

Installed with the ``testing`` extra, any project's tests get a running ``FakeGeminiLive`` by
naming the fixture: started on 127.0.0.1 with a fresh certificate, trusted through the
environment (``GOOGLE_GEMINI_BASE_URL``, ``SSL_CERT_FILE``, ``GOOGLE_API_KEY``) so an agent that
builds ``google.realtime.RealtimeModel()`` with its defaults reaches it, and torn down after the
test. Knobs are ``FakeGeminiLive``'s keyword arguments, given by a marker or by indirect
parametrization::

    @pytest.mark.fake_gemini_live(reply=Reply(text="Bom dia."), time_scale=0.01)
    async def test_greeting(fake_gemini_live: FakeGeminiLive) -> None:
        model = realtime_model(fake_gemini_live)
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from .server import FakeGeminiLive

__all__ = ["fake_gemini_live"]

MARKER = "fake_gemini_live"
MISSING_EXTRA = (
    f"the {MARKER} fixture needs the 'testing' extra: "
    'pip install "livekit-plugins-medvision[testing]"'
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**knobs): FakeGeminiLive keyword arguments for the {MARKER} fixture",
    )


async def running_emulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeGeminiLive]:
    """A running Gemini Live emulator, trusted by default-built clients, closed after the test.

    Knobs: ``@pytest.mark.fake_gemini_live(**kwargs)`` on the test (or its class or module),
    then ``indirect`` parametrization with a dict, which wins.
    """
    from .server import FakeGeminiLive  # the extra's dependencies, only when used

    knobs: dict[str, object] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        knobs.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise pytest.UsageError(f"parametrize {MARKER} indirectly with dicts of knobs")
        knobs.update(param)
    async with FakeGeminiLive(**knobs) as server:  # type: ignore[arg-type]  # checked by the class
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


def missing_extra() -> NoReturn:
    """Stand in for the fixture when pytest-asyncio is absent, and say what to install."""
    pytest.fail(MISSING_EXTRA, pytrace=False)


# pytest loads this module in every project whose environment has the package, extra or not:
# without pytest-asyncio the fixture fails the tests that use it, one line, and pytest still runs.
fake_gemini_live: object
try:
    import pytest_asyncio
except ImportError:
    fake_gemini_live = pytest.fixture(missing_extra, name=MARKER)
else:
    fake_gemini_live = pytest_asyncio.fixture(running_emulator, name=MARKER)

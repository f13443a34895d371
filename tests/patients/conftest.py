from collections.abc import AsyncIterator

import pytest

from livekit_plugins_medvision import PatientContextProvider


@pytest.fixture
async def provider(pg_dsn: str) -> AsyncIterator[PatientContextProvider]:
    """A provider on a fresh database holding the migrated reference schema and the demo data."""
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.seed_demo()
        yield provider

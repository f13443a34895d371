"""``kill -9`` of PostgreSQL under 200 concurrent lookups, avatar reads and ledger writes.

Every failure must be one of the package's errors, the audit must hold exactly one row per read
that returned, the ledger one row per write that returned, and the pool must recover by itself
once the server is back. The server is durable (fsync and synchronous commit on): a crash may
not lose a commit it acknowledged.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from livekit_plugins_medvision import MedVisionError, PatientContextProvider
from livekit_plugins_medvision.costs import CostTracker
from livekit_plugins_medvision.patients import (
    DEMO_CLINIC_ID,
    DEMO_PATIENT_IDS,
    EmbeddedPostgres,
    start_embedded_postgres,
)

pytestmark = pytest.mark.db

CONCURRENT = 200


@pytest.fixture
def durable_server(server_dir: Path) -> Iterator[EmbeddedPostgres]:
    with start_embedded_postgres(server_dir / "pg", delete_on_close=True) as server:
        yield server


class Load:
    """Waves of ``CONCURRENT`` calls: mostly lookups, some avatar reads and ledger writes."""

    def __init__(self, provider: PatientContextProvider) -> None:
        self.provider = provider
        self.outcomes: Counter[str] = Counter()
        self.raw: list[BaseException] = []
        self.restarted_at: float | None = None
        self.first_success_after_restart: float | None = None
        self.lookups_before_crash = asyncio.Event()
        self.recovered = asyncio.Event()
        self.stopping = False
        self._costs = CostTracker("gemini-3.1-flash-live-preview")

    async def run(self) -> None:
        wave = 0
        while not self.stopping:
            await asyncio.gather(*(self._one(wave * CONCURRENT + i) for i in range(CONCURRENT)))
            wave += 1

    async def _one(self, n: int) -> None:
        kind = "ledger" if n % 20 == 0 else "avatar" if n % 10 == 0 else "lookup"
        try:
            if kind == "ledger":
                await self._costs.write_ledger(self.provider.pool, job_id="crash")
            elif kind == "avatar":
                await self.provider.get_avatar_config(DEMO_CLINIC_ID)
            else:
                await self.provider.get_patient_context(DEMO_PATIENT_IDS[n % 3], job_id="crash")
        except MedVisionError as error:
            self.outcomes[f"{kind} {type(error).__name__}"] += 1
            return
        except Exception as error:
            self.raw.append(error)
            return
        self.outcomes[f"{kind} ok"] += 1
        if self.outcomes["lookup ok"] >= CONCURRENT:
            self.lookups_before_crash.set()
        if self.restarted_at is not None and not self.recovered.is_set():
            self.first_success_after_restart = time.perf_counter() - self.restarted_at
            self.recovered.set()


async def test_kill_9_under_load_raises_only_package_errors_and_audits_exactly(
    durable_server: EmbeddedPostgres,
) -> None:
    async with await PatientContextProvider.connect(
        durable_server.dsn, min_size=4, max_size=4, lookup_timeout=2.0, connect_timeout=1.0
    ) as provider:
        await provider.seed_demo()
        load = Load(provider)
        running = asyncio.create_task(load.run())
        await load.lookups_before_crash.wait()

        crashed_at = time.perf_counter()
        await asyncio.to_thread(durable_server.kill)
        await asyncio.to_thread(durable_server.start)
        load.restarted_at = time.perf_counter()
        await load.recovered.wait()
        load.stopping = True
        await running

    conn = await asyncpg.connect(durable_server.dsn)
    try:
        audited = await conn.fetchval(
            "SELECT count(*) FROM medvision.access_audit WHERE job_id = 'crash'"
        )
        ledger = await conn.fetchval(
            "SELECT count(*) FROM medvision.cost_ledger WHERE job_id = 'crash'"
        )
    finally:
        await conn.close()
    print(  # the figures of the fault table in docs/faults.md
        f"\noutcomes {dict(load.outcomes)}; raw {len(load.raw)}; audit rows {audited};"
        f" ledger rows {ledger}; restart took {load.restarted_at - crashed_at:.2f} s;"
        f" first success {load.first_success_after_restart:.3f} s after restart"
    )
    assert load.raw == []
    failed = sum(n for outcome, n in load.outcomes.items() if not outcome.endswith(" ok"))
    assert failed > 0  # the crash was felt
    assert audited == load.outcomes["lookup ok"]
    assert ledger == load.outcomes["ledger ok"]
    assert load.outcomes["avatar ok"] > 0

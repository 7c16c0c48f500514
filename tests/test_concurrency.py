"""Several writers at the same moment, as separate OS processes on one real SQLite file.

The unique `(case_id, seq)` and write transactions that take the lock up front (`BEGIN IMMEDIATE`) are the whole
concurrency story (ARCHITECTURE.md): a writer that loses the race is refused (the stage is already recorded, exit 3)
or told someone else wrote first (exit 6); it never writes a duplicate, and nobody sees "database is locked".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import date
from pathlib import Path


from flows.usecases.audit import verify_cases
from models.store import load_stream
from support import MANDATORY_PATH, Driver, payload

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
JUECE = str(Path(sys.executable).with_name("juece"))


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env["COLUMNS"] = "250"
    return env


def history(ws, case_id: str):
    with ws.engine.connect() as conn:
        return load_stream(conn, case_id)


# A process that waits at a barrier (a file appearing), then becomes the real `juece` command (exec, same pid).
GATED_EXEC = textwrap.dedent(
    """
    import os, sys, time
    go, argv = sys.argv[1], sys.argv[2:]
    open(go + "." + str(os.getpid()), "w").close()      # ready
    while not os.path.exists(go):
        time.sleep(0.001)
    os.execv(argv[0], argv)
    """
)


def start_together(commands: list[list[str]], barrier: Path, *, stdin_files: list[Path]) -> list[subprocess.CompletedProcess]:
    """Start every command, hold them at the barrier until all are ready, release them at once, collect them."""
    procs, inputs = [], [f.open("rb") for f in stdin_files]
    for cmd, stdin in zip(commands, inputs):
        procs.append(subprocess.Popen(
            [PYTHON, "-c", GATED_EXEC, str(barrier), *cmd],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=barrier.parent,
        ))
    deadline = time.monotonic() + 60
    while len(list(barrier.parent.glob(barrier.name + ".*"))) < len(procs):
        assert time.monotonic() < deadline, "the writers never reached the barrier"
        time.sleep(0.01)
    barrier.touch()
    out = []
    for p, cmd, stdin in zip(procs, commands, inputs):
        stdout, stderr = p.communicate(timeout=120)
        stdin.close()
        out.append(subprocess.CompletedProcess(cmd, p.returncode, stdout.decode(), stderr.decode()))
    return out


def test_clerks_recording_the_same_stage_at_the_same_moment_leave_exactly_one_record(case: Driver, tmp_path: Path):
    case.walk(MANDATORY_PATH[:3])  # consultation, participation concluded, expert review
    case.clock_to(date(2025, 10, 20))
    body = tmp_path / "risk.json"
    body.write_text(json.dumps(payload("risk-assessed"), ensure_ascii=False), encoding="utf-8")
    clerks = ["李明", "王强", "周敏", "吴刚", "郑丽", "孙杰"]
    commands = [
        [JUECE, "--home", str(case.ws.home), "--as", f"clerk:{name}", "record", case.case_id, "risk-assessed",
         "--file", "-", "--json"]
        for name in clerks
    ]

    results = start_together(commands, tmp_path / "go", stdin_files=[body] * len(clerks))

    codes = [r.returncode for r in results]
    assert codes.count(0) == 1, [(r.returncode, r.stdout, r.stderr) for r in results]
    assert all(c in (3, 6) for c in codes if c != 0), [(r.returncode, r.stdout, r.stderr) for r in results]
    for r in results:
        assert "Traceback" not in r.stderr
        assert "database is locked" not in r.stderr + r.stdout
        if r.returncode == 3:
            assert json.loads(r.stdout)["error"]["code"] == "SEQ-01"
    events = history(case.ws, case.case_id)
    assert [e.type for e in events].count("risk-assessed") == 1
    (winner,) = [r for r in results if r.returncode == 0]
    (recorded,) = [e for e in events if e.type == "risk-assessed"]
    assert recorded.seq == json.loads(winner.stdout)["seq"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert verify_cases(case.ws).exit_code == 0


# A writer process: waits at the barrier, then runs `juece record … execution-reported` through the real command-line
# entry point (`cli.main`) RECORDS times, retrying when told someone else wrote first (exit 6), as the contract says.
# In-process calls keep 200 records within the time budget on a small machine (each `juece` start costs ~0.35 s CPU).
WRITER = textwrap.dedent(
    """
    import json, os, sys, time, traceback
    home, case_id, worker, records, go, folder = sys.argv[1:7]
    import cli
    open(go + "." + worker, "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    outcomes = []
    for i in range(int(records)):
        path = os.path.join(folder, f"w{worker}-{i}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"reported_on": "2025-12-15", "unit": "市住建局", "status": f"进度报告 {worker}-{i}"}, f,
                      ensure_ascii=False)
        attempts = []
        while True:
            sys.argv = ["juece", "--home", home, "--as", f"clerk:执行员{worker}", "record", case_id,
                        "execution-reported", "--file", path]
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = "crash"
            attempts.append(code)
            if code != 6 or len(attempts) >= 20:
                break
        outcomes.append(attempts)
    print(json.dumps(outcomes))
    """
)


def test_eight_processes_recording_execution_reports_lose_nothing_and_duplicate_nothing(case: Driver, tmp_path: Path):
    case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    case.clock_to(date(2025, 12, 15))
    before = len(history(case.ws, case.case_id))
    workers, records = 8, 25
    barrier = tmp_path / "go"
    folder = tmp_path / "payloads"
    folder.mkdir()
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", WRITER, str(case.ws.home), case.case_id, str(w), str(records), str(barrier), str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=ROOT, text=True,
        )
        for w in range(workers)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.*"))) < workers:
        assert time.monotonic() < deadline, "the writers never reached the barrier"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    barrier.touch()
    outputs = [p.communicate(timeout=120) for p in procs]

    for p, (stdout, stderr) in zip(procs, outputs):
        assert p.returncode == 0, stderr
        assert "database is locked" not in stderr
        assert "Traceback" not in stderr
    outcomes = [json.loads(stdout.splitlines()[-1]) for stdout, _ in outputs]
    final = [attempts[-1] for per_worker in outcomes for attempts in per_worker]
    assert Counter(final) == Counter({0: workers * records}), Counter(final)

    events = history(case.ws, case.case_id)
    reports = [e.payload["status"] for e in events if e.type == "execution-reported"]
    expected = {f"进度报告 {w}-{i}" for w in range(workers) for i in range(records)}
    assert len(reports) == workers * records  # nothing duplicated …
    assert set(reports) == expected  # … and nothing lost
    assert len(events) == before + workers * records
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert verify_cases(case.ws).exit_code == 0


def test_every_sqlite_connection_the_engine_opens_is_durable_and_waits_for_the_lock(ws):
    from flows.usecases.workspace import open_workspace

    engines = [ws.engine, open_workspace(ws.home).engine]
    for engine in engines:
        conns = [engine.connect() for _ in range(3)]  # held at once, so the pool opens three distinct connections
        try:
            assert len({id(c.connection.dbapi_connection) for c in conns}) == 3
            for conn in conns:
                pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
                assert pragma("journal_mode") == "wal"
                assert pragma("synchronous") == 2  # FULL
                assert pragma("foreign_keys") == 1
                assert pragma("busy_timeout") > 0
        finally:
            for conn in conns:
                conn.close()
        engine.dispose()

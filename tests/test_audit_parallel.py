"""`audit verify --jobs N`: the cases split across worker processes give the very report of the single process —
human and JSON, findings, tampering and damage included — on SQLite and PostgreSQL, and leave nothing behind.

The workspaces here are small, so JUECE_VERIFY_PARALLEL_FROM=0 sends them to the workers anyway (by default a
workspace under 50,000 events is verified in-process); each test checks the workers really ran."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import flows.usecases.audit_parallel as parallel
from flows.usecases.audit import verify_cases
from models import store
from models.db import read_transaction
from support import MANDATORY_PATH, Driver, new_workspace, payload
from test_audit_bypass import append_direct

JUECE = str(Path(sys.executable).with_name("juece"))


def populate(ws) -> dict[str, str]:
    """Five cases: clean ones of different lengths, one with a rule finding written behind the engine's back, one
    with an acknowledged warning; returns their ids by role."""
    drivers = {}
    for name, flags in (("walked", ("risk-relevant", "technical")), ("short", ("public-concern",)),
                        ("finding", ("risk-relevant", "technical")), ("tampered", ("risk-relevant", "technical")),
                        ("actor-changed", ("risk-relevant", "technical"))):
        drivers[name] = Driver(ws)
        drivers[name].launch(*flags)  # every case launched first: walking one moves the workspace clock on
    drivers["walked"].walk(MANDATORY_PATH[:4])
    drivers["tampered"].walk(MANDATORY_PATH[:4])
    drivers["actor-changed"].walk(MANDATORY_PATH[:4])
    d = drivers["finding"]
    d.walk(MANDATORY_PATH[:-2])
    append_direct(d, "legality-opinion-issued", payload("legality-opinion-issued", issued_on="2025-10-20"))  # ORD-01
    drivers["walked"].walk(MANDATORY_PATH[4:])
    ids = {name: d.case_id for name, d in drivers.items()}
    return ids


def tamper(ws, ids: dict[str, str]) -> None:
    """One case's event body changed, another's actor column (plain sqlite3, the append-only triggers dropped)."""
    db = sqlite3.connect(Path(ws.database_url.removeprefix("sqlite:///")), isolation_level=None, timeout=30)
    try:
        for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'").fetchall():
            db.execute(f'DROP TRIGGER "{t}"')
        body = db.execute("SELECT body FROM events WHERE case_id = ? AND seq = 3", (ids["tampered"],)).fetchone()[0]
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = 3", (body.replace(b"2025", b"2024", 1), ids["tampered"]))
        db.execute("UPDATE events SET actor = 'clerk:王五' WHERE case_id = ? AND seq = 2", (ids["actor-changed"],))
    finally:
        db.close()


@pytest.fixture
def workers_ran(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the worker pools started (and sends even a small workspace to them)."""
    monkeypatch.setenv("JUECE_VERIFY_PARALLEL_FROM", "0")
    started: list[int] = []
    real = parallel.Workers.__init__

    def spy(self, ws, conn, shares):  # type: ignore[no-untyped-def]
        started.append(len(shares.parts))
        real(self, ws, conn, shares)

    monkeypatch.setattr(parallel.Workers, "__init__", spy)
    return started


def children() -> list[int]:
    """Live child processes of this process, but multiprocessing's resource tracker (one per parent process, started
    with the first worker pool, ending when the parent ends)."""
    me = str(os.getpid())
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z" and b"resource_tracker" not in cmdline:
            out.append(int(stat.parent.name))
    return out


def marked(mark: str) -> list[int]:
    """Live processes whose environment carries `mark` (a command's process and everything it started)."""
    out = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if mark.encode() in environ.read_bytes():
                out.append(int(environ.parent.name))
        except OSError:
            continue
    return out


def test_two_workers_give_the_single_process_report_with_findings_and_tampering(ws, workers_ran):
    ids = populate(ws)
    tamper(ws, ids)
    before_children = children()
    files = sorted(p.name for p in ws.home.rglob("*"))
    one = verify_cases(ws, jobs=1)
    assert workers_ran == []
    two = verify_cases(ws, jobs=2)
    assert workers_ran == [2]
    assert two.to_json() == one.to_json()
    assert two == one
    by_id = {v.case_id: v for v in two.cases}
    assert [f["rule"] for f in by_id[ids["finding"]].findings] == ["ORD-01"]
    assert by_id[ids["tampered"]].broken.seq == 3 and by_id[ids["actor-changed"]].broken.seq == 2
    assert two.exit_code == 4
    # the named cases, in the order named (one named twice), the same way
    named = [ids["finding"], ids["walked"], ids["finding"], ids["short"]]
    assert verify_cases(ws, named, jobs=2).to_json() == verify_cases(ws, named, jobs=1).to_json()
    assert workers_ran == [2, 2]
    assert children() == before_children
    assert sorted(p.name for p in ws.home.rglob("*")) == files


def test_more_jobs_than_cases_use_one_worker_a_case(ws, workers_ran):
    populate(ws)
    assert verify_cases(ws, jobs=64).to_json() == verify_cases(ws, jobs=1).to_json()
    assert workers_ran == [5]


def test_below_the_threshold_the_verification_stays_in_this_process(ws, workers_ran, monkeypatch):
    populate(ws)
    monkeypatch.delenv("JUECE_VERIFY_PARALLEL_FROM")
    assert verify_cases(ws, jobs=2).exit_code == 5
    assert workers_ran == []
    with read_transaction(ws.engine) as conn:
        assert parallel.plan(conn, (), 2) is None  # a few hundred events, under PARALLEL_FROM
        shares = parallel.plan(conn, (), 2, threshold=0)
        every = store.all_stream_ids(conn)
    assert shares is not None and sorted(sum(shares.parts, [])) == sorted(every) and len(shares.parts) == 2


def test_an_unknown_case_is_named_as_by_the_single_process(ws, workers_ran):
    from policies.errors import UnknownCase

    populate(ws)
    with pytest.raises(UnknownCase):
        verify_cases(ws, ["JC-2099-0001"], jobs=2)


def test_postgresql_two_workers_on_the_parents_snapshot_give_the_same_report(tmp_path, monkeypatch, workers_ran):
    from conftest import backend_workspace

    gen = backend_workspace("postgresql", tmp_path, monkeypatch)
    ws = next(gen)
    try:
        ids = populate(ws)
        one = verify_cases(ws, jobs=1)
        two = verify_cases(ws, jobs=2)
        assert workers_ran == [2]
        assert two.to_json() == one.to_json() and two.exit_code == 5
        assert [f["rule"] for v in two.cases if v.case_id == ids["finding"] for f in v.findings] == ["ORD-01"]
    finally:
        next(gen, None)


MARK = f"juece-verify-test-{os.getpid()}"


def juece_env(home: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env.update(COLUMNS="250", JUECE_VERIFY_PARALLEL_FROM="0", JUECE_TEST_MARK=MARK)
    proc = subprocess.run([JUECE, "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_comments_and_dispositions_are_checked_by_the_workers_as_by_the_single_process(ws, workers_ran, tmp_path):
    """The workers read the comment and disposition tables through plain sqlite3 (flows/usecases/audit_parallel.py),
    the single process through SQLAlchemy: rows as recorded, a changed comment, a deleted disposition and rows filed
    under no case give the same verdicts either way."""
    from flows.usecases.comment_dispositions import record_disposition
    from flows.usecases.comments import import_comments
    from support import CLERK

    cases = {name: Driver(ws) for name in ("changed", "disposed", "clean")}
    for d in cases.values():
        d.launch("risk-relevant", "technical")
    for i, d in enumerate(cases.values()):
        d.record("consultation-opened")
        rows = [{"submitted_at": "2025-09-15T10:30:00+08:00", "channel": "政府网站", "author": f"市民{j}",
                 "text": f"第{i}号意见：{'同意' if j % 3 else '建议延长征求意见期限'}，编号{j % 7}"} for j in range(40)]
        src = tmp_path / f"comments-{i}.jsonl"
        src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
        import_comments(ws, CLERK, d.case_id, src)
        record_disposition(ws, CLERK, d.case_id, "cluster:1", "not-adopted", "超出本决策事项范围")
    clean = verify_cases(ws, jobs=2)
    assert workers_ran == [2] and clean.exit_code == 0, clean.to_json()
    assert clean.to_json() == verify_cases(ws, jobs=1).to_json()

    db = sqlite3.connect(Path(ws.database_url.removeprefix("sqlite:///")), isolation_level=None, timeout=30)
    try:
        for table in ("comments", "dispositions"):
            for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=?", (table,)).fetchall():
                db.execute(f'DROP TRIGGER "{t}"')
        db.execute("UPDATE comments SET text = '被篡改的意见' WHERE id = (SELECT min(id) FROM comments WHERE case_id = ?)",
                   (cases["changed"].case_id,))
        db.execute("DELETE FROM dispositions WHERE case_id = ?", (cases["disposed"].case_id,))
        db.execute("UPDATE comments SET case_id = 'JC-2099-0001' WHERE id = (SELECT max(id) FROM comments WHERE case_id = ?)",
                   (cases["clean"].case_id,))
    finally:
        db.close()
    one, two = verify_cases(ws, jobs=1), verify_cases(ws, jobs=2)
    assert workers_ran == [2, 2]
    assert two.to_json() == one.to_json()
    by_id = {v.case_id: v for v in two.cases}
    assert not by_id[cases["changed"].case_id].intact and "1 row changed" in by_id[cases["changed"].case_id].problem
    assert not by_id[cases["disposed"].case_id].intact and "missing from the dispositions table" in by_id[cases["disposed"].case_id].problem
    assert not by_id[cases["clean"].case_id].intact and not two.workspace.intact and "JC-2099-0001" in two.workspace.problem
    assert two.exit_code == 4


def test_the_command_line_report_is_the_same_with_jobs_1_and_2(tmp_path, monkeypatch):
    monkeypatch.delenv("JUECE_DATABASE_URL", raising=False)
    ws = new_workspace(tmp_path / "ws")
    ids = populate(ws)
    tamper(ws, ids)
    ws.engine.dispose()
    human1, human2 = juece_env(ws.home, "audit", "verify", "--jobs", "1"), juece_env(ws.home, "audit", "verify", "--jobs", "2")
    assert human1[0] == human2[0] == 4 and human1[1] == human2[1] and ids["tampered"] in human1[1]
    j1, j2 = juece_env(ws.home, "audit", "verify", "--json", "--jobs", "1"), juece_env(ws.home, "audit", "verify", "--json")
    assert j1[0] == j2[0] == 4 and json.loads(j1[1]) == json.loads(j2[1])
    assert marked(MARK) == []  # the workers and multiprocessing's resource tracker ended with the command
    code, _, err = juece_env(ws.home, "audit", "verify", "--jobs", "0")
    assert code == 2 and "--jobs" in err


def test_a_damaged_store_is_exit_4_from_the_workers_too(tmp_path, monkeypatch):
    from damage_kinds import retyped_column, settle

    monkeypatch.delenv("JUECE_DATABASE_URL", raising=False)
    ws = new_workspace(tmp_path / "ws")
    populate(ws)
    ws.engine.dispose()
    db = Path(ws.database_url.removeprefix("sqlite:///"))
    settle(db)
    retyped_column(db)
    for jobs in ("1", "2"):
        code, out, err = juece_env(ws.home, "audit", "verify", "--jobs", jobs)
        assert code == 4, (jobs, out, err)
        assert "Traceback" not in err + out

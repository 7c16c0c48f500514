"""Storage faults: kill -9 around the real `record` command loses no acknowledged record and leaves no half-written
one; a seeded-bug control proves the harness can fail; a full disk is a typed error with nothing written, and the
retried command (same idempotency key) records exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from flows.usecases.audit import verify_cases
from flows.usecases.record import record_event
from policies.errors import StorageFailure
from support import CLERK, MANDATORY_PATH, payload

JUECE = str(Path(sys.executable).with_name("juece"))
KILLS = int(os.environ.get("JUECE_CRASH_KILLS", "50"))


@pytest.fixture
def executing(case):
    """A published case, so that execution reports can be recorded over and over."""
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published", "execution-reported"])
    return case


def keys_in_store(ws) -> set[str]:
    with ws.engine.connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT idempotency_key FROM events"))}


def crash_loop(ws, case_id: str, tmp: Path, kills: int, command, *, at_ack: bool = False) -> tuple[set[str], list[str]]:
    """Start `command` for fresh keys and kill -9 it — at a random moment, or (`at_ack`) the instant it acknowledges.

    Returns (acknowledged keys, all keys): a key is acknowledged when the command printed "recorded" before dying.
    """
    rng = random.Random(20251127)
    acknowledged: set[str] = set()
    keys = []
    for i in range(kills):
        key = f"crash-{i}"
        keys.append(key)
        f = tmp / f"{key}.json"
        f.write_text(json.dumps(payload("execution-reported", status=f"第{i}次报告")), encoding="utf-8")
        proc = subprocess.Popen(command(key, f), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if at_ack:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            if "recorded" in line:
                acknowledged.add(key)
            continue
        time.sleep(rng.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        if "recorded" in out:
            acknowledged.add(key)
    return acknowledged, keys


def test_kill_9_during_record_loses_no_acknowledged_record_and_breaks_nothing(executing, tmp_path):
    ws, case_id = executing.ws, executing.case_id

    def command(key: str, f: Path) -> list[str]:
        return [JUECE, "--home", str(ws.home), "--as", "clerk:李明", "record", case_id, "execution-reported",
                "--file", str(f), "--idempotency-key", key]

    acknowledged, keys = crash_loop(ws, case_id, tmp_path, KILLS, command)
    # The same harness, killing the real command the instant it acknowledges, must lose nothing either.
    more, more_keys = crash_loop(ws, case_id, tmp_path, 5, lambda k, f: command(k + "-ack", f), at_ack=True)
    assert {k + "-ack" for k in more} <= keys_in_store(ws)
    stored = keys_in_store(ws)
    assert acknowledged <= stored, f"acknowledged but lost: {sorted(acknowledged - stored)}"
    report = verify_cases(ws)
    assert report.exit_code == 0 and report.cases[0].intact
    assert executing.show().events == report.cases[0].events  # state = replay(history)
    # Retrying every command, killed or not, records each exactly once (the error-but-committed case included).
    for key in keys:
        r = record_event(ws, CLERK, case_id, "execution-reported",
                         json.loads((tmp_path / f"{key}.json").read_text(encoding="utf-8")), idempotency_key=key)
        assert r.repeated == (key in stored)
    with ws.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM events WHERE idempotency_key LIKE 'crash-%' "
                              "AND idempotency_key NOT LIKE '%-ack'")).scalar_one()
    assert n == KILLS
    print(f"\n{KILLS} kills: {len(acknowledged)} acknowledged before the kill, {len(stored & set(keys))} committed, 0 lost")


BUGGY_CLIENT = r'''
import json, sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from flows.usecases.workspace import open_workspace
from flows.usecases.record import record_in, validate_payload
from models.db import write_transaction
from support import CLERK
ws = open_workspace({home!r})
data = json.loads(open(sys.argv[2], encoding="utf-8").read())
with write_transaction(ws.engine) as conn:
    rec, refusal = record_in(conn, CLERK, {case!r}, "execution-reported", validate_payload("execution-reported", data), {{}}, sys.argv[1])
    print("recorded", flush=True)   # THE SEEDED BUG: acknowledged before the commit
    time.sleep(0.4)
'''


def test_the_harness_catches_a_seeded_bug_that_acknowledges_before_committing(executing, tmp_path):
    ws, case_id = executing.ws, executing.case_id
    script = tmp_path / "buggy.py"
    root = str(Path(__file__).resolve().parents[1])
    script.write_text(BUGGY_CLIENT.format(root=root, tests=str(Path(__file__).parent), home=str(ws.home), case=case_id))

    def command(key: str, f: Path) -> list[str]:
        return [sys.executable, str(script), key, str(f)]

    acknowledged, _ = crash_loop(ws, case_id, tmp_path, 8, command, at_ack=True)
    lost = acknowledged - keys_in_store(ws)
    assert acknowledged and lost == acknowledged, "the seeded bug must lose what it acknowledged, or the harness cannot fail"
    assert verify_cases(ws).exit_code == 0  # nothing half-written even so


def test_a_full_disk_is_a_typed_error_with_nothing_written_and_the_retry_records_once(executing):
    ws, case_id = executing.ws, executing.case_id
    before = executing.show().events
    with ws.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()

    def limit(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    class Limited(sqlite3.Connection):  # the record path's plain sqlite3 connections (models.db.SqliteStore)
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            limit(self, None)

    from models.db import SqliteStore

    ws.engine.dispose()
    event.listen(ws.engine, "connect", limit)
    ws.__dict__["_sqlite_store"] = SqliteStore.from_url(ws.database_url, factory=Limited)
    big = payload("execution-reported", status="执行情况" * 3000)
    with pytest.raises(StorageFailure) as exc:
        record_event(ws, CLERK, case_id, "execution-reported", big, idempotency_key="disk-full-1")
    assert exc.value.exit_code == 1 and "nothing was written" in exc.value.message
    event.remove(ws.engine, "connect", limit)
    del ws.__dict__["_sqlite_store"]
    ws.engine.dispose()
    assert executing.show().events == before
    first = record_event(ws, CLERK, case_id, "execution-reported", big, idempotency_key="disk-full-1")
    again = record_event(ws, CLERK, case_id, "execution-reported", big, idempotency_key="disk-full-1")
    assert not first.repeated and again.repeated and executing.show().events == before + 1
    assert verify_cases(ws).exit_code == 0


def test_a_really_full_file_system_is_a_typed_error_with_nothing_written(tmp_path):
    """The workspace on a 1 MiB tmpfs that fills up: a real ENOSPC, not a page-count limit."""
    from support import Driver, new_workspace

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    d = None
    try:
        d = Driver(new_workspace(mnt / "ws"))
        d.launch("risk-relevant", "technical")
        d.record("consultation-opened")
        d.clock_to(__import__("datetime").date(2025, 9, 18))
        before = d.show().events
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # leave nothing free
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        big = payload("participation-activity-held", description="座谈会记录" * 4000)
        with pytest.raises(StorageFailure):
            record_event(d.ws, CLERK, d.case_id, "participation-activity-held", big, idempotency_key="enospc")
        filler.unlink()
        d.ws.engine.dispose()
        assert d.show().events == before
        r = record_event(d.ws, CLERK, d.case_id, "participation-activity-held", big, idempotency_key="enospc")
        assert not r.repeated and d.show().events == before + 1
        assert verify_cases(d.ws).exit_code == 0
    finally:
        if d is not None:
            d.ws.engine.dispose()
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


class _FailingCommit(sqlite3.Connection):
    """A pysqlite connection whose commit fails with a disk I/O error — before the commit, or after it succeeded
    (the acknowledgement lost: "error, but committed")."""

    mode = "off"  # off | before | after

    def commit(self) -> None:  # type: ignore[override]
        if _FailingCommit.mode == "before":
            raise sqlite3.OperationalError("disk I/O error")
        super().commit()
        if _FailingCommit.mode == "after":
            raise sqlite3.OperationalError("disk I/O error")


@pytest.fixture
def faulty(executing):
    from models.db import make_engine

    from models.db import SqliteStore

    executing.ws.engine.dispose()
    executing.ws.__dict__["engine"] = make_engine(executing.ws.database_url, connect_args={"factory": _FailingCommit})
    # the record path's plain sqlite3 connections (models.db.SqliteStore) fail the same way
    executing.ws.__dict__["_sqlite_store"] = SqliteStore.from_url(executing.ws.database_url, factory=_FailingCommit)
    yield executing
    _FailingCommit.mode = "off"
    executing.ws.engine.dispose()


def test_an_io_error_before_the_commit_is_a_typed_error_with_nothing_written(faulty):
    before = faulty.show().events
    _FailingCommit.mode = "before"
    with pytest.raises(StorageFailure) as exc:
        record_event(faulty.ws, CLERK, faulty.case_id, "execution-reported", payload("execution-reported", status="I/O"),
                     idempotency_key="eio-1")
    assert exc.value.exit_code == 1 and "disk i/o error" in exc.value.message.lower()
    _FailingCommit.mode = "off"
    assert faulty.show().events == before
    assert not record_event(faulty.ws, CLERK, faulty.case_id, "execution-reported",
                            payload("execution-reported", status="I/O"), idempotency_key="eio-1").repeated


def test_an_io_error_after_a_successful_commit_is_resolved_by_the_idempotency_key(faulty):
    before = faulty.show().events
    _FailingCommit.mode = "after"
    with pytest.raises(StorageFailure):
        record_event(faulty.ws, CLERK, faulty.case_id, "execution-reported", payload("execution-reported", status="ack lost"),
                     idempotency_key="eio-2")
    _FailingCommit.mode = "off"
    assert faulty.show().events == before + 1  # it was committed after all
    again = record_event(faulty.ws, CLERK, faulty.case_id, "execution-reported",
                         payload("execution-reported", status="ack lost"), idempotency_key="eio-2")
    assert again.repeated and faulty.show().events == before + 1  # the retry finds it: written once
    assert verify_cases(faulty.ws).exit_code == 0

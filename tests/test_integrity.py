"""Tamper-evidence of the event history: an attacker edits the SQLite file behind the engine's back.

Every test here opens the real workspace database with the standard library's `sqlite3`, as someone with access to
the file would, drops the append-only triggers first (they are only a guard against mistakes, not against the owner
of the file), changes the history, and then asks both the use case (`flows.usecases.audit.verify_cases`) and the real
`juece audit verify --json` command whether the history is intact. Both must answer with exit 4, name the case, and
point at the first event that was touched.

What a hash chain alone cannot see, and these tests therefore do not claim: removing the *last* event(s) of a stream
(the shorter chain is still a valid chain), appending a correctly hashed forged event at the end, or rewriting a
stream from some event onwards with every later hash recomputed. Catching those needs a checkpoint (tree size, head
hash, Merkle root) kept outside the database; see ARCHITECTURE.md, "The event history".
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from flows.usecases.audit import verify_cases
from flows.usecases.workspace import Workspace
from models.canonical import canonical_bytes, chain_hash
from models.store import WORKSPACE_STREAM
from support import MANDATORY_PATH, Driver

JUECE = str(Path(sys.executable).with_name("juece"))


# --- the attacker's tools: plain sqlite3 on the workspace file -----------------------------------------------


def database_file(ws: Workspace) -> Path:
    return (ws.home / "juece.db").resolve()


def attacker(ws: Workspace, *, drop_triggers: bool = True) -> sqlite3.Connection:
    """A raw connection to the workspace's database, with the append-only triggers dropped (as an attacker would)."""
    db = sqlite3.connect(database_file(ws), isolation_level=None, timeout=30)
    if drop_triggers:
        db.execute("DROP TRIGGER IF EXISTS events_no_update")
        db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return db


def row(db: sqlite3.Connection, case_id: str, seq: int) -> dict[str, Any]:
    cur = db.execute("SELECT * FROM events WHERE case_id = ? AND seq = ?", (case_id, seq))
    names = [c[0] for c in cur.description]
    found = cur.fetchone()
    assert found is not None, f"no event {case_id} #{seq}"
    return dict(zip(names, found))


def seq_of(db: sqlite3.Connection, case_id: str, event_type: str) -> int:
    (seq,) = db.execute("SELECT seq FROM events WHERE case_id = ? AND type = ?", (case_id, event_type)).fetchone()
    return seq


def last_seq(db: sqlite3.Connection, case_id: str) -> int:
    return db.execute("SELECT max(seq) FROM events WHERE case_id = ?", (case_id,)).fetchone()[0]


def shift_up(db: sqlite3.Connection, case_id: str, from_seq: int) -> None:
    """Renumber events from `from_seq` on by +1 (highest first, so the unique (case_id, seq) never collides)."""
    for (seq,) in db.execute(
        "SELECT seq FROM events WHERE case_id = ? AND seq >= ? ORDER BY seq DESC", (case_id, from_seq)
    ).fetchall():
        db.execute("UPDATE events SET seq = seq + 1 WHERE case_id = ? AND seq = ?", (case_id, seq))


def forged_row(template: dict[str, Any], *, seq: int, prev_hash: str, payload: dict[str, Any], key: str) -> dict[str, Any]:
    """A forged event whose columns agree with its own body; its hash is computed the way the engine does it."""
    envelope = json.loads(template["body"])
    envelope.update(seq=seq, idempotency_key=key, payload=payload)
    body = canonical_bytes(envelope)
    forged = {k: v for k, v in template.items() if k != "position"}
    forged.update(seq=seq, idempotency_key=key, body=body, prev_hash=prev_hash,
                  hash=chain_hash(bytes.fromhex(prev_hash), body).hex())
    return forged


def insert(db: sqlite3.Connection, values: dict[str, Any]) -> None:
    cols = ", ".join(values)
    db.execute(f"INSERT INTO events ({cols}) VALUES ({', '.join('?' for _ in values)})", tuple(values.values()))


# --- the two verifiers: the use case and the command ----------------------------------------------------------


def cli_verify(ws: Workspace, *cases: str) -> tuple[int, dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    proc = subprocess.run(
        [JUECE, "--home", str(ws.home), "audit", "verify", *cases, "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def assert_broken_at(ws: Workspace, case_id: str, seq: int, *, reason: str = "") -> None:
    """Both verifiers say exit 4, name `case_id`, and put its first break at `seq`."""
    report = verify_cases(ws)
    assert report.exit_code == 4
    verdict = next(v for v in report.cases if v.case_id == case_id)
    assert not verdict.intact
    assert verdict.broken is not None, verdict.problem
    assert (verdict.broken.case_id, verdict.broken.seq) == (case_id, seq)
    assert case_id in verdict.broken.sentence()
    assert reason in verdict.broken.reason

    code, out, err = cli_verify(ws)
    assert code == 4, err
    assert "Traceback" not in err
    (named,) = [c for c in out["cases"] if c["case_id"] == case_id]
    assert named["intact"] is False
    assert named["broken_at"]["seq"] == seq
    assert out["exit_code"] == 4


@pytest.fixture
def walked(case: Driver) -> Driver:
    """The case fixture walked through the five mandatory stages (launch … meeting-held, 8 events)."""
    case.walk(MANDATORY_PATH)
    return case


# --- an untouched history, and the triggers ---------------------------------------------------------------------


def test_an_untouched_history_verifies_intact_with_exit_0(walked: Driver):
    report = verify_cases(walked.ws)
    assert report.exit_code == 0
    assert [(v.case_id, v.intact, v.events) for v in report.cases] == [(walked.case_id, True, 1 + len(MANDATORY_PATH))]
    assert report.workspace is not None and report.workspace.intact
    code, out, err = cli_verify(walked.ws)
    assert code == 0, err
    assert [(c["case_id"], c["intact"]) for c in out["cases"]] == [(walked.case_id, True)]
    assert out["workspace"]["intact"] is True
    assert all("broken_at" not in c for c in out["cases"])


def test_a_raw_update_of_an_event_is_refused_by_the_append_only_trigger(walked: Driver):
    with closing(attacker(walked.ws, drop_triggers=False)) as db:
        before = row(db, walked.case_id, 3)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET actor = 'clerk:王五' WHERE case_id = ? AND seq = 3", (walked.case_id,))
        assert row(db, walked.case_id, 3) == before
    assert verify_cases(walked.ws).exit_code == 0


def test_a_raw_delete_of_an_event_is_refused_by_the_append_only_trigger(walked: Driver):
    with closing(attacker(walked.ws, drop_triggers=False)) as db:
        count = db.execute("SELECT count(*) FROM events").fetchone()[0]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events WHERE case_id = ? AND seq = 4", (walked.case_id,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events")
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == count
    assert verify_cases(walked.ws).exit_code == 0


# --- tampering with one case ------------------------------------------------------------------------------------


def test_changing_a_date_inside_one_events_body_breaks_the_case_at_that_event(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        seq = seq_of(db, walked.case_id, "risk-assessed")
        body = row(db, walked.case_id, seq)["body"]
        assert body.count(b'"assessed_on":"2025-10-20"') == 1
        forged = body.replace(b'"assessed_on":"2025-10-20"', b'"assessed_on":"2025-10-13"')
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?", (forged, walked.case_id, seq))
    assert_broken_at(walked.ws, walked.case_id, seq, reason="does not match its hash")


def test_changing_only_the_actor_column_breaks_the_case_at_that_event(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        seq = seq_of(db, walked.case_id, "participation-concluded")
        db.execute("UPDATE events SET actor = 'clerk:王五' WHERE case_id = ? AND seq = ?", (walked.case_id, seq))
    assert_broken_at(walked.ws, walked.case_id, seq, reason="actor")


def test_deleting_an_event_in_the_middle_breaks_the_case_at_the_missing_position(walked: Driver):
    """Deleting a middle event leaves a gap in `seq` and a dangling `prev_hash`; the break is at the gap.

    Deleting the LAST event is a different matter: what remains is a shorter chain that is valid in every link, so
    the chain alone cannot notice it. Only a checkpoint (tree size and head hash) kept outside the database can; no
    test here pretends otherwise.
    """
    with closing(attacker(walked.ws)) as db:
        seq = seq_of(db, walked.case_id, "expert-review-concluded")
        assert seq < last_seq(db, walked.case_id)
        db.execute("DELETE FROM events WHERE case_id = ? AND seq = ?", (walked.case_id, seq))
    assert_broken_at(walked.ws, walked.case_id, seq, reason="missing")


def test_deleting_a_middle_event_and_closing_the_gap_in_seq_still_breaks_the_case_there(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        seq = seq_of(db, walked.case_id, "expert-review-concluded")
        db.execute("DELETE FROM events WHERE case_id = ? AND seq = ?", (walked.case_id, seq))
        for later in range(seq + 1, last_seq(db, walked.case_id) + 1):
            db.execute("UPDATE events SET seq = ? WHERE case_id = ? AND seq = ?", (later - 1, walked.case_id, later))
    assert_broken_at(walked.ws, walked.case_id, seq, reason="prev_hash")


def test_swapping_the_bodies_of_two_events_breaks_the_case_at_the_first_of_them(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        a = seq_of(db, walked.case_id, "participation-concluded")
        b = seq_of(db, walked.case_id, "expert-review-concluded")
        body_a, body_b = row(db, walked.case_id, a)["body"], row(db, walked.case_id, b)["body"]
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?", (body_b, walked.case_id, a))
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?", (body_a, walked.case_id, b))
    assert_broken_at(walked.ws, walked.case_id, min(a, b))


def test_a_forged_event_with_a_made_up_hash_breaks_the_case_at_the_forgery(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        at = seq_of(db, walked.case_id, "risk-assessed")
        template = row(db, walked.case_id, at)
        shift_up(db, walked.case_id, at)
        forged = forged_row(template, seq=at, prev_hash=template["prev_hash"],
                            payload={**json.loads(template["body"])["payload"], "level": "high"}, key="forged-1")
        forged["hash"] = hashlib.sha256(b"whatever the forger guessed").hexdigest()
        insert(db, forged)
    assert_broken_at(walked.ws, walked.case_id, at, reason="does not match its hash")


def test_a_correctly_hashed_forged_event_in_the_middle_breaks_the_case_at_the_genuine_event_after_it(walked: Driver):
    """A forger who knows the hashing can make the forged event chain onto its predecessor; the first break is then
    the genuine event that followed (now renumbered), whose `prev_hash` still names the event before the forgery."""
    with closing(attacker(walked.ws)) as db:
        at = seq_of(db, walked.case_id, "risk-assessed")
        template = row(db, walked.case_id, at)
        shift_up(db, walked.case_id, at)
        payload = {**json.loads(template["body"])["payload"], "level": "high", "controllable": False}
        insert(db, forged_row(template, seq=at, prev_hash=template["prev_hash"], payload=payload, key="forged-2"))
    assert_broken_at(walked.ws, walked.case_id, at + 1, reason="prev_hash")


def test_a_forged_event_appended_with_a_made_up_hash_breaks_the_case_at_the_new_last_event(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        last = row(db, walked.case_id, last_seq(db, walked.case_id))
        forged = forged_row(last, seq=last["seq"] + 1, prev_hash=last["hash"], payload=json.loads(last["body"])["payload"],
                            key="forged-3")
        forged["hash"] = "00" * 32
        insert(db, forged)
    assert_broken_at(walked.ws, walked.case_id, last["seq"] + 1, reason="does not match its hash")


def test_tampering_with_one_case_names_that_case_and_leaves_the_others_intact(walked: Driver):
    other = Driver(walked.ws)
    other.launch("technical", title="三亚市公共停车场建设规划")
    other.record("consultation-opened", published_on="2025-11-04", deadline="2025-12-10")
    with closing(attacker(walked.ws)) as db:
        db.execute("UPDATE events SET role = 'legal-office' WHERE case_id = ? AND seq = 2", (walked.case_id,))
    assert_broken_at(walked.ws, walked.case_id, 2, reason="role")
    report = verify_cases(walked.ws)
    assert next(v for v in report.cases if v.case_id == other.case_id).intact
    code, out, _ = cli_verify(walked.ws, other.case_id)
    assert code == 0
    assert [(c["case_id"], c["intact"]) for c in out["cases"]] == [(other.case_id, True)]


# --- the @workspace stream: clock moves and calendar loads are part of the record --------------------------------


def _workspace_broken_at(ws: Workspace, seq: int) -> None:
    report = verify_cases(ws)
    assert report.exit_code == 4
    assert report.workspace is not None and not report.workspace.intact
    assert report.workspace.broken is not None
    assert (report.workspace.broken.case_id, report.workspace.broken.seq) == (WORKSPACE_STREAM, seq)
    code, out, err = cli_verify(ws)
    assert code == 4, err
    assert out["workspace"]["case_id"] == WORKSPACE_STREAM
    assert out["workspace"]["intact"] is False
    assert out["workspace"]["broken_at"]["seq"] == seq


def test_a_tampered_clock_move_in_the_workspace_stream_is_reported_at_that_event(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        (seq,) = db.execute(
            "SELECT min(seq) FROM events WHERE case_id = ? AND type = 'clock-set'", (WORKSPACE_STREAM,)
        ).fetchone()
        body = row(db, WORKSPACE_STREAM, seq)["body"]
        assert b'"moved_to":"2025-09-01T18:00:00+08:00"' in body
        forged = body.replace(b'"moved_to":"2025-09-01T18:00:00+08:00"', b'"moved_to":"2025-08-31T18:00:00+08:00"')
        db.execute("UPDATE events SET body = ? WHERE case_id = ? AND seq = ?", (forged, WORKSPACE_STREAM, seq))
    _workspace_broken_at(walked.ws, seq)


def test_a_deleted_clock_move_in_the_middle_of_the_workspace_stream_is_reported_at_the_gap(walked: Driver):
    with closing(attacker(walked.ws)) as db:
        assert last_seq(db, WORKSPACE_STREAM) > 3
        db.execute("DELETE FROM events WHERE case_id = ? AND seq = 3", (WORKSPACE_STREAM,))
    _workspace_broken_at(walked.ws, 3)


@pytest.mark.parametrize("body, reason", [
    (b"[1,2,3]", "not a recorded event"),
    (b'"an event"', "not a recorded event"),
    (b"42", "not a recorded event"),
    (None, "idempotency_key column disagrees"),  # an object without one of the seven columns' keys
])
def test_a_correctly_hashed_last_event_whose_body_is_no_event_object_breaks_the_case_there(walked: Driver, body, reason):
    """Appended with a hash the engine would compute, a body that is JSON but not an event's object (or an object that
    leaves out a column's key) is named at its own seq — it was an AttributeError's traceback for a non-object."""
    with closing(attacker(walked.ws)) as db:
        last = row(db, walked.case_id, last_seq(db, walked.case_id))
        forged = forged_row(last, seq=last["seq"] + 1, prev_hash=last["hash"], payload={}, key="forged-4")
        if body is None:
            envelope = json.loads(forged["body"])
            del envelope["idempotency_key"]
            body = canonical_bytes(envelope)
        forged.update(body=body, hash=chain_hash(bytes.fromhex(last["hash"]), body).hex())
        insert(db, forged)
    assert_broken_at(walked.ws, walked.case_id, last["seq"] + 1, reason=reason)

"""What the hash chain alone catches, and what a checkpoint kept outside the database adds, measured.

A 1,000-event history (20 cases × 50 events, appended round-robin so streams interleave in global order) is built
once with `models.store.append` on a real SQLite file. A signed checkpoint is taken of it — tree size, RFC 9162
Merkle root over every event in position order (leaf data = the event's chain hash, models/merkle.py), head hash —
and kept "outside" (in memory here). Then, per trial, a copy of the pristine file is handed to an attacker who uses
the standard library's `sqlite3`, drops the append-only triggers, and tampers in one of six ways at random places:

    modify-body     change one event's stored body (its hash left alone)
    delete-middle   delete one event from the middle of a stream
    swap-bodies     swap the bodies of two events
    insert-forged   insert a correctly hashed forged event in the middle of a stream (later events renumbered,
                    in the stream and in global order)
    truncate-tail   delete the last k events of the last case (1 <= k <= 49)
    rewrite-all     re-create every event with changed content and a correctly recomputed chain

`detect` is what an auditor runs: the chain check (`models.integrity.verify_stream`) over every stream, and, when a
checkpoint from before the tampering is given, the Merkle root and head hash of the first `tree_size` events.

The documented result (asserted below): with the checkpoint every trial of every kind is detected; the chain alone
detects every trial of the first four kinds and *none* of truncate-tail and rewrite-all — a shorter valid chain, or a
whole new valid chain, is still a valid chain. That is why the engine keeps checkpoints (ARCHITECTURE.md, "The event
history").

By default each kind runs TRIALS (100) random trials; set JUECE_TAMPER_TRIALS to change that.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine

from models.canonical import GENESIS, canonical_bytes, chain_hash
from models.checkpoint import Checkpoint, generate_key, sign_checkpoint, verify_checkpoint
from models.db import make_engine, read_transaction, write_transaction
from models.integrity import verify_stream
from models.merkle import TreeBuilder, leaf_hash, root_of_events
from models.store import (
    WORKSPACE_STREAM,
    NewEvent,
    all_stream_ids,
    append,
    create_schema,
    iter_all,
    load_stream,
    utc_text,
)

CASES = 20
EVENTS_PER_CASE = 50
TOTAL = CASES * EVENTS_PER_CASE
TRIALS = int(os.environ.get("JUECE_TAMPER_TRIALS", "100"))
START = datetime(2025, 8, 25, 1, 0, tzinfo=timezone.utc)


# --- the auditor ------------------------------------------------------------------------------------------------


def detect(engine: Engine, checkpoint: Checkpoint | None, *, public_key: Ed25519PublicKey | None = None) -> bool:
    """True when the history is found tampered with.

    (a) the hash chain of every stream; (b) with a checkpoint taken earlier (and, when a key is given, whose
    signature holds): the history still has at least `tree_size` events, and the Merkle root over the first
    `tree_size` of them in position order, and the hash of the last of those, are the checkpoint's.
    """
    with read_transaction(engine) as conn:
        if chain_broken(conn):
            return True
        return checkpoint is not None and checkpoint_broken(conn, checkpoint, public_key)


def chain_broken(conn: Connection) -> bool:
    """(a): some stream's chain does not hold."""
    return any(verify_stream(load_stream(conn, s)) is not None for s in [*all_stream_ids(conn), WORKSPACE_STREAM])


def checkpoint_broken(conn: Connection, checkpoint: Checkpoint, public_key: Ed25519PublicKey | None) -> bool:
    """(b): the history no longer extends the checkpoint (or the checkpoint's signature does not hold)."""
    if public_key is not None and not verify_checkpoint(checkpoint, public_key):
        return True
    builder = TreeBuilder()
    head = GENESIS.hex()
    for ev in iter_all(conn):
        if builder.size == checkpoint.tree_size:
            break
        try:
            builder.append(leaf_hash(bytes.fromhex(ev.hash)))
        except ValueError:  # not even a hash
            return True
        head = ev.hash
    if builder.size < checkpoint.tree_size:
        return True
    return builder.root() != checkpoint.root or head != checkpoint.head_hash


# --- the pristine history ---------------------------------------------------------------------------------------


def case_id(i: int) -> str:
    return f"JC-2025-{i + 1:04d}"


def build_history(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    histories: dict[str, list[Any]] = {case_id(c): [] for c in range(CASES)}
    n = 0
    with write_transaction(engine) as conn:
        for seq in range(1, EVENTS_PER_CASE + 1):
            for c in range(CASES):
                cid = case_id(c)
                n += 1
                ev = NewEvent(
                    type="case-launched" if seq == 1 else "execution-reported",
                    schema_version=1,
                    payload={"report_no": seq, "status": "on-track", "note": f"第{seq}次执行情况报告", "amount": 1000 * seq},
                    actor="张三 (执行单位)",
                    role="executor",
                    idempotency_key=f"k-{cid}-{seq}",
                    policy="cn-2019",
                    policy_hash="ab" * 32,
                )
                histories[cid] += append(conn, cid, histories[cid], [ev], START + timedelta(seconds=n))
    engine.dispose()
    with closing(sqlite3.connect(path)) as db:  # fold the WAL into the main file, so copying the file is enough
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tamper")
    path = folder / "pristine.db"
    build_history(path)
    key = generate_key()
    engine = make_engine(f"sqlite:///{path}")
    with read_transaction(engine) as conn:
        size, rt, head = root_of_events(iter_all(conn))
    assert size == TOTAL
    assert not detect(engine, None)
    cp = sign_checkpoint(key, "juece test workspace", size, rt, head, utc_text(START + timedelta(days=1)))
    assert not detect(engine, cp, public_key=key.public_key())
    engine.dispose()
    return {"path": path, "folder": folder, "checkpoint": cp, "public_key": key.public_key()}


# --- the attacker -----------------------------------------------------------------------------------------------


def attacker(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")  # a throw-away copy: no need to wait for the disk
    db.execute("DROP TRIGGER IF EXISTS events_no_update")
    db.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return db


def rows(db: sqlite3.Connection, where: str = "1", args: tuple = ()) -> list[dict[str, Any]]:
    cur = db.execute(f"SELECT * FROM events WHERE {where} ORDER BY position", args)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def insert(db: sqlite3.Connection, values: dict[str, Any]) -> None:
    cols = ", ".join(values)
    db.execute(f"INSERT INTO events ({cols}) VALUES ({', '.join('?' for _ in values)})", tuple(values.values()))


def modify_body(db: sqlite3.Connection, rng: random.Random) -> None:
    position = rng.randint(1, TOTAL)
    (body,) = db.execute("SELECT body FROM events WHERE position = ?", (position,)).fetchone()
    env = json.loads(body)
    env["payload"]["amount"] += rng.randint(1, 10**6)
    db.execute("UPDATE events SET body = ? WHERE position = ?", (canonical_bytes(env), position))


def delete_middle(db: sqlite3.Connection, rng: random.Random) -> None:
    cid, seq = case_id(rng.randrange(CASES)), rng.randint(2, EVENTS_PER_CASE - 1)
    assert db.execute("DELETE FROM events WHERE case_id = ? AND seq = ?", (cid, seq)).rowcount == 1


def swap_bodies(db: sqlite3.Connection, rng: random.Random) -> None:
    a, b = rng.sample(range(1, TOTAL + 1), 2)
    (body_a,) = db.execute("SELECT body FROM events WHERE position = ?", (a,)).fetchone()
    (body_b,) = db.execute("SELECT body FROM events WHERE position = ?", (b,)).fetchone()
    db.execute("UPDATE events SET body = ? WHERE position = ?", (body_b, a))
    db.execute("UPDATE events SET body = ? WHERE position = ?", (body_a, b))


def insert_forged(db: sqlite3.Connection, rng: random.Random) -> None:
    """A forged event between seq k-1 and k of a stream, hashed onto k-1, taking k's place in global order too."""
    cid, k = case_id(rng.randrange(CASES)), rng.randint(2, EVENTS_PER_CASE)
    (before,) = rows(db, "case_id = ? AND seq = ?", (cid, k - 1))
    (at,) = rows(db, "case_id = ? AND seq = ?", (cid, k))
    env = json.loads(at["body"])
    env.update(seq=k, idempotency_key=f"forged-{cid}-{k}", payload={"report_no": k, "status": "completed",
                                                                     "note": "伪造的报告", "amount": 1})
    body = canonical_bytes(env)
    forged = dict(at)
    forged.update(seq=k, idempotency_key=env["idempotency_key"], body=body, prev_hash=before["hash"],
                  hash=chain_hash(bytes.fromhex(before["hash"]), body).hex())
    # make room: renumber (negate, then flip back, so the unique keys never collide mid-statement)
    p = at["position"]
    db.execute("UPDATE events SET position = -(position + 1) WHERE position >= ?", (p,))
    db.execute("UPDATE events SET position = -position WHERE position < 0")
    db.execute("UPDATE events SET seq = -(seq + 1) WHERE case_id = ? AND seq >= ?", (cid, k))
    db.execute("UPDATE events SET seq = -seq WHERE case_id = ? AND seq < 0", (cid,))
    insert(db, forged)  # at position p, seq k


def truncate_tail(db: sqlite3.Connection, rng: random.Random) -> None:
    (cid,) = db.execute("SELECT case_id FROM events ORDER BY position DESC LIMIT 1").fetchone()
    k = rng.randint(1, EVENTS_PER_CASE - 1)
    deleted = db.execute("DELETE FROM events WHERE case_id = ? AND seq > ?", (cid, EVENTS_PER_CASE - k)).rowcount
    assert deleted == k


def rewrite_all(db: sqlite3.Connection, rng: random.Random) -> None:
    """Re-create the whole history: every event's content changed, every chain recomputed from genesis."""
    everything = rows(db)
    target = rng.randrange(len(everything))
    salt = rng.getrandbits(64)
    prev: dict[str, bytes] = {}
    db.execute("DELETE FROM events")
    for i, row in enumerate(everything):
        env = json.loads(row["body"])
        env["payload"]["note"] = f"{env['payload']['note']} (rev. {salt:x})"
        if i == target:
            env["payload"].update(status="completed", amount=1)
        body = canonical_bytes(env)
        p = prev.get(row["case_id"], GENESIS)
        digest = chain_hash(p, body)
        insert(db, {**row, "body": body, "prev_hash": p.hex(), "hash": digest.hex()})
        prev[row["case_id"]] = digest


KINDS: dict[str, Callable[[sqlite3.Connection, random.Random], None]] = {
    "modify-body": modify_body,
    "delete-middle": delete_middle,
    "swap-bodies": swap_bodies,
    "insert-forged": insert_forged,
    "truncate-tail": truncate_tail,
    "rewrite-all": rewrite_all,
}
# The documented fact: what the chain alone sees (out of every trial), per kind.
CHAIN_ALONE_DETECTS = {
    "modify-body": True,
    "delete-middle": True,
    "swap-bodies": True,
    "insert-forged": True,
    "truncate-tail": False,
    "rewrite-all": False,
}

# And what the checkpoint check alone sees: the tree commits to the stored `hash` column and to the number and
# order of events, not to the bodies — that the bodies still match their hashes is the chain check's part.
CHECKPOINT_ALONE_DETECTS = {
    "modify-body": False,
    "delete-middle": True,
    "swap-bodies": False,
    "insert-forged": True,
    "truncate-tail": True,
    "rewrite-all": True,
}

RESULTS: dict[str, tuple[int, int, int, int, float]] = {}


def run_trials(pristine: dict[str, Any], kind: str, trials: int) -> tuple[int, int, int]:
    """(detected with the checkpoint, by the chain alone, by the checkpoint check alone) over `trials` trials."""
    rng = random.Random(f"juece-tamper-{kind}")
    trial = pristine["folder"] / f"trial-{kind}.db"
    with_cp = chain_only = cp_only = 0
    for _ in range(trials):
        for suffix in ("-wal", "-shm"):
            Path(f"{trial}{suffix}").unlink(missing_ok=True)
        shutil.copy(pristine["path"], trial)
        with closing(attacker(trial)) as db:
            db.execute("BEGIN")
            KINDS[kind](db, rng)
            db.execute("COMMIT")
        engine = make_engine(f"sqlite:///{trial}")
        try:
            chain_only += detect(engine, None)
            with_cp += detect(engine, pristine["checkpoint"], public_key=pristine["public_key"])
            with read_transaction(engine) as conn:
                cp_only += checkpoint_broken(conn, pristine["checkpoint"], pristine["public_key"])
        finally:
            engine.dispose()
    return with_cp, chain_only, cp_only


@pytest.mark.parametrize("kind", list(KINDS))
def test_tampering_is_detected_with_a_checkpoint(pristine: dict[str, Any], kind: str) -> None:
    started = time.perf_counter()
    with_cp, chain_only, cp_only = run_trials(pristine, kind, TRIALS)
    RESULTS[kind] = (TRIALS, with_cp, chain_only, cp_only, time.perf_counter() - started)
    print(f"\n{kind:14s} detected with checkpoint {with_cp}/{TRIALS}, by the chain alone {chain_only}/{TRIALS}, "
          f"by the checkpoint check alone {cp_only}/{TRIALS}")
    assert with_cp == TRIALS
    assert chain_only == (TRIALS if CHAIN_ALONE_DETECTS[kind] else 0)
    assert cp_only == (TRIALS if CHECKPOINT_ALONE_DETECTS[kind] else 0)


def test_detection_table() -> None:
    """Print the kind × detector table of the runs above (skipped when they did not all run)."""
    if set(RESULTS) != set(KINDS):
        pytest.skip("run the whole file to get the table")
    lines = [f"{'kind':14s} {'trials':>6s} {'chain+checkpoint':>16s} {'chain alone':>12s} "
             f"{'checkpoint alone':>16s} {'seconds':>8s}"]
    for kind in KINDS:
        n, with_cp, chain_only, cp_only, secs = RESULTS[kind]
        lines.append(f"{kind:14s} {n:6d} {with_cp:16d} {chain_only:12d} {cp_only:16d} {secs:8.1f}")
    print("\n" + "\n".join(lines))
    missed = sorted(k for k, (n, _, c, _o, _s) in RESULTS.items() if c < n)
    assert missed == ["rewrite-all", "truncate-tail"]


def test_an_untouched_copy_is_not_flagged(pristine: dict[str, Any]) -> None:
    trial = pristine["folder"] / "untouched.db"
    shutil.copy(pristine["path"], trial)
    engine = make_engine(f"sqlite:///{trial}")
    try:
        assert not detect(engine, None)
        assert not detect(engine, pristine["checkpoint"], public_key=pristine["public_key"])
        # later, legitimate appends do not disturb an older checkpoint (it covers the first tree_size events)
        with write_transaction(engine) as conn:
            history = load_stream(conn, case_id(0))
            append(conn, case_id(0), history, [NewEvent("execution-reported", 1, {"report_no": 51}, "张三", "executor",
                                                        "k-later")], START + timedelta(days=2))
        assert not detect(engine, pristine["checkpoint"], public_key=pristine["public_key"])
        # a checkpoint whose signature does not hold is itself a finding
        forged_cp = sign_checkpoint(generate_key(), "juece test workspace", TOTAL, pristine["checkpoint"].root,
                                    pristine["checkpoint"].head_hash, pristine["checkpoint"].issued_at)
        assert detect(engine, forged_cp, public_key=pristine["public_key"])
    finally:
        engine.dispose()

"""Checkpoints and inclusion proofs through the use cases: what the chain alone cannot see, a checkpoint kept
outside the database catches; a proof verifies offline."""

from __future__ import annotations

import json
import sqlite3

from flows.usecases.audit import verify_cases
from flows.usecases.proofs import check_proof, make_checkpoint, prove, public_key_pem
from models.checkpoint import generate_key, public_key_to_pem
from support import MANDATORY_PATH


def raw(ws):
    conn = sqlite3.connect(ws.home / "juece.db")
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DROP TRIGGER events_no_update")
    return conn


def test_a_truncated_tail_passes_the_chain_but_fails_the_checkpoint(case):
    case.walk(MANDATORY_PATH)
    cp = make_checkpoint(case.ws)
    with raw(case.ws) as conn:
        conn.execute("DELETE FROM events WHERE case_id = ? AND seq = (SELECT max(seq) FROM events WHERE case_id = ?)",
                     (case.case_id, case.case_id))
    assert verify_cases(case.ws).exit_code == 0  # the chain alone cannot see it
    report = verify_cases(case.ws, checkpoint=cp)
    assert report.exit_code == 4
    assert "fewer than" in report.checkpoint.reason


def test_a_history_rewritten_with_recomputed_hashes_fails_the_checkpoint(case):
    from models.canonical import GENESIS, canonical_bytes, chain_hash

    case.walk(MANDATORY_PATH)
    cp = make_checkpoint(case.ws)
    with raw(case.ws) as conn:
        rows = conn.execute("SELECT position, body FROM events WHERE case_id = ? ORDER BY seq", (case.case_id,)).fetchall()
        prev = GENESIS
        for position, body in rows:
            env = json.loads(body)
            env["actor"] = env["actor"].replace("李明", "王五")
            conn.execute("UPDATE events SET actor = ? WHERE position = ?", (env["actor"], position))
            new = canonical_bytes(env)
            digest = chain_hash(prev, new)
            conn.execute("UPDATE events SET body = ?, prev_hash = ?, hash = ? WHERE position = ?",
                         (new, prev.hex(), digest.hex(), position))
            prev = digest
    assert verify_cases(case.ws).exit_code == 0  # a consistent forgery: the chain holds
    assert verify_cases(case.ws, checkpoint=cp).exit_code == 4


def test_an_inclusion_proof_verifies_offline_and_fails_when_altered(case):
    case.walk(MANDATORY_PATH)
    doc = json.loads(json.dumps(prove(case.ws, case.case_id, 4)))
    ok, why = check_proof(doc, public_key_pem(case.ws))
    assert ok, why
    bad = json.loads(json.dumps(doc))
    bad["proof"][0] = "00" * 32
    assert check_proof(bad, public_key_pem(case.ws))[0] is False
    other = public_key_to_pem(generate_key()).decode()
    assert check_proof(doc, other)[0] is False
    forged = json.loads(json.dumps(doc))
    forged["seq"] = 5
    assert check_proof(forged, public_key_pem(case.ws))[0] is False


def test_a_proof_file_of_another_shape_or_with_a_made_up_event_does_not_verify(case):
    """Whatever JSON the file holds, the answer is 'does not verify' with a reason, never an exception (found by the
    generated command lines of tests/test_cli_standing.py: a JSON list as the proof file)."""
    import base64
    import hashlib

    case.walk(MANDATORY_PATH)
    doc = json.loads(json.dumps(prove(case.ws, case.case_id, 4)))
    for other in ([], [doc], "proof", 7, None):
        ok, why = check_proof(other, public_key_pem(case.ws))
        assert ok is False and "damaged" in why, (other, why)
    for body in (b"not json", b"[1, 2]"):  # a body whose hash is made to match: no recorded event
        forged = json.loads(json.dumps(doc))
        forged["event"]["body"] = base64.b64encode(body).decode()
        forged["event"]["hash"] = hashlib.sha256(bytes.fromhex(forged["event"]["prev_hash"]) + body).hexdigest()
        ok, why = check_proof(forged, public_key_pem(case.ws))
        assert ok is False and why in ("the event in the proof is not a recorded event",
                                      "the event in the proof is not the one it claims to be"), why

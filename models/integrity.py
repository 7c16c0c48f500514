"""Chain verification over stored rows: the hash chain, the sequence, and that the columns say what the hashed bytes
say. A changed, deleted, inserted or swapped row breaks it at the first position touched. (A truncated tail, or a
history rewritten from its first event with recomputed hashes, needs a checkpoint kept outside the database.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import orjson

from models.canonical import GENESIS, chain_hash
from models.store import StoredEvent


@dataclass(frozen=True)
class Break:
    """Where and why a stream's chain is broken."""

    case_id: str
    seq: int
    position: int
    reason: str

    def sentence(self) -> str:
        """'JC-2025-0001 is broken at event 3 (…)'."""
        return f"{self.case_id} is broken at event {self.seq} (stored position {self.position}): {self.reason}"


def verify_stream(events: Iterable[StoredEvent]) -> Break | None:
    """The first break in one stream's chain, or None when every link holds."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            what = "missing" if ev.seq > expected_seq else "repeated"
            return Break(ev.case_id, expected_seq, ev.position, f"event {expected_seq} is {what} (found {ev.seq} next)")
        if ev.prev_hash != prev.hex():
            return Break(ev.case_id, ev.seq, ev.position, "its prev_hash does not match the hash of the event before it")
        if chain_hash(prev, ev.body).hex() != ev.hash:
            return Break(ev.case_id, ev.seq, ev.position, "its content does not match its hash (the stored event was changed)")
        try:
            env = orjson.loads(ev.body)
        except orjson.JSONDecodeError:
            return Break(ev.case_id, ev.seq, ev.position, "its stored body is not the JSON that was hashed")
        for column, value in (("case_id", ev.case_id), ("seq", ev.seq), ("type", ev.type), ("recorded_at", ev.recorded_at),
                              ("actor", ev.actor), ("role", ev.role), ("idempotency_key", ev.idempotency_key)):
            if env.get(column) != value:
                return Break(ev.case_id, ev.seq, ev.position, f"its {column} column disagrees with the hashed record")
        prev = bytes.fromhex(ev.hash)
        expected_seq += 1
    return None

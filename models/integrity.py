"""Chain verification over stored rows: the hash chain, the sequence, and that the columns say what the hashed bytes
say. A changed, deleted, inserted or swapped row breaks it at the first position touched. (A truncated tail, or a
history rewritten from its first event with recomputed hashes, needs a checkpoint kept outside the database.)

`verify_stream` checks one stream as given; `verify_store` checks every stream of the store and computes the RFC 9162
Merkle root over all events (what a checkpoint signs) in one streaming pass over raw rows, with the same verdicts."""

from __future__ import annotations

import hashlib
from operator import itemgetter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import orjson

from models import merkle, store
from models.canonical import GENESIS
from models.store import StoredEvent, gc_paused

if TYPE_CHECKING:
    from models.db import AnyConnection

_sha256 = hashlib.sha256
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_GENESIS_HEX = GENESIS.hex()
_columns = itemgetter("case_id", "seq", "type", "recorded_at", "actor", "role", "idempotency_key")


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
    prev_hex = _GENESIS_HEX
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            what = "missing" if ev.seq > expected_seq else "repeated"
            return Break(ev.case_id, expected_seq, ev.position, f"event {expected_seq} is {what} (found {ev.seq} next)")
        if ev.prev_hash != prev_hex:
            return Break(ev.case_id, ev.seq, ev.position, "its prev_hash does not match the hash of the event before it")
        body = ev.body
        digest = _sha256(prev + body).digest()
        if digest.hex() != ev.hash:
            return Break(ev.case_id, ev.seq, ev.position, "its content does not match its hash (the stored event was changed)")
        try:
            env = _loads(body)  # the hashed bytes parsed afresh: the check is on the bytes, never on a cached parse
        except _JSONDecodeError:
            return Break(ev.case_id, ev.seq, ev.position, "its stored body is not the JSON that was hashed")
        try:
            said = _columns(env)  # the seven columns as the hashed envelope says them, in one call
        except (KeyError, TypeError):  # not an object, or one of them missing: told apart just below
            said = None
        if said != (ev.case_id, ev.seq, ev.type, ev.recorded_at, ev.actor, ev.role, ev.idempotency_key):
            if type(env) is not dict:
                return Break(ev.case_id, ev.seq, ev.position, "its stored body is not a recorded event (a JSON object)")
            column = _disagreeing_column(env, ev.case_id, ev.seq, ev.type, ev.recorded_at, ev.actor, ev.role,
                                         ev.idempotency_key)
            if column:
                return Break(ev.case_id, ev.seq, ev.position, f"its {column} column disagrees with the hashed record")
        if type(ev) is StoredEvent:  # kept as the event's `envelope`, so the replay that follows does not parse again
            ev.__dict__.setdefault("envelope", env)
        prev = digest
        prev_hex = ev.hash
        expected_seq += 1
    return None


def _disagreeing_column(env: Any, case_id: Any, seq: Any, type_: Any, recorded_at: Any, actor: Any, role: Any,
                        idempotency_key: Any) -> str | None:
    """The first column (in this order) whose value differs from the hashed envelope's, or None."""
    get = env.get
    if get("case_id") != case_id:
        return "case_id"
    if get("seq") != seq:
        return "seq"
    if get("type") != type_:
        return "type"
    if get("recorded_at") != recorded_at:
        return "recorded_at"
    if get("actor") != actor:
        return "actor"
    if get("role") != role:
        return "role"
    if get("idempotency_key") != idempotency_key:
        return "idempotency_key"
    return None


@dataclass(frozen=True)
class StoreVerdict:
    """Every stream's chain and the Merkle tree over the whole history, from one pass."""

    size: int  # events read = the tree size
    root: bytes | None  # RFC 9162 Merkle root over all events in global order (models/merkle.py); None when some
    # event's hash column is not a 32-byte hex hash (root_of_events raises there), which also breaks its chain
    head: str | None  # the last event's chain hash (hex), None for an empty store
    streams: int  # how many streams were checked
    breaks: tuple[Break, ...]  # the first break of every broken stream, in order of first appearance

    @property
    def intact(self) -> bool:
        """True when every stream's chain holds."""
        return not self.breaks


class _Stream:
    __slots__ = ("next_seq", "prev", "prev_hex", "suspect")

    def __init__(self) -> None:
        self.prev = GENESIS
        self.prev_hex = _GENESIS_HEX
        self.next_seq = 1
        self.suspect = False


_CHUNK = 1 << 12  # leaves hashed into a perfect subtree at a time


def verify_store(conn: AnyConnection, *, batch: int = 5000) -> StoreVerdict:
    """Check every stream's chain and compute the Merkle root over all events (as `root_of_events(iter_all())`
    does), streaming raw rows in global order once, with the garbage collector paused.

    The verdicts are those of `verify_stream(load_stream(conn, id))` for every stream id: the pass checks each
    stream's rows in stored order, and any stream in which that finds anything wrong is read again by id and judged
    by `verify_stream` itself (an intact stream reads the same either way, so only a broken one is read twice).
    """
    streams: dict[str, _Stream] = {}
    order: list[str] = []
    peaks: list[bytes] = []  # compact range over whole chunks of _CHUNK leaves (models/merkle.py, TreeBuilder)
    chunks = 0
    leaves: list[bytes] = []
    size = 0
    malformed = 0
    head: str | None = None
    sha = _sha256
    loads = _loads
    node = merkle.NODE_PREFIX
    leaf = merkle.LEAF_PREFIX
    with gc_paused():
        cur_id: str | None = None
        st = _Stream()
        for rows in store.iter_all_rows(conn, batch=batch):
            for position, case_id, seq, type_, recorded_at, actor, role, key, body, prev_hash, hash_ in rows:
                if case_id != cur_id:
                    found = streams.get(case_id)
                    if found is None:
                        found = streams[case_id] = _Stream()
                        order.append(case_id)
                    st = found
                    cur_id = case_id
                data = None
                if not st.suspect:
                    if seq == st.next_seq and prev_hash == st.prev_hex:
                        digest = sha(st.prev + body).digest()
                        if digest.hex() == hash_:
                            try:
                                agrees = not _disagreeing_column(loads(body), case_id, seq, type_, recorded_at, actor,
                                                                 role, key)
                            except Exception:  # noqa: BLE001 — not JSON, or not an object: verify_stream says what
                                agrees = False
                            if agrees:
                                data = digest
                                st.prev = digest
                                st.prev_hex = hash_
                                st.next_seq = seq + 1
                    if data is None:
                        st.suspect = True
                if data is None:
                    try:
                        data = merkle.event_leaf_data(_Hash(hash_))
                    except ValueError:  # not a 32-byte hex hash: no leaf, so no root (its chain is broken too)
                        malformed += 1
                        size += 1
                        head = hash_
                        continue
                leaves.append(sha(leaf + data).digest())
                if len(leaves) == _CHUNK:
                    h = merkle.root_from_leaf_hashes(leaves)
                    chunks += 1
                    n = chunks - 1
                    while n & 1:
                        h = sha(node + peaks.pop() + h).digest()
                        n >>= 1
                    peaks.append(h)
                    leaves = []
                head = hash_
                size += 1
    # The whole chunks are perfect subtrees of _CHUNK leaves: their peaks are the tree's peaks at those levels.
    tree = merkle.TreeBuilder.from_peaks(chunks * _CHUNK, peaks)
    tree.extend(leaves)
    assert tree.size + malformed == size
    breaks: list[Break] = []
    for sid in [sid for sid in order if streams[sid].suspect]:
        broken = verify_stream(store.load_stream(conn, sid))
        if broken is not None:
            breaks.append(broken)
    return StoreVerdict(size, None if malformed else tree.root(), head, len(order), tuple(breaks))


class _Hash:
    """Anything with a hex `hash`, for merkle.event_leaf_data (which checks its length)."""

    __slots__ = ("hash",)

    def __init__(self, value: str) -> None:
        self.hash = value

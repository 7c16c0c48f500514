"""Case state as a fold over the case's events: `replay(events)` = evolve(evolve(launch, e1), e2)…

Live handling and an auditor's replay run this same code, so the state an auditor sees as of a moment is the state
the engine judged by at that moment.

Cost. A case's records live in one append-only log shared by the states of all its prefixes: a `CaseState` is the
case's facts plus how many records of the log it sees. `evolve` appends to the log when the state is its newest
prefix (O(1); evolving an older state copies its prefix first), `replay` builds the log in one pass, and the log
keeps the records indexed by type, so `records(type)` costs what it returns, and keeps every stage's status folded
as records arrive, so `statuses(pack)` of the next prefix costs O(1) — an auditor's re-check of a 1,000-event case is
O(n), not O(n²). `history` and `refused` are real tuples, built on first use. tests/test_replay_equivalence.py checks
all of this against the straightforward definitions.

Payloads reach the rules as plain values (dates as `date`, lists as tuples) exactly as `payload_values` — the pydantic
model's validate-and-dump — gives them, decoded without pydantic where the stored form allows (models/payload_decode.py).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import date
from heapq import merge
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import orjson

from models.damage import undecodable_payload
from models.payload_decode import decode_bounded, decode_payload, fast_decoder, payload_values  # noqa: F401  (re-exported)
from models.store import StoredEvent, gc_paused
from policies.pack import PolicyPack, Stage
from policies.procedure import FOLDED_WITH_PAYLOADS, StageStatus, at_end, plain_step, stage_status

_loads = orjson.loads
_new = object.__new__
_set = object.__setattr__


# --- records and the shared log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One recorded event as the state keeps it."""

    seq: int
    type: str
    payload: Mapping[str, Any]
    recorded_at: str
    actor: str
    role: str
    acknowledgements: tuple[Mapping[str, str], ...] = ()
    # how deep the stored payload can nest, when it was decoded by its shape (models/payload_decode.py,
    # `decode_bounded`); None: not known. What LIM-01's audit needs not count (policies/limits.py, `within_bounds`).
    depth_bound: int | None = field(default=None, compare=False, repr=False)


def _envelope(ev: StoredEvent) -> Any:
    """`ev.envelope`, without cached_property's lock on the replay path (same cache, same value)."""
    if type(ev) is StoredEvent:
        d = ev.__dict__
        env = d.get("envelope")
        if env is None:
            env = d["envelope"] = _loads(ev.body)
        return env
    return ev.envelope


def record_of(ev: StoredEvent) -> Record:
    """The record a stored event becomes (payload decoded for the rules)."""
    try:
        env = ev.__dict__.get("envelope") if type(ev) is StoredEvent else None  # parsed by the chain check, usually
        if env is None:
            env = _envelope(ev)
        values, depth_bound = decode_bounded(ev.type, env["payload"])
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise undecodable_payload(ev.case_id, ev.seq, ev.type, exc) from exc
    # Record(ev.seq, …), built without the frozen dataclass's per-field __setattr__ (one per event replayed)
    record = _new(Record)
    _set(record, "__dict__", {"seq": ev.seq, "type": ev.type, "payload": values, "recorded_at": ev.recorded_at,
                              "actor": ev.actor, "role": ev.role,
                              "acknowledgements": tuple(env.get("acknowledgements", _NO_ACKS)),
                              "depth_bound": depth_bound})
    return record


_NO_ACKS: tuple[Mapping[str, str], ...] = ()


class _Log:
    """A case's records, append-only, shared by the states of its prefixes; indexed by type as they arrive."""

    __slots__ = ("acked", "by_type", "cursors", "ended_at", "items", "latest_memo", "lock", "maxima", "refused")

    def __init__(self) -> None:
        # guards appends to this log and the folding of its status cursors: states are values, and two threads
        # evolving the same state must not both take its log (each case's log has its own lock)
        self.lock = threading.Lock()
        self.items: list[Record] = []
        self.refused: list[Record] = []
        self.by_type: dict[str, tuple[list[int], list[Record]]] = {}
        self.acked: list[int] = []  # indices of records carrying acknowledgements
        self.ended_at: int | None = None  # index of the first meeting that rejected the draft
        self.cursors: dict[int, _StatusCursor] = {}
        # (type, field) -> running maximum of that field over the type's records, extended on first use
        self.maxima: dict[tuple[str, str], list[Any]] = {}
        # id of a `latest` query -> (the query, the prefix length it was answered at, the answer, its event types)
        self.latest_memo: dict[int, tuple[Any, int, tuple[str, Any] | None, frozenset[str]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # copy and pickle: the records, not the lock (per object) nor the status cursors (a cache, keyed by the
        # identity of a pack object, that the copy folds again on first use)
        state = {k: getattr(self, k) for k in self.__slots__ if k != "lock"}
        state["cursors"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self.lock = threading.Lock()

    def running_max(self, event_type: str, field: str, k: int) -> Any:
        """The largest `field` among the first k records of `event_type` (k ≥ 1)."""
        key = (event_type, field)
        run = self.maxima.get(key)
        if run is None or len(run) < k:
            with self.lock:
                run = self.maxima.setdefault(key, [])
                recs = self.by_type[event_type][1]
                best = run[-1] if run else None
                for rec in recs[len(run):k]:
                    value = rec.payload[field]
                    if best is None or value > best:
                        best = value
                    run.append(best)
        return run[k - 1]

    def add(self, record: Record) -> None:
        i = len(self.items)
        self.items.append(record)
        entry = self.by_type.get(record.type)
        if entry is None:
            entry = self.by_type[record.type] = ([], [])
        entry[0].append(i)
        entry[1].append(record)
        if record.acknowledgements:
            self.acked.append(i)
        if record.type == "meeting-held" and self.ended_at is None and record.payload["decision"] == "rejected":
            self.ended_at = i

    def copy(self, n: int, r: int) -> _Log:
        """A new log holding the first n records and r refused attempts."""
        log = _Log()
        for rec in self.items[:n]:
            log.add(rec)
        log.refused = self.refused[:r]
        return log


_NO_ENTRY: tuple[list[int], list[Record]] = ([], [])


class _StatusCursor:
    """Every stage's status folded over the log as records arrive, for one pack and one set of flags.

    A plain stage's status is a fold of `plain_step` (policies/procedure.py), taken one step per record. For the
    stages whose folds read payloads (FOLDED_WITH_PAYLOADS), `stage_status` is a left fold whose whole state is the
    StageStatus it returns, so the status after one more record is `stage_status(stage, rep + [record])` for any
    `rep` whose fold gives the current status: the cursor keeps such a `rep` per stage, never the whole list — a record that leaves the status as it
    was leaves `rep` as it was (the thousandth execution report costs one short fold), one that changes it is
    appended, or replaces `rep` when it gives that status on its own. tests/test_replay_equivalence.py checks the
    folded statuses against `stage_status` over every stage's whole record list, prefix by prefix.
    """

    __slots__ = ("ended", "final", "flags", "m", "pack", "raw", "rep", "snapshot", "stages_of")

    def __init__(self, pack: PolicyPack, flags: frozenset[str]) -> None:
        self.pack = pack
        self.flags = flags
        self.m = 0
        self.ended = False
        self.stages_of: dict[str, list[Stage]] = {}
        for s in pack.stages:
            for e in s.events:
                if s not in self.stages_of.setdefault(e, []):
                    self.stages_of[e].append(s)
        self.rep: dict[str, list[tuple[str, Mapping[str, Any]]]] = {s.id: [] for s in pack.stages}
        self.raw = {s.id: stage_status(s, [], flags=flags, ended=False) for s in pack.stages}
        self.final = dict(self.raw)
        self.snapshot: MappingProxyType[str, StageStatus] | None = None

    def advance(self, log: _Log, n: int) -> None:
        flags = self.flags
        items = log.items
        ended_at = log.ended_at
        for i in range(self.m, n):
            rec = items[i]
            stages = self.stages_of.get(rec.type)
            if stages:
                r = (rec.type, rec.payload)
                for s in stages:
                    if s.id not in FOLDED_WITH_PAYLOADS:  # a plain stage: one step of its fold, no record list
                        was = self.raw[s.id]
                        st = plain_step(s, was, rec.type)
                        if st is was or st == was:  # `plain_step` gives the status itself when nothing changed
                            continue
                        self.raw[s.id] = st
                        self.final[s.id] = at_end(st) if self.ended else st
                        self.snapshot = None
                        continue
                    rep = self.rep[s.id]
                    cand = rep + [r]
                    st = stage_status(s, cand, flags=flags, ended=False)
                    if st == self.raw[s.id]:
                        continue  # the record changed nothing: `rep` still folds to the status
                    if len(cand) > 4 and stage_status(s, [r], flags=flags, ended=False) == st:
                        cand = [r]  # the record alone gives the status: keep `rep` short
                    self.rep[s.id] = cand
                    self.raw[s.id] = st
                    self.final[s.id] = stage_status(s, cand, flags=flags, ended=True) if self.ended else st
                    self.snapshot = None
            if ended_at == i:
                self.ended = True
                for s in self.pack.stages:
                    self.final[s.id] = (stage_status(s, self.rep[s.id], flags=flags, ended=True)
                                        if s.id in FOLDED_WITH_PAYLOADS else at_end(self.raw[s.id]))
                self.snapshot = None
        self.m = n

    def statuses(self) -> MappingProxyType[str, StageStatus]:
        """The statuses now, in the pack's order: a read-only view, shared until a record changes one."""
        snap = self.snapshot
        if snap is None:
            final = self.final
            snap = self.snapshot = MappingProxyType({s.id: final[s.id] for s in self.pack.stages})
        return snap


# --- the state --------------------------------------------------------------------------------------------------

_FACTS = ("case_id", "title", "category", "organ", "lead_unit", "flags", "policy", "policy_hash", "launched_on",
          "launched_by", "co_units", "catalog_item", "parent_case", "adjustment", "launch_decided_on")


class CaseState:
    """What a case is, and everything recorded on it so far.

    Immutable, like the frozen dataclass it was: the case's facts, `history` and `refused` (tuples of `Record`) and
    `seq`; equality compares all of them. A state is a prefix view of its case's shared log (module docstring).
    """

    __match_args__ = (*_FACTS, "history", "refused", "seq")

    case_id: str
    title: str
    category: str
    organ: str
    lead_unit: str
    flags: frozenset[str]
    policy: str
    policy_hash: str
    launched_on: date
    launched_by: str
    co_units: tuple[str, ...]
    catalog_item: str | None
    parent_case: str | None  # the case whose adjustment opened this one (`case adjust`)
    adjustment: str | None  # stop | amend | repeal, for such a child case
    launch_decided_on: date | None  # the decision organ's launch decision (INI-02), the anchor of ORD-02
    seq: int
    # the prefix view (set through __dict__, never assigned): the shared log, how many records and refused attempts
    # of it this state sees, and what it computed from them on first use
    _log: _Log
    _n: int
    _r: int

    def __init__(
        self,
        case_id: str,
        title: str,
        category: str,
        organ: str,
        lead_unit: str,
        flags: frozenset[str],
        policy: str,
        policy_hash: str,
        launched_on: date,
        launched_by: str,
        co_units: tuple[str, ...] = (),
        catalog_item: str | None = None,
        history: tuple[Record, ...] = (),
        refused: tuple[Record, ...] = (),
        seq: int = 0,
        *,
        parent_case: str | None = None,
        adjustment: str | None = None,
        launch_decided_on: date | None = None,
    ) -> None:
        log = _Log()
        for rec in history:
            log.add(rec)
        log.refused = list(refused)
        _set(self, "__dict__", {
            "case_id": case_id, "title": title, "category": category, "organ": organ, "lead_unit": lead_unit,
            "flags": flags, "policy": policy, "policy_hash": policy_hash, "launched_on": launched_on,
            "launched_by": launched_by, "co_units": co_units, "catalog_item": catalog_item, "parent_case": parent_case,
            "adjustment": adjustment, "launch_decided_on": launch_decided_on, "seq": seq,
            "_log": log, "_n": len(log.items), "_r": len(log.refused), "_history": None, "_refused": None,
            "_statuses": None,
        })

    def _view(self, log: _Log, n: int, r: int, seq: int) -> CaseState:
        """The same case seeing the first n records and r refused attempts of `log`."""
        d = dict(self.__dict__)
        d["_log"], d["_n"], d["_r"], d["seq"] = log, n, r, seq
        d["_history"] = d["_refused"] = d["_statuses"] = None
        state = _new(CaseState)
        _set(state, "__dict__", d)
        return state

    def __getstate__(self) -> dict[str, Any]:  # copy and pickle: the value, without the statuses it computed
        d = dict(self.__dict__)
        d["_statuses"] = None
        return d

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    @property
    def history(self) -> tuple[Record, ...]:
        """Every recorded event except refused attempts, in order."""
        h: tuple[Record, ...] | None = self.__dict__["_history"]
        if h is None:
            h = self.__dict__["_history"] = tuple(self._log.items[: self._n])
        return h

    @property
    def refused(self) -> tuple[Record, ...]:
        """The refused attempts kept in the history, in order."""
        h: tuple[Record, ...] | None = self.__dict__["_refused"]
        if h is None:
            h = self.__dict__["_refused"] = tuple(self._log.refused[: self._r])
        return h

    def _fields(self) -> tuple[Any, ...]:
        d = self.__dict__
        return (*(d[k] for k in _FACTS), self.history, self.refused, d["seq"])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, CaseState):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        d = self.__dict__
        parts = [f"{k}={d[k]!r}" for k in _FACTS] + [f"history={self.history!r}", f"refused={self.refused!r}",
                                                     f"seq={d['seq']!r}"]
        return f"CaseState({', '.join(parts)})"

    def records(self, event_type: str) -> list[Mapping[str, Any]]:
        """The payloads of every recorded event of one type, in order."""
        idx, recs = self._log.by_type.get(event_type, _NO_ENTRY)
        n = self._n
        if not idx or idx[-1] < n:
            return [r.payload for r in recs]
        return [r.payload for r in recs[: bisect_left(idx, n)]]

    def stage_records(self, stage: Stage) -> list[tuple[str, Mapping[str, Any]]]:
        """(event type, payload) of every record belonging to a stage, in order."""
        by_type = self._log.by_type
        n = self._n
        runs = []
        for e in dict.fromkeys(stage.events):
            idx, recs = by_type.get(e, _NO_ENTRY)
            if idx:
                k = len(idx) if idx[-1] < n else bisect_left(idx, n)
                if k:
                    runs.append([(idx[j], e, recs[j].payload) for j in range(k)])
        if not runs:
            return []
        if len(runs) == 1:
            return [(e, p) for _, e, p in runs[0]]
        return [(e, p) for _, e, p in merge(*runs)]

    def latest(self, dated: Sequence[tuple[str, str]]) -> tuple[str, Any] | None:
        """The latest value, and its event type, among this case's records of the given (event type, field) pairs —
        e.g. the latest date of any step of the earlier stages (ORD-01); O(1) per pair amortised."""
        log, n = self._log, self._n
        memo = log.latest_memo.get(id(dated))
        if memo is not None and memo[0] is dated and memo[1] <= n:
            # answered for a shorter prefix: still the answer if no record of these types arrived since (the audit
            # asks at every next event, so this is one look at the one new record)
            items, types = log.items, memo[3]
            for i in range(memo[1], n):
                if items[i].type in types:
                    break
            else:
                if memo[1] != n:
                    log.latest_memo[id(dated)] = (dated, n, memo[2], types)
                return memo[2]
        by_type, maxima = log.by_type, log.maxima
        best: tuple[str, Any] | None = None
        for pair in dated:
            entry = by_type.get(pair[0])
            if entry is None:
                continue
            idx = entry[0]
            k = len(idx) if idx[-1] < n else bisect_left(idx, n)
            if k:
                run = maxima.get(pair)
                value = run[k - 1] if run is not None and len(run) >= k else log.running_max(pair[0], pair[1], k)
                if best is None or value > best[1]:
                    best = (pair[0], value)
        log.latest_memo[id(dated)] = (dated, n, best, frozenset(t for t, _ in dated))
        return best

    @property
    def ended(self) -> bool:
        """True once a meeting rejected the draft: the case ends without a decision."""
        at = self._log.ended_at
        return at is not None and at < self._n

    def statuses(self, pack: PolicyPack) -> dict[str, StageStatus]:
        """Every stage's status, in the pack's order."""
        return self.status_view(pack).copy()  # a dict of its own (the view's dict, copied)

    def status_view(self, pack: PolicyPack) -> MappingProxyType[str, StageStatus]:
        """`statuses(pack)` as a read-only view, shared by the states that see the same statuses (what a rule reads:
        no copy per judged event)."""
        cached = self.__dict__["_statuses"]
        if cached is not None and cached[0] is pack:
            shared: MappingProxyType[str, StageStatus] = cached[1]
            return shared
        log, n = self._log, self._n
        result: MappingProxyType[str, StageStatus] | None = None
        with log.lock:
            cursor = log.cursors.get(id(pack))
            if cursor is None or cursor.pack is not pack or cursor.flags != self.flags:
                cursor = log.cursors[id(pack)] = _StatusCursor(pack, self.flags)
            if cursor.m <= n:
                cursor.advance(log, n)
                result = cursor.statuses()
        if result is None:  # an older prefix than the cursor has seen: fold from scratch
            ended = self.ended
            result = MappingProxyType({
                s.id: stage_status(s, self.stage_records(s), flags=self.flags, ended=ended) for s in pack.stages
            })
        self.__dict__["_statuses"] = (pack, result)
        return result

    @property
    def acknowledgements(self) -> list[tuple[Record, Mapping[str, str]]]:
        """Every acknowledged warning with the record that carries it."""
        items, n = self._log.items, self._n
        return [(items[i], a) for i in self._log.acked if i < n for a in items[i].acknowledgements]


def launch_state(ev: StoredEvent) -> CaseState:
    """The state a `case-launched` event creates."""
    try:
        values = decode_payload(ev.type, _envelope(ev)["payload"])
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise undecodable_payload(ev.case_id, ev.seq, ev.type, exc) from exc
    return state_of_launch(ev.case_id, values, ev.actor, ev.seq)


def state_of_launch(case_id: str, p: Mapping[str, Any], launched_by: str, seq: int = 1) -> CaseState:
    """The state a launch with these payload values creates (the launch use case judges the launch on it)."""
    return CaseState(
        case_id=case_id,
        title=p["title"],
        category=p["category"],
        organ=p["organ"],
        lead_unit=p["lead_unit"] or "",
        flags=frozenset(p["flags"]),
        policy=p["policy"],
        policy_hash=p["policy_hash"],
        launched_on=p["launched_on"],
        launched_by=launched_by,
        co_units=tuple(p["co_units"]),
        catalog_item=p["catalog_item"],
        parent_case=p.get("parent_case"),
        adjustment=p.get("adjustment"),
        launch_decided_on=p.get("decided_on"),
        seq=seq,
    )


def evolve_record(state: CaseState, record: Record) -> CaseState:
    """The state after one more record (O(1) when `state` is the newest prefix of its log)."""
    log, n, r = state._log, state._n, state._r
    with log.lock:  # states are values: two threads evolving the same state must not both take its log
        if n != len(log.items) or r != len(log.refused):
            log = log.copy(n, r)  # evolving an older state: a new branch, the other states unchanged
        if record.type == "attempt-refused":
            log.refused.append(record)
            return state._view(log, n, r + 1, record.seq)
        log.add(record)
    return state._view(log, n + 1, r, record.seq)


def evolve(state: CaseState, ev: StoredEvent) -> CaseState:
    """The state after one more event."""
    return evolve_record(state, record_of(ev))


def replay(events: Sequence[StoredEvent] | Iterable[StoredEvent]) -> CaseState:
    """Fold a case's events, in order, into its state."""
    it = iter(events)
    first = next(it)
    if first.type != "case-launched":
        raise ValueError(f"{first.case_id}: the first event is {first.type}, not case-launched")
    with gc_paused():
        state = launch_state(first)
        log = state._log
        add, refused = log.add, log.refused
        seq = state.seq
        for ev in it:
            record = record_of(ev)
            if record.type == "attempt-refused":
                refused.append(record)
            else:
                add(record)
            seq = record.seq
        return state._view(log, len(log.items), len(refused), seq)

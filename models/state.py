"""Case state as a fold over the case's events: `replay(events)` = evolve(evolve(launch, e1), e2)…

Live handling and an auditor's replay run this same code, so the state an auditor sees as of a moment is the state
the engine judged by at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from models.events import EVENT_TYPES
from models.store import StoredEvent
from policies.pack import PolicyPack, Stage
from policies.procedure import StageStatus, stage_status


def payload_values(event_type: str, payload_json: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded payload as plain values for the rules (dates as `date`), through its model (upcasting point)."""
    model = EVENT_TYPES[event_type]
    return model.model_validate(payload_json).model_dump(by_alias=True)


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


@dataclass(frozen=True)
class CaseState:
    """What a case is, and everything recorded on it so far."""

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
    co_units: tuple[str, ...] = ()
    catalog_item: str | None = None
    history: tuple[Record, ...] = ()
    refused: tuple[Record, ...] = ()
    seq: int = 0

    def records(self, event_type: str) -> list[Mapping[str, Any]]:
        """The payloads of every recorded event of one type, in order."""
        return [r.payload for r in self.history if r.type == event_type]

    def stage_records(self, stage: Stage) -> list[tuple[str, Mapping[str, Any]]]:
        """(event type, payload) of every record belonging to a stage, in order."""
        events = set(stage.events)
        return [(r.type, r.payload) for r in self.history if r.type in events]

    @property
    def ended(self) -> bool:
        """True once a meeting rejected the draft: the case ends without a decision."""
        return any(p["decision"] == "rejected" for p in self.records("meeting-held"))

    def statuses(self, pack: PolicyPack) -> dict[str, StageStatus]:
        """Every stage's status, in the pack's order."""
        ended = self.ended
        return {
            s.id: stage_status(s, self.stage_records(s), flags=self.flags, ended=ended) for s in pack.stages
        }

    @property
    def acknowledgements(self) -> list[tuple[Record, Mapping[str, str]]]:
        """Every acknowledged warning with the record that carries it."""
        return [(r, a) for r in self.history for a in r.acknowledgements]


def launch_state(ev: StoredEvent) -> CaseState:
    """The state a `case-launched` event creates."""
    p = payload_values(ev.type, ev.payload)
    return CaseState(
        case_id=ev.case_id,
        title=p["title"],
        category=p["category"],
        organ=p["organ"],
        lead_unit=p["lead_unit"],
        flags=frozenset(p["flags"]),
        policy=p["policy"],
        policy_hash=p["policy_hash"],
        launched_on=p["launched_on"],
        launched_by=ev.actor,
        co_units=tuple(p["co_units"]),
        catalog_item=p["catalog_item"],
        seq=ev.seq,
    )


def evolve(state: CaseState, ev: StoredEvent) -> CaseState:
    """The state after one more event."""
    record = Record(
        seq=ev.seq,
        type=ev.type,
        payload=payload_values(ev.type, ev.payload),
        recorded_at=ev.recorded_at,
        actor=ev.actor,
        role=ev.role,
        acknowledgements=tuple(ev.acknowledgements),
    )
    if ev.type == "attempt-refused":
        return replace(state, refused=state.refused + (record,), seq=ev.seq)
    return replace(state, history=state.history + (record,), seq=ev.seq)


def replay(events: Sequence[StoredEvent] | Iterable[StoredEvent]) -> CaseState:
    """Fold a case's events, in order, into its state."""
    it = iter(events)
    first = next(it)
    if first.type != "case-launched":
        raise ValueError(f"{first.case_id}: the first event is {first.type}, not case-launched")
    state = launch_state(first)
    for ev in it:
        state = evolve(state, ev)
    return state

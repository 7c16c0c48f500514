"""Use cases for auditors: replay a case as of any moment with every event's rule checks, and verify cases —
integrity of the chain, then every rule of the case's pinned pack re-run over the whole history. Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence

from flows.cases import CaseView, _load_case, case_calendar, pack_of, view_of
from flows.clock import local_date, now
from flows.documents import blob_intact
from flows.workspace import Workspace, WorkspaceFacts, read_facts
from models import store
from models.db import read_transaction
from models.integrity import Break, verify_stream
from models.state import CaseState, evolve, launch_state
from models.store import WORKSPACE_STREAM, StoredEvent
from policies.errors import CalendarNotLoaded, IntegrityFailure
from policies.findings import Finding
from policies.rules import RuleContext, check_event, checks_for


@dataclass(frozen=True)
class CheckedEvent:
    """One event with the rules it was judged by and what they found (acknowledged warnings included)."""

    seq: int
    type: str
    recorded_at: str
    actor: str
    role: str
    rules_checked: tuple[str, ...]
    findings: tuple[Finding, ...]
    acknowledgements: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "type": self.type,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "role": self.role,
            "rules_checked": list(self.rules_checked),
            "findings": [f.to_json() for f in self.findings],
            "acknowledgements": list(self.acknowledgements),
        }


def recheck(events: Sequence[StoredEvent], facts: WorkspaceFacts) -> Iterator[tuple[CheckedEvent, CaseState]]:
    """Replay a case event by event, re-running the rules of its pinned pack on the state before each event."""
    state = launch_state(events[0])
    pack = pack_of(state)
    calendar = case_calendar(facts, pack)
    yield CheckedEvent(events[0].seq, events[0].type, events[0].recorded_at, events[0].actor, events[0].role,
                       ("SCP-02", "SCP-03", "ROLE-01"), (), ()), state
    for ev in events[1:]:
        findings: tuple[Finding, ...] = ()
        rules: tuple[str, ...] = ()
        if ev.type != "attempt-refused":
            next_state = evolve(state, ev)
            ctx = RuleContext(
                event=ev.type,
                payload=next_state.history[-1].payload,
                case=state,
                pack=pack,
                calendar=calendar,
                role=ev.role,
                today=local_date(ev.moment),
                statuses=state.statuses(pack),
            )
            acked = {a["rule"] for a in ev.acknowledgements}
            try:
                found = check_event(ctx)
            except CalendarNotLoaded as exc:
                found = list(exc.findings)
            findings = tuple(
                Finding(f.rule, f.article, f.enforcement, f.message, f.values, acknowledged=f.rule in acked and f.enforcement == "WARN")
                for f in found
            )
            rules = ("ROLE-01", "SEQ-01") + tuple(checks_for(ev.type))
            state = next_state
        else:
            state = evolve(state, ev)
        yield CheckedEvent(ev.seq, ev.type, ev.recorded_at, ev.actor, ev.role, rules, findings,
                           tuple(ev.acknowledgements)), state


@dataclass(frozen=True)
class Replay:
    """A case as it stood at a moment, and every event up to then with its checks."""

    view: CaseView
    events: tuple[CheckedEvent, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"case": self.view.to_json(), "events": [e.to_json() for e in self.events]}


def replay_case(ws: Workspace, case_id: str, *, as_of: datetime | None = None) -> Replay:
    """The auditor's replay: state as of `as_of` (default now) and each event with actor, role and rule checks."""
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        events, state = _load_case(conn, case_id, as_of=as_of)
    checked = tuple(c for c, _ in recheck(events, facts))
    pack = pack_of(state)
    view = view_of(state, pack, case_calendar(facts, pack), local_date(as_of or now(facts)), as_of)
    return Replay(view, checked)


@dataclass(frozen=True)
class CaseVerdict:
    """One case's verdict: intact or where it breaks, findings by rule id, acknowledged warnings."""

    case_id: str
    intact: bool
    events: int
    broken: Break | None = None
    findings: tuple[dict[str, Any], ...] = ()
    acknowledged: tuple[dict[str, Any], ...] = ()
    refused_attempts: int = 0
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: {"case_id", "intact", "findings": [{"rule", …}], …}."""
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "intact": self.intact,
            "events": self.events,
            "findings": list(self.findings),
            "acknowledged": list(self.acknowledged),
            "refused_attempts": self.refused_attempts,
        }
        if self.broken:
            out["broken_at"] = {"seq": self.broken.seq, "position": self.broken.position, "reason": self.broken.reason}
        if self.problem:
            out["problem"] = self.problem
        return out


@dataclass(frozen=True)
class VerifyReport:
    """Every verdict; exit 4 when any case is not intact, else 5 when there are findings, else 0."""

    cases: tuple[CaseVerdict, ...]
    workspace: CaseVerdict | None = None
    checked_at: str = ""
    notes: tuple[str, ...] = field(default=())
    checkpoint: Any = None  # a CheckpointVerdict when a checkpoint was given

    @property
    def exit_code(self) -> int:
        """The contract's exit code for this report."""
        verdicts = self.cases + ((self.workspace,) if self.workspace else ())
        if any(not v.intact for v in verdicts) or (self.checkpoint is not None and not self.checkpoint.ok):
            return 4
        if any(v.findings for v in verdicts):
            return 5
        return 0

    def to_json(self) -> dict[str, Any]:
        """The JSON contract."""
        out: dict[str, Any] = {"cases": [c.to_json() for c in self.cases], "checked_at": self.checked_at}
        if self.workspace:
            out["workspace"] = self.workspace.to_json()
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint.to_json()
        out["exit_code"] = self.exit_code
        return out


def verify_case_events(
    events: Sequence[StoredEvent], facts: WorkspaceFacts, blob_ok: Callable[[str], bool] | None = None
) -> CaseVerdict:
    """Verify one case's stored events: the chain, every referenced document, then every rule again."""
    case_id = events[0].case_id
    broken = verify_stream(events)
    if broken:
        return CaseVerdict(case_id, False, len(events), broken)
    if blob_ok is not None:
        bad = [e for e in events if e.type == "document-attached" and not blob_ok(e.payload["sha256"])]
        if bad:
            e = bad[0]
            return CaseVerdict(case_id, False, len(events), problem=(
                f"document {e.payload['display_name']!r} of event {e.seq} (sha256 {e.payload['sha256'][:12]}…) is "
                "missing from the document store or no longer matches its hash"))
    if events[0].type != "case-launched":
        return CaseVerdict(case_id, False, len(events), problem="the first event is not case-launched")
    findings: list[dict[str, Any]] = []
    acknowledged: list[dict[str, Any]] = []
    refused = 0
    try:
        for checked, _ in recheck(events, facts):
            refused += checked.type == "attempt-refused"
            for f in checked.findings:
                item = {"seq": checked.seq, "event": checked.type, "actor": checked.actor, **f.to_json()}
                if f.acknowledged:
                    ack = next(a for a in checked.acknowledgements if a["rule"] == f.rule)
                    acknowledged.append({**item, "reason": ack["reason"]})
                else:
                    findings.append(item)
    except IntegrityFailure as exc:
        return CaseVerdict(case_id, False, len(events), problem=exc.message)
    return CaseVerdict(case_id, True, len(events), None, tuple(findings), tuple(acknowledged), refused)


def verify_cases(ws: Workspace, case_ids: Sequence[str] = (), *, checkpoint: Any = None, public_key: Any = None) -> VerifyReport:
    """`audit verify`: the named cases, or every case and the workspace stream; and, given a checkpoint kept outside
    the database, that the history still holds the tree it signed (catches truncation and wholesale rewrites)."""
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        ids = list(case_ids) or store.all_stream_ids(conn)
        verdicts = []
        for case_id in ids:
            events = store.load_stream(conn, case_id)
            if not events:
                _load_case(conn, case_id)  # raises UnknownCase
            verdicts.append(verify_case_events(events, facts, lambda h: blob_intact(ws, h)))
        workspace = None
        if not case_ids:
            wbreak = verify_stream(facts.events)
            workspace = CaseVerdict(WORKSPACE_STREAM, wbreak is None, len(facts.events), wbreak)
    cp_verdict = None
    if checkpoint is not None:
        from flows.proofs import verify_against

        cp_verdict = verify_against(ws, checkpoint, public_key)
    return VerifyReport(tuple(verdicts), workspace, now(facts).isoformat(), checkpoint=cp_verdict)

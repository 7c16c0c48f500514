"""Use cases for auditors: replay a case as of any moment with every event's rule checks, and verify cases —
integrity of the chain, then every rule of the case's pinned pack re-run over the whole history. Read-only."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import islice
from typing import Any, Callable, Iterator, Mapping, Sequence

from flows.usecases.show import CaseView, view_of
from flows.usecases.unit_of_work import case_calendar, load_case, pack_of
from flows.usecases.moments import CaseLoader, WorkspaceTimeline, key_of, rule_context
from flows.usecases.clock import local_date, now
from flows.usecases.recorded_on import recorded_on
from flows.usecases.comment_integrity import StoredComments
from flows.usecases.documents import blob_intact
from flows.usecases.workspace import Workspace, WorkspaceFacts, read_facts
from models import store
from models.canonical import canonical_bytes
from models.db import read_transaction
from models.accounts import AccountsTimeline
from models.integrity import Break, verify_stream
from models.state import CaseState, evolve_record, launch_state, record_of
from models.store import gc_paused
from models.store import WORKSPACE_STREAM, StoredEvent
from policies.calendar import WorkingDayCalendar
from policies.errors import CalendarNotLoaded, IntegrityFailure
from policies.findings import Finding
from policies.limits import payload_finding, payload_limits, within_bounds
from policies.pack import DEFAULT_PACK, PolicyPack, load_pack
from policies.rules import RuleContext, check_event, checks_for, to_finding
from policies.rules.auth import standing_violation


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


_Rechecked = tuple[StoredEvent, tuple[str, ...], tuple[Finding, ...], tuple[Any, ...], CaseState, "CalendarChange | None"]


@dataclass(frozen=True)
class CalendarChange:
    """An event whose verdict today's calendar would change (CAL-08): listed, never a finding — the event was judged
    on the calendar as it stood when it was recorded."""

    seq: int
    event: str
    as_recorded: tuple[Finding, ...]
    with_todays_calendar: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "seq": self.seq,
            "event": self.event,
            "as_recorded": [f.to_json() for f in self.as_recorded],
            "with_todays_calendar": [f.to_json() for f in self.with_todays_calendar],
        }


class _Watched:
    """A calendar that notes whether a rule consulted it (only such verdicts can depend on the calendar)."""

    __slots__ = ("_cal", "used")

    def __init__(self, cal: WorkingDayCalendar) -> None:
        self._cal = cal
        self.used = False

    def __getattr__(self, name: str) -> Any:
        self.used = True
        return getattr(self._cal, name)


def _no_cases(case_id: str) -> Sequence[StoredEvent]:
    return ()


def _verdict(ctx: RuleContext, acks: Sequence[Mapping[str, Any]]) -> tuple[Finding, ...]:
    """The findings of `check_event`, a WARN marked acknowledged when the record acknowledged its rule."""
    try:
        found = check_event(ctx)
    except CalendarNotLoaded as exc:
        found = list(exc.findings)
    if not found:
        return ()
    acked = {a["rule"] for a in acks}
    return tuple(
        Finding(f.rule, f.article, f.enforcement, f.message, f.values, acknowledged=f.rule in acked and f.enforcement == "WARN")
        for f in found
    )


def _rechecked(
    events: Sequence[StoredEvent],
    facts: WorkspaceFacts,
    *,
    timeline: WorkspaceTimeline | None = None,
    load_case: CaseLoader | None = None,
) -> Iterator[_Rechecked]:
    """One pass over a case: (event, rules checked, findings, acknowledgements, state after it, calendar change) for
    every event, the launch included.

    Each event is judged by `check_event` on the context the live check built (flows/usecases/moments.py): the state before
    the event (a prefix view of the case's shared log, models/state.py, whose stage statuses the log keeps folded),
    the calendar and the named cases as they stood when it was recorded. An event judged on an older calendar than
    today's, whose rules consulted the calendar, is judged again on today's; a different verdict is reported as a
    calendar change (CAL-08)."""
    timeline = timeline if timeline is not None else WorkspaceTimeline(facts)
    load = load_case if load_case is not None else _no_cases
    latest = timeline.latest
    checked: dict[str, tuple[str, ...]] = {}
    first = events[0]
    state = launch_state(first)
    pack = pack_of(state)
    limits = payload_limits(pack)  # LIM-01, checked below on each stored body (policies/limits.py)
    for i, ev in enumerate(events):
        record = record_of(ev)
        next_state = state if i == 0 else evolve_record(state, record)
        acks = record.acknowledgements
        findings: tuple[Finding, ...] = ()
        rules: tuple[str, ...] = ()
        change = None
        event = record.type
        if event != "attempt-refused":
            ctx, version = rule_context(
                event=event, payload=record.payload, state=state, pack=pack, role=ev.role, actor=ev.actor,
                today=recorded_on(ev), key=key_of(ev), timeline=timeline, load_case=load,
            )
            watched = None
            if version != latest:
                watched = _Watched(ctx.calendar)
                ctx = replace(ctx, calendar=watched)  # type: ignore[arg-type]
            findings = _verdict(ctx, acks)
            if watched is not None and watched.used:
                today_cal = timeline.calendar(latest, pack.param("count_makeup_days"))
                again = _verdict(replace(ctx, calendar=today_cal), acks)
                if again != findings:
                    change = CalendarChange(ev.seq, event, findings, again)
            known = checked.get(event)
            if known is None:
                known = checked[event] = tuple(checks_for(event, pack))
            rules = known
        if not within_bounds(ev.body, limits, record.depth_bound):  # LIM-01: only a body that might be over is measured
            over = payload_finding(pack, ev.payload, lambda: len(canonical_bytes(ev.payload)), ev.body)
            if over is not None:
                findings += (over,)
        state = next_state
        yield ev, rules, findings, acks, state, change


def workspace_auth_findings(facts: WorkspaceFacts) -> tuple[dict[str, Any], ...]:
    """AUTH-01 over the workspace stream itself (account changes, calendar loads, clock moves): each by an account
    that held its role when it was recorded, once the workspace had accounts (judged under the newest default pack,
    which names the roles of account changes)."""
    pack = load_pack(DEFAULT_PACK)
    accounts = AccountsTimeline(facts.events)
    out = []
    for ev in facts.events:
        name = ev.actor.split(":", 1)[1] if ":" in ev.actor else ev.actor
        v = standing_violation(accounts.at(ev.position), name, ev.role, f"record `{ev.type}`")
        if v is not None:
            out.append({"seq": ev.seq, "event": ev.type, "actor": ev.actor, **to_finding(pack, v).to_json()})
    return tuple(out)


def recheck(
    events: Sequence[StoredEvent], facts: WorkspaceFacts, load_case: CaseLoader | None = None
) -> Iterator[tuple[CheckedEvent, CaseState]]:
    """Replay a case event by event, re-running the rules of its pinned pack on the state before each event."""
    for ev, rules, findings, acks, state, _ in _rechecked(events, facts, load_case=load_case):
        yield CheckedEvent(ev.seq, ev.type, ev.recorded_at, ev.actor, ev.role, rules, findings, acks), state


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
        events, state = load_case(conn, case_id, as_of=as_of)
        checked = tuple(c for c, _ in recheck(events, facts, _case_loader(conn)))
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
    calendar_changes: tuple[CalendarChange, ...] = ()  # CAL-08: listed, never findings

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: {"case_id", "intact", "findings": [{"rule", …}], "calendar_changes": […], …}."""
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "intact": self.intact,
            "events": self.events,
            "findings": list(self.findings),
            "acknowledged": list(self.acknowledged),
            "refused_attempts": self.refused_attempts,
            "calendar_changes": [c.to_json() for c in self.calendar_changes],
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
    def verdicts(self) -> tuple[CaseVerdict, ...]:
        """Every case's verdict, then the workspace stream's when it was checked."""
        return self.cases + ((self.workspace,) if self.workspace else ())

    @property
    def exit_code(self) -> int:
        """The contract's exit code for this report."""
        verdicts = self.verdicts
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
    events: Sequence[StoredEvent],
    facts: WorkspaceFacts,
    blob_ok: Callable[[str], bool] | None = None,
    *,
    timeline: WorkspaceTimeline | None = None,
    load_case: CaseLoader | None = None,
) -> CaseVerdict:
    """Verify one case's stored events: the chain, every referenced document, then every rule again (the launch
    included), each on the calendar and the named cases as they stood (`load_case` reads another case's events; without
    it a named case counts as absent)."""
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
    changes: list[CalendarChange] = []
    refused = 0
    try:
        for ev, _, found, acks, _, change in _rechecked(events, facts, timeline=timeline, load_case=load_case):
            if ev.type == "attempt-refused":
                refused += 1
            if change is not None:
                changes.append(change)
            for f in found:
                item = {"seq": ev.seq, "event": ev.type, "actor": ev.actor, **f.to_json()}
                if f.acknowledged:
                    ack = next(a for a in acks if a["rule"] == f.rule)
                    acknowledged.append({**item, "reason": ack["reason"]})
                else:
                    findings.append(item)
    except IntegrityFailure as exc:
        return CaseVerdict(case_id, False, len(events), problem=exc.message)
    return CaseVerdict(case_id, True, len(events), None, tuple(findings), tuple(acknowledged), refused,
                       calendar_changes=tuple(changes))


def _case_loader(conn: Any) -> CaseLoader:
    """Another case's events, read once per audit (adjustments name their child cases)."""
    cache: dict[str, list[StoredEvent]] = {}

    def load(case_id: str) -> Sequence[StoredEvent]:
        events = cache.get(case_id)
        if events is None:
            events = cache[case_id] = store.load_stream(conn, case_id) if case_id != WORKSPACE_STREAM else []
        return events

    return load


def verify_ids(ws: Workspace, conn: Any, ids: Sequence[str], comments: StoredComments | None = None) -> list[CaseVerdict]:
    """The verdicts of the cases `ids`, in that order, read in the open read transaction `conn`: each case read by
    id, its chain checked and its rules re-run in one pass over its events, its comments checked against its
    history. (What one worker of `audit verify --jobs N` runs over its share, and the single process over all.)"""
    facts = read_facts(conn)
    timeline = WorkspaceTimeline(facts)
    loader = _case_loader(conn)
    if comments is None:  # comment and disposition rows against the history (flows/usecases/comment_integrity.py)
        comments = StoredComments(conn)
    verdicts = []
    for case_id in ids:
        events = store.load_stream(conn, case_id)
        if not events:
            load_case(conn, case_id)  # raises UnknownCase
        verdict = verify_case_events(events, facts, lambda h: blob_intact(ws, h), timeline=timeline, load_case=loader)
        verdicts.append(comments.check(events, verdict))
        del events
    return verdicts


def verify_cases(ws: Workspace, case_ids: Sequence[str] = (), *, checkpoint: Any = None, public_key: Any = None,
                 jobs: int = 1) -> VerifyReport:
    """`audit verify`: the named cases, or every case and the workspace stream; and, given a checkpoint kept outside
    the database, that the history still holds the tree it signed (catches truncation and wholesale rewrites).

    One read transaction, the garbage collector paused; the workspace stream is folded once (the calendars as they
    stood). With `jobs` > 1 and enough events the cases are verified by that many worker processes
    (flows/usecases/audit_parallel.py) while this one checks the workspace stream; the report is the same."""
    from flows.usecases.audit_parallel import Workers, plan
    from flows.usecases.catalog import workspace_findings  # the parent's only: a worker never imports it

    with read_transaction(ws.engine) as conn, gc_paused():
        shares = plan(conn, case_ids, jobs)
        with Workers(ws, conn, shares) if shares else nullcontext() as workers:
            facts = read_facts(conn)
            ids = list(case_ids) or store.all_stream_ids(conn)  # with workers: read while they run
            comments = StoredComments(conn)
            verdicts = verify_ids(ws, conn, ids, comments) if workers is None else []
            workspace = None
            if not case_ids:
                wbreak = verify_stream(facts.events)
                workspace = CaseVerdict(WORKSPACE_STREAM, wbreak is None, len(facts.events), wbreak,
                                        findings=() if wbreak else (tuple(workspace_findings(facts))
                                                                    + workspace_auth_findings(facts)),
                                        refused_attempts=sum(1 for e in facts.events if e.type == "attempt-refused"))
                if stray := comments.unclaimed(ids):
                    workspace = CaseVerdict(WORKSPACE_STREAM, False, len(facts.events), wbreak, problem="; ".join(stray))
            if workers is not None:
                verdicts = workers.verdicts(ids)
    cp_verdict = None
    if checkpoint is not None:
        from flows.usecases.proofs import verify_against

        cp_verdict = verify_against(ws, checkpoint, public_key)
    return VerifyReport(tuple(verdicts), workspace, now(facts).isoformat(), checkpoint=cp_verdict)

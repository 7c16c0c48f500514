"""Use cases for running a case: launch it, record an event, show it, list cases. Plain functions, no Prefect.

Each command is one transaction: read the case's events, replay them, let the policy decide, append, commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

from pydantic import ValidationError
from sqlalchemy import Connection

from flows.calendars import calendar_for
from flows.clock import local_date, now
from flows.workspace import Actor, Workspace, WorkspaceFacts, read_facts
from models import store
from models.canonical import canonical_bytes, sha256_hex
from models.db import read_transaction, write_transaction
from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE, SCHEMA_VERSION, AttemptRefused, CaseLaunched, dates_in
from models.state import CaseState, replay
from models.store import NewEvent, StoredEvent
from policies.calendar import WorkingDayCalendar
from policies.errors import BadInput, CalendarNotLoaded, ConcurrentModification, IdempotencyConflict, IntegrityFailure, RuleRefusal, UnknownCase
from policies.findings import Finding
from policies.pack import DEFAULT_PACK, PolicyPack, load_pack, pack_by_hash
from policies.procedure import RECORDED, StageStatus, awaiting_name
from policies.rules import RuleContext, check_event
from policies.rules.launch import check_launch


# --- input ------------------------------------------------------------------------------------------------------


def bad_payload(event: str, exc: ValidationError) -> BadInput:
    """A pydantic error as a sentence naming each field."""
    problems = []
    for err in exc.errors()[:8]:
        where = ".".join(str(p) for p in err["loc"]) or "(payload)"
        problems.append(f"{where}: {err['msg']}")
    more = f" (and {exc.error_count() - 8} more)" if exc.error_count() > 8 else ""
    first = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else None
    return BadInput(
        f"the `{event}` payload is not valid — " + "; ".join(problems) + more + f". See `juece schema {event}`.",
        field=first,
        problems=problems,
    )


def validate_payload(event: str, data: Any) -> Any:
    """Validate a payload for a recordable event; the model instance, or `BadInput` naming the fields."""
    if event not in EVENT_TYPES or event in ENGINE_EVENTS:
        raise BadInput(
            f"there is no event {event!r} to record; events: {', '.join(RECORDABLE)}", field="EVENT", event=event
        )
    if not isinstance(data, Mapping):
        raise BadInput(f"the `{event}` payload must be one JSON object", field="(payload)")
    try:
        return EVENT_TYPES[event].model_validate(dict(data))
    except ValidationError as exc:
        raise bad_payload(event, exc) from exc


# --- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What `record` did."""

    case_id: str
    seq: int
    event: str
    acknowledged: tuple[Finding, ...] = ()
    repeated: bool = False  # the same command was already recorded under its idempotency key

    def to_json(self) -> dict[str, Any]:
        """The JSON contract."""
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "event": self.event,
            "acknowledged": [f.to_json() for f in self.acknowledged],
            "repeated": self.repeated,
        }


# --- the transaction --------------------------------------------------------------------------------------------


def _load_case(conn: Connection, case_id: str, *, as_of: datetime | None = None) -> tuple[list[StoredEvent], CaseState]:
    events = store.load_stream(conn, case_id, as_of=as_of)
    if not events or events[0].type != "case-launched":
        if as_of is not None and store.load_stream(conn, case_id):
            raise BadInput(f"case {case_id} did not exist yet at {as_of.isoformat()}", field="--as-of")
        raise UnknownCase(f"there is no case {case_id!r} in this workspace (see `juece case list`)", case_id=case_id)
    return events, replay(events)


def pack_of(state: CaseState) -> PolicyPack:
    """The pack version a case was launched under (by the content hash it pinned); a case whose pinned version this
    installation does not ship cannot be judged, and is refused rather than judged by another version."""
    pack = pack_by_hash(state.policy, state.policy_hash)
    if pack is None:
        raise IntegrityFailure(
            f"case {state.case_id} was launched under policy pack {state.policy} with hash {state.policy_hash[:12]}…, "
            f"and no published version of {state.policy} in this installation has that hash; a published pack is "
            "never edited, so this installation cannot judge the case",
            case_id=state.case_id,
        )
    return pack


def case_calendar(facts: WorkspaceFacts, pack: PolicyPack) -> WorkingDayCalendar:
    """The calendar with the pack's CAL-01 switch."""
    return calendar_for(facts, count_makeup_days=pack.param("count_makeup_days"))


def _key(*parts: Any) -> str:
    return hashlib.sha256(canonical_bytes(list(parts))).hexdigest()


def launch_case(
    ws: Workspace,
    actor: Actor,
    *,
    title: str,
    category: str,
    organ: str,
    lead_unit: str,
    catalog_item: str | None = None,
    flags: Sequence[str] = (),
    co_units: Sequence[str] = (),
    policy: str = DEFAULT_PACK,
    idempotency_key: str | None = None,
) -> tuple[str, bool]:
    """Launch a case (legal office); returns the new case id, and False if the same launch was already recorded."""
    pack = load_pack(policy)
    roles, article = pack.roles_for("case-launched")
    if actor.role not in roles:
        finding = Finding(
            "ROLE-01", article, "HARD", f"a {actor.role} cannot launch a case; the legal office (法制机构) does.", {}
        )
        raise RuleRefusal(finding.sentence(), findings=[finding])
    findings = check_launch(pack, category)
    if findings:
        raise RuleRefusal(findings[0].sentence(), findings=findings)
    # Two launches at the same moment may both pick the next case number; the loser simply takes the one after.
    for attempt in range(_LAUNCH_ATTEMPTS):
        try:
            return _launch_once(ws, actor, pack, idempotency_key, dict(
                title=title, category=category, organ=organ, lead_unit=lead_unit, co_units=tuple(co_units),
                catalog_item=catalog_item, flags=tuple(dict.fromkeys(flags)),
            ))
        except ConcurrentModification:
            if attempt == _LAUNCH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_LAUNCH_ATTEMPTS = 5


def _launch_once(ws: Workspace, actor: Actor, pack: PolicyPack, idempotency_key: str | None, fields: dict[str, Any]) -> tuple[str, bool]:
    with write_transaction(ws.engine) as conn:
        return launch_in(conn, actor, pack, idempotency_key, fields)


def launch_in(conn: Connection, actor: Actor, pack: PolicyPack, idempotency_key: str | None, fields: dict[str, Any]) -> tuple[str, bool]:
    """The body of `case launch`, inside the caller's write transaction."""
    facts = read_facts(conn)
    moment = now(facts)
    try:
        payload = CaseLaunched(**fields, policy=pack.id, policy_hash=pack.hash, launched_on=local_date(moment))
    except ValidationError as exc:
        raise bad_payload("case-launched", exc) from exc
    body = payload.model_dump(mode="json", by_alias=True)
    key = idempotency_key or "launch:" + _key({k: v for k, v in body.items() if k != "launched_on"}, actor.label)
    existing = store.find_by_key(conn, key)
    if existing is not None:
        if existing.type != "case-launched":
            raise IdempotencyConflict(f"the idempotency key {key!r} was already used for another record", key=key)
        return existing.case_id, False
    prefix = f"JC-{payload.launched_on.year}-"
    case_id = f"{prefix}{store.count_with_prefix(conn, prefix) + 1:04d}"
    store.append(
        conn,
        case_id,
        [],
        [NewEvent("case-launched", SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
        moment,
    )
    return case_id, True


def record_event(
    ws: Workspace,
    actor: Actor,
    case_id: str,
    event: str,
    data: Any,
    *,
    acknowledge: Sequence[tuple[str, str]] = (),
    idempotency_key: str | None = None,
    expected_seq: int | None = None,
) -> Recorded:
    """Record one event on a case, if the case's policy pack allows it; refuse naming the rule otherwise.

    `expected_seq` is optimistic concurrency for a user who looked at the case first: the record is written only if
    the case still has exactly that many events, else someone else wrote first (exit 6)."""
    payload = validate_payload(event, data)
    acks = _parse_acks(acknowledge)
    with write_transaction(ws.engine) as conn:
        result, refusal = record_in(conn, actor, case_id, event, payload, acks, idempotency_key, expected_seq)
    if refusal is not None:  # raised after the commit, so the refused attempt stays in the history
        raise refusal
    assert result is not None
    return result


def record_in(
    conn: Connection,
    actor: Actor,
    case_id: str,
    event: str,
    payload: Any,
    acks: dict[str, str],
    idempotency_key: str | None = None,
    expected_seq: int | None = None,
) -> tuple[Recorded | None, RuleRefusal | None]:
    """The body of `record`, inside the caller's write transaction: (the record, None) or (None, the refusal)."""
    body = payload.model_dump(mode="json", by_alias=True)
    key = idempotency_key or "record:" + _key(case_id, event, body, actor.label, sorted(acks.items()))
    existing = store.find_by_key(conn, key)
    if existing is not None:
        if existing.case_id != case_id or existing.type != event or existing.payload != body:
            raise IdempotencyConflict(
                f"the idempotency key {key!r} was already used for a different record "
                f"({existing.case_id} #{existing.seq} {existing.type})",
                key=key,
            )
        return Recorded(case_id, existing.seq, event, repeated=True), None
    facts = read_facts(conn)
    moment = now(facts)
    today = local_date(moment)
    future = {k: v for k, v in dates_in(payload).items() if v > today}
    if future:
        name, day = next(iter(future.items()))
        raise BadInput(
            f"{name} is {day}, which is after today ({today}); record what has happened, when it has happened",
            field=name,
        )
    events, state = _load_case(conn, case_id)
    if expected_seq is not None and events[-1].seq != expected_seq:
        raise ConcurrentModification(
            f"{case_id} has {events[-1].seq} events now, not the {expected_seq} you looked at: someone else wrote "
            "first. Look at the case again (`juece case show`) and retry",
            case_id=case_id, expected=expected_seq, actual=events[-1].seq,
        )
    pack = pack_of(state)
    ctx = RuleContext(
        event=event,
        payload=payload.model_dump(by_alias=True),
        case=state,
        pack=pack,
        calendar=case_calendar(facts, pack),
        role=actor.role,
        today=today,
        statuses=state.statuses(pack),
    )
    try:
        findings = check_event(ctx)
    except CalendarNotLoaded as exc:  # a refusal like any other: kept as an attempt
        findings = list(exc.findings)
    if not findings and event == "adjustment-completed":
        findings = _child_case_decided(conn, pack, ctx.payload["child_case"])
    acknowledged = _apply_acks(findings, acks)
    blocking = [f for f in findings if f.enforcement == "HARD" or (f.enforcement == "WARN" and not f.acknowledged)]
    if blocking:
        if pack.param("record_refused_attempts") and not any(f.rule == "ROLE-01" for f in blocking):
            _record_attempt(conn, events, event, body, actor, blocking, key, moment)
        return None, _refusal(event, blocking)
    new = NewEvent(
        event,
        SCHEMA_VERSION,
        body,
        actor.label,
        actor.role,
        key,
        pack.id,
        pack.hash,
        tuple(
            {"rule": f.rule, "reason": acks[f.rule], "message": f.message, "article": f.article} for f in acknowledged
        ),
    )
    (stored,) = store.append(conn, case_id, events, [new], moment)
    return Recorded(case_id, stored.seq, event, tuple(acknowledged)), None


def _child_case_decided(conn: Connection, pack: PolicyPack, child_id: str) -> list[Finding]:
    """ADJ-01 across cases: an adjustment takes effect only once its child case was decided at a meeting."""
    _, child = _load_case(conn, child_id)
    decided = [m for m in child.records("meeting-held") if m["decision"] in ("approved", "approved-with-changes")]
    if decided:
        return []
    info = pack.rules["ADJ-01"]
    return [Finding("ADJ-01", info.article, "HARD",
                    f"the adjustment case {child_id} has not been decided at a meeting yet; the decision is not changed "
                    "or stopped before the statutory procedure is complete (未经法定程序不得随意变更或者停止执行).",
                    {"child_case": child_id})]


def _parse_acks(acknowledge: Sequence[tuple[str, str]]) -> dict[str, str]:
    acks: dict[str, str] = {}
    for rule, reason in acknowledge:
        if not reason or not reason.strip():
            raise BadInput(f"--acknowledge {rule} needs a written reason (--reason TEXT)", field="--reason")
        acks[rule.strip().upper()] = reason.strip()
    return acks


def _apply_acks(findings: list[Finding], acks: dict[str, str]) -> list[Finding]:
    """Mark acknowledged WARN findings; an acknowledgement of a rule that raised no warning is refused."""
    warned = {f.rule for f in findings if f.enforcement == "WARN"}
    stray = [r for r in acks if r not in warned]
    if stray and not any(f.enforcement == "HARD" for f in findings):
        raise BadInput(
            f"--acknowledge {', '.join(stray)}: that rule raised no warning for this record, so there is nothing to "
            "acknowledge (an acknowledgement becomes part of the record; it must match a warning)",
            field="--acknowledge",
        )
    out = []
    for i, f in enumerate(findings):
        if f.enforcement == "WARN" and f.rule in acks:
            findings[i] = Finding(f.rule, f.article, f.enforcement, f.message, f.values, acknowledged=True)
            out.append(findings[i])
    return out


def _refusal(event: str, blocking: list[Finding]) -> RuleRefusal:
    lines = [f.sentence() + ("" if f.enforcement == "HARD" else f" — a warning: record it with --acknowledge {f.rule} --reason TEXT") for f in blocking]
    head = f"refused: `{event}` was not recorded. " if len(lines) > 1 else "refused: "
    return RuleRefusal(head + " | ".join(lines), findings=blocking, event=event)


def _record_attempt(
    conn: Connection,
    events: list[StoredEvent],
    event: str,
    body: dict[str, Any],
    actor: Actor,
    blocking: list[Finding],
    key: str,
    moment: datetime,
) -> None:
    """Keep the refused attempt in the history (once per identical attempt): who, when, which rules."""
    attempt_key = "attempt:" + key
    if store.find_by_key(conn, attempt_key) is not None:
        return
    payload = AttemptRefused(
        attempted_event=event,
        rules=tuple(dict.fromkeys(f.rule for f in blocking)),
        message=blocking[0].sentence()[:2000],
        payload_sha256=sha256_hex(canonical_bytes(body)),
    )
    store.append(
        conn,
        events[0].case_id,
        events,
        [NewEvent("attempt-refused", SCHEMA_VERSION, payload.model_dump(mode="json"), actor.label, actor.role, attempt_key)],
        moment,
    )


# --- reading ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageView:
    """One row of the stage table."""

    stage: str
    label: str
    status: str
    detail: str
    recorded_on: str | None  # local date of the settling record, when recorded

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: {"stage", "status", …}."""
        return {"stage": self.stage, "label": self.label, "status": self.status, "detail": self.detail, "recorded_on": self.recorded_on}


@dataclass(frozen=True)
class Deadline:
    """A date the case must respect, with the rule it comes from."""

    what: str
    due: str | None
    rule: str
    note: str = ""
    state: str = "open"  # open | met | overdue | unknown

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"what": self.what, "due": self.due, "rule": self.rule, "note": self.note, "state": self.state}


@dataclass(frozen=True)
class CaseView:
    """Everything `case show` prints."""

    case_id: str
    title: str
    category: str
    organ: str
    lead_unit: str
    flags: tuple[str, ...]
    policy: str
    policy_hash: str
    launched_on: str
    status: str
    stages: tuple[StageView, ...]
    next: tuple[dict[str, Any], ...]
    awaiting: str
    deadlines: tuple[Deadline, ...]
    acknowledged: tuple[dict[str, Any], ...]
    refused_attempts: tuple[dict[str, Any], ...]
    events: int
    as_of: str | None
    today: str
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `case show`."""
        return {
            "case_id": self.case_id,
            "title": self.title,
            "category": self.category,
            "organ": self.organ,
            "lead_unit": self.lead_unit,
            "flags": list(self.flags),
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            "launched_on": self.launched_on,
            "status": self.status,
            "stages": [s.to_json() for s in self.stages],
            "next": list(self.next),
            "awaiting": self.awaiting,
            "deadlines": [d.to_json() for d in self.deadlines],
            "acknowledged": list(self.acknowledged),
            "refused_attempts": list(self.refused_attempts),
            "events": self.events,
            "as_of": self.as_of,
            "today": self.today,
            "notes": list(self.notes),
        }


def case_status(state: CaseState, statuses: Mapping[str, StageStatus]) -> str:
    """open | decided | published | ended."""
    if state.ended:
        return "ended"
    if statuses.get("publication", StageStatus("pending")).status in RECORDED:
        return "published"
    if statuses.get("collective_discussion", StageStatus("pending")).status == "concluded":
        return "decided"
    return "open"


def next_steps(pack: PolicyPack, state: CaseState, statuses: Mapping[str, StageStatus]) -> tuple[str, list[dict[str, Any]]]:
    """What the case waits on: a state name, and the events that may be recorded next with who records them."""
    if state.ended:
        return "Ended", []
    for stage in pack.stages:
        st = statuses[stage.id]
        if st.status in RECORDED:
            continue
        if st.waiting_for and stage.id in ("legality_review", "collective_discussion"):
            candidates = [st.waiting_for]
        else:
            candidates = list(stage.activities + stage.conclusion)
            waivers = pack.param("waivers")
            for w in stage.waiver + stage.exemption:
                spec = waivers.get(w, {})
                if spec.get("refused_with_flag") in state.flags:
                    continue
                if spec.get("requires_flag") and spec["requires_flag"] not in state.flags:
                    continue
                candidates.append(w)
        steps = [{"event": e, "stage": stage.id, "roles": list(pack.roles_for(e)[0])} for e in candidates]
        return awaiting_name(stage, st), steps
    return "Complete", []


def deadlines_of(state: CaseState, calendar: WorkingDayCalendar, pack: PolicyPack, today: date) -> list[Deadline]:
    """The dates the case must respect, computed on the official calendar (CAL-05 shown, never guessed)."""
    out: list[Deadline] = []

    def guarded(what: str, rule: str, compute) -> None:  # type: ignore[no-untyped-def]
        try:
            out.append(compute())
        except CalendarNotLoaded as exc:
            out.append(Deadline(what, None, "CAL-05", exc.findings[0].message, "unknown"))

    days = pack.param("consultation_min_days")
    for c in state.records("consultation-opened"):
        def consultation(c=c) -> Deadline:  # type: ignore[no-untyped-def]
            period = calendar.period_end(c["published_on"], days)
            note = f"day {days} is {period.nominal_last_day}"
            if period.extended:
                note += f", a rest day: the period runs to {period.last_day} (CAL-03)"
            if c.get("shortened_reason"):
                note += f"; shortened: {c['shortened_reason']}"
            closed = bool(state.records("participation-concluded"))
            return Deadline("public consultation closes (公开征求意见截止)", c["deadline"].isoformat(), "PP-05", note,
                            "met" if closed else ("open" if today <= c["deadline"] else "closed"))
        guarded("public consultation closes", "PP-05", consultation)

    mat_days = pack.param("hearing_material_days")
    held = bool(state.records("hearing-held"))
    for h in state.records("hearing-announced"):
        def materials(h=h) -> Deadline:  # type: ignore[no-untyped-def]
            b = calendar.backward_deadline(h["scheduled_on"], mat_days)
            note = f"{mat_days} days before the hearing on {h['scheduled_on']}"
            if b.due_is_rest_day:
                note += (f"; {b.due} is a rest day and backward deadlines do not move (CAL-04): deliver by "
                         f"{b.suggested}, the last working day before it")
            state_ = "met" if held else ("overdue" if today > b.due else "open")
            return Deadline("hearing materials to every participant (听证材料送达)", b.due.isoformat(), "HRG-04", note, state_)
        guarded("hearing materials", "HRG-04", materials)

    submissions = state.records("legality-review-submitted")
    if submissions and not state.records("meeting-held"):
        basis = submissions[-1] if pack.param("legality_clock_restarts_on_resubmission") else submissions[0]
        wd = pack.param("legality_review_min_working_days")

        def review() -> Deadline:
            last = calendar.add_working_days(basis["submitted_on"], wd)
            makeup = [d for d in _dates_between(basis["submitted_on"], last) if calendar.is_makeup_day(d)]
            note = f"{wd} working days from {basis['submitted_on']}; a meeting on or before {last} needs LEG-04 acknowledged"
            if makeup:
                note += "; counts make-up working day(s) " + ", ".join(d.isoformat() for d in makeup) + " (调休上班日)"
            return Deadline("legality reviewer's 7 working days end (合法性审查时间)", last.isoformat(), "LEG-04", note,
                            "met" if today > last else "open")
        guarded("legality review time", "LEG-04", review)

    meetings = [m for m in state.records("meeting-held") if m["decision"] in ("approved", "approved-with-changes")]
    if meetings and not state.records("decision-published"):
        limit = pack.param("disclosure_limit_working_days")

        warn_at = pack.param("publication_warn_working_days")

        def disclosure() -> Deadline:
            due = calendar.add_working_days(meetings[-1]["held_on"], limit)
            warn = calendar.add_working_days(meetings[-1]["held_on"], warn_at)
            state_ = "overdue" if today > due else ("due-soon" if today >= warn else "open")
            return Deadline("publish the decision (20个工作日内公开)", due.isoformat(), "PUB-04",
                            f"{limit} working days from the meeting on {meetings[-1]['held_on']} (政府信息公开条例 art. 26); "
                            f"reminders from working day {warn_at}, {warn}", state_)
        guarded("publication limit", "PUB-04", disclosure)

    published = state.records("decision-published")
    if published and not state.ended:
        plan = published[-1].get("execution") or {}
        every = plan.get("report_every_days") or 90
        reports = [r["reported_on"] for r in state.records("execution-reported")]
        last = max(reports) if reports else published[-1]["published_on"]
        due = last + timedelta(days=every)
        feedback = sum(r["count"] for r in state.records("public-feedback-received"))
        threshold = pack.param("evaluation_feedback_threshold")
        if feedback >= threshold and not state.records("post-evaluation-done"):
            out.append(Deadline("consider a post-decision evaluation (决策后评估)", None, "PDE-01",
                                f"{feedback} opinions on execution received (threshold {threshold}; 条例第三十六条第一款第二项)",
                                "suggested"))
        out.append(Deadline("next execution report (执行情况报告)", due.isoformat(), "EXE-02",
                            f"every {every} days as the decision requires; last {'report' if reports else 'publication'} {last}",
                            "overdue" if today > due else ("due-soon" if (due - today).days <= 14 else "open")))
    return out


def _dates_between(start: date, end: date) -> list[date]:
    from datetime import timedelta

    return [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]


def view_of(state: CaseState, pack: PolicyPack, calendar: WorkingDayCalendar, today: date, as_of: datetime | None) -> CaseView:
    """The readable view of a case state."""
    statuses = state.statuses(pack)
    stages = []
    for s in pack.stages:
        st = statuses[s.id]
        recorded = [r for r in state.history if r.type in s.events]
        on = _record_date(recorded[-1].payload) if recorded and st.status in RECORDED else None
        stages.append(StageView(s.id, s.label, st.status, st.detail, on))
    awaiting, steps = next_steps(pack, state, statuses)
    acknowledged = tuple(
        {"seq": r.seq, "event": r.type, "rule": a["rule"], "reason": a["reason"], "actor": r.actor}
        for r, a in state.acknowledgements
    )
    refused = tuple(
        {"seq": r.seq, "attempted": r.payload["attempted_event"], "rules": list(r.payload["rules"]), "actor": r.actor,
         "recorded_at": r.recorded_at}
        for r in state.refused
    )
    return CaseView(
        case_id=state.case_id,
        title=state.title,
        category=state.category,
        organ=state.organ,
        lead_unit=state.lead_unit,
        flags=tuple(sorted(state.flags)),
        policy=state.policy,
        policy_hash=state.policy_hash,
        launched_on=state.launched_on.isoformat(),
        status=case_status(state, statuses),
        stages=tuple(stages),
        next=tuple(steps),
        awaiting=awaiting,
        deadlines=tuple(deadlines_of(state, calendar, pack, today)),
        acknowledged=acknowledged,
        refused_attempts=refused,
        events=state.seq,
        as_of=as_of.isoformat() if as_of else None,
        today=today.isoformat(),
    )


def _record_date(payload: Mapping[str, Any]) -> str | None:
    for k in ("concluded_on", "held_on", "issued_on", "assessed_on", "decided_on", "answered_on", "reported_on",
              "published_on", "evaluated_on"):
        if isinstance(payload.get(k), date):
            return payload[k].isoformat()
    return None


def show_case(ws: Workspace, case_id: str, *, as_of: datetime | None = None) -> CaseView:
    """A case's stages, next steps and deadlines — now, or as it stood at `as_of`."""
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        _, state = _load_case(conn, case_id, as_of=as_of)
    pack = pack_of(state)
    moment = as_of or now(facts)
    return view_of(state, pack, case_calendar(facts, pack), local_date(moment), as_of)


@dataclass(frozen=True)
class CaseSummary:
    """One row of `case list`."""

    case_id: str
    title: str
    category: str
    status: str
    awaiting: str
    launched_on: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def list_cases(ws: Workspace, *, status: str | None = None) -> list[CaseSummary]:
    """Every case in the workspace (optionally only those with the given status)."""
    if status is not None and status not in ("open", "decided", "published", "ended"):
        raise BadInput(f"--status {status!r}: expected open, decided, published or ended", field="--status")
    out = []
    with read_transaction(ws.engine) as conn:
        for case_id in store.stream_ids(conn, event_type="case-launched"):
            state = replay(store.load_stream(conn, case_id))
            pack = pack_of(state)
            statuses = state.statuses(pack)
            s = case_status(state, statuses)
            if status and s != status:
                continue
            awaiting, _ = next_steps(pack, state, statuses)
            out.append(CaseSummary(case_id, state.title, state.category, s, awaiting, state.launched_on.isoformat()))
    return out

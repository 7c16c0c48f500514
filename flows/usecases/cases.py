"""Use cases for running a case: launch it, record an event, show it, list cases. Plain functions, no Prefect.

Each command is one transaction: read the case's events, replay them, let the policy decide, append, commit.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

from pydantic import ValidationError
from sqlalchemy import Connection

from flows.usecases.clock import local_date, now
from flows.usecases.moments import WorkspaceTimeline, live_key, rule_context
from flows.usecases.workspace import Actor, Workspace, WorkspaceFacts, read_facts
from models import store
from models.canonical import canonical_bytes, sha256_hex
from models.db import read_transaction, write_transaction
from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE, SCHEMA_VERSION, AttemptRefused, CaseLaunched, dates_in
from models.state import CaseState, replay, state_of_launch
from models.store import NewEvent, StoredEvent
from policies.calendar import WorkingDayCalendar
from policies.deadlines import Deadline, deadlines_of  # noqa: F401  (Deadline: part of CaseView)
from policies.errors import BadInput, CalendarNotLoaded, ConcurrentModification, IdempotencyConflict, IntegrityFailure, RuleRefusal, UnknownCase
from policies.findings import Finding
from policies.limits import check_depth, check_size
from policies.pack import DEFAULT_PACK, PolicyPack, load_pack, pack_by_hash
from policies.procedure import RECORDED, StageStatus, awaiting_name
from policies.rules import RuleContext, check_event
from policies.rules.catalog import catalog_year
from policies.rules.drafting import drafting_notes


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
    check_depth(data, "(payload)")
    model = EVENT_TYPES[event]
    try:
        payload = model.model_validate(dict(data))
    except ValidationError as exc:
        raise bad_payload(event, exc) from exc
    check_size(len(canonical_bytes(payload.model_dump(mode="json", by_alias=True))), "(payload)")
    for name in model.required_on_record:
        if not getattr(payload, name):
            raise BadInput(
                f"the `{event}` payload must give {name}: it is required and may not be empty. See `juece schema {event}`.",
                field=name,
            )
    return payload


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
    """Today's calendar (every load counted) with the pack's CAL-01 switch."""
    timeline = WorkspaceTimeline(facts)
    return timeline.calendar(timeline.latest, pack.param("count_makeup_days"))


def _key(*parts: Any) -> str:
    return hashlib.sha256(canonical_bytes(list(parts))).hexdigest()


def launch_case(
    ws: Workspace,
    actor: Actor,
    *,
    title: str,
    category: str,
    organ: str,
    lead_unit: str | None,
    catalog_item: str | None = None,
    flags: Sequence[str] = (),
    co_units: Sequence[str] = (),
    policy: str = DEFAULT_PACK,
    idempotency_key: str | None = None,
    decided_on: date | str | None = None,
    proposal: Mapping[str, Any] | None = None,
    acknowledge: Sequence[tuple[str, str]] = (),
) -> tuple[str, bool]:
    """Launch a case (legal office); returns the case id, and False when `idempotency_key` names an earlier launch.

    Without a key every launch is a new case, even with every field equal to an earlier one's (PRODUCT.md). The
    launch is judged like any record (`case-launched`: ROLE-01, SCP-02, SCP-03, INI-01/02/03 …), and a refusal
    writes nothing. `decided_on` is the organ's launch decision (INI-02; default today)."""
    pack = load_pack(policy)
    acks = _parse_acks(acknowledge)
    fields: dict[str, Any] = dict(
        title=title, category=category, organ=organ, lead_unit=lead_unit, co_units=tuple(co_units),
        catalog_item=catalog_item, flags=tuple(dict.fromkeys(flags)), decided_on=decided_on, proposal=proposal,
    )
    # Two launches at the same moment may both pick the next case number; the loser simply takes the one after.
    for attempt in range(_LAUNCH_ATTEMPTS):
        try:
            with write_transaction(ws.engine) as conn:
                return launch_in(conn, actor, pack, idempotency_key, fields, acks)
        except ConcurrentModification:
            if attempt == _LAUNCH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_LAUNCH_ATTEMPTS = 5
# Fields a retry under the same idempotency key may leave to their defaults (they default to the day of the call).
_LAUNCH_DEFAULTED = ("launched_on", "decided_on")


def launch_in(
    conn: Connection,
    actor: Actor,
    pack: PolicyPack,
    idempotency_key: str | None,
    fields: dict[str, Any],
    acks: Mapping[str, str] | None = None,
) -> tuple[str, bool]:
    """The body of `case launch`, inside the caller's write transaction."""
    facts = read_facts(conn)
    moment = now(facts)
    today = local_date(moment)
    fields = dict(fields)
    if not (fields.get("lead_unit") or "").strip():
        fields["lead_unit"] = None  # INI-03 refuses it, naming the rule
    if fields.get("decided_on") is None:
        fields["decided_on"] = today
    try:
        payload = CaseLaunched(**fields, policy=pack.id, policy_hash=pack.hash, launched_on=today)
    except ValidationError as exc:
        raise bad_payload("case-launched", exc) from exc
    if payload.decided_on is not None and payload.decided_on > today:
        raise BadInput(f"--decided-on {payload.decided_on} is after today ({today}); record the launch decision once "
                       "the organ has taken it", field="--decided-on")
    timeline = WorkspaceTimeline(facts)
    payload = with_catalog_version(payload, timeline.standing(timeline.position_at(live_key(moment))))
    body = payload.model_dump(mode="json", by_alias=True)
    if idempotency_key is not None:
        existing = store.find_by_key(conn, idempotency_key)
        if existing is not None:
            same = existing.type == "case-launched" and all(
                existing.payload.get(k) == v for k, v in body.items() if k not in _LAUNCH_DEFAULTED)
            if not same:
                raise IdempotencyConflict(
                    f"the idempotency key {idempotency_key!r} was already used for another record "
                    f"({existing.case_id} #{existing.seq} {existing.type})", key=idempotency_key)
            return existing.case_id, False
    prefix = f"JC-{payload.launched_on.year}-"
    case_id = f"{prefix}{store.count_with_prefix(conn, prefix) + 1:04d}"
    values = payload.model_dump(by_alias=True)
    state = state_of_launch(case_id, values, actor.label)
    ctx, _ = rule_context(
        event="case-launched", payload=values, state=state, pack=pack, role=actor.role, actor=actor.label,
        today=today, key=live_key(moment), timeline=timeline,
        load_case=lambda cid: store.load_stream(conn, cid),
    )
    findings = _judge(ctx)
    acks = dict(acks or {})
    acknowledged = _apply_acks(findings, acks)
    blocking = [f for f in findings if f.enforcement == "HARD" or (f.enforcement == "WARN" and not f.acknowledged)]
    if blocking:
        raise _refusal("case-launched", blocking)  # no case exists yet: nothing is written
    key = idempotency_key or f"launch:{uuid.uuid4().hex}"
    store.append(
        conn,
        case_id,
        [],
        [NewEvent("case-launched", SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash,
                  _ack_records(acknowledged, acks))],
        moment,
    )
    return case_id, True


def with_catalog_version(payload: CaseLaunched, standing: Mapping[str, Any]) -> CaseLaunched:
    """The launch naming the version of its organ's catalog in force now, for the item it names (SCP-05 judges the
    launch against that version; an adjustment's child case carries its parent's link)."""
    if payload.catalog_item is None or payload.parent_case is not None:
        return payload
    book = standing.get("catalogs")
    values = payload.model_dump(by_alias=True)
    current = book.current(values["organ"], catalog_year(values)) if book is not None else None
    return payload.model_copy(update={"catalog_version": current.version if current else None})


def _judge(ctx: RuleContext) -> list[Finding]:
    """`check_event`, with a year whose calendar is not loaded (CAL-05) as a finding like any other."""
    try:
        return check_event(ctx)
    except CalendarNotLoaded as exc:
        return list(exc.findings)


def _ack_records(acknowledged: Sequence[Finding], acks: Mapping[str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"rule": f.rule, "reason": acks[f.rule], "message": f.message, "article": f.article}
                 for f in acknowledged)


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
    ctx, _ = rule_context(
        event=event, payload=payload.model_dump(by_alias=True), state=state, pack=pack, role=actor.role,
        actor=actor.label, today=today, key=live_key(moment), timeline=WorkspaceTimeline(facts),
        load_case=lambda cid: store.load_stream(conn, cid),
    )
    findings = _judge(ctx)  # a CAL-05 refusal is a refusal like any other: kept as an attempt
    acknowledged = _apply_acks(findings, acks)
    blocking = [f for f in findings if f.enforcement == "HARD" or (f.enforcement == "WARN" and not f.acknowledged)]
    if blocking:
        if pack.param("record_refused_attempts") and not any(f.rule in ("ROLE-01", "AUTH-01") for f in blocking):
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
        _ack_records(acknowledged, acks),
    )
    (stored,) = store.append(conn, case_id, events, [new], moment)
    return Recorded(case_id, stored.seq, event, tuple(acknowledged)), None


def _parse_acks(acknowledge: Sequence[tuple[str, str]]) -> dict[str, str]:
    acks: dict[str, str] = {}
    for rule, reason in acknowledge:
        if not reason or not reason.strip():
            raise BadInput(f"--acknowledge {rule} needs a written reason (--reason TEXT)", field="--reason")
        acks[rule.strip().upper()] = reason.strip()
    return acks


def _apply_acks(findings: list[Finding], acks: Mapping[str, str]) -> list[Finding]:
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
    blocking = sorted(blocking, key=lambda f: f.enforcement != "HARD")  # the code names a rule that cannot be waived
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
        deadlines=tuple(deadlines_of(state, calendar, pack, today, ended=state.ended)),
        acknowledged=acknowledged,
        refused_attempts=refused,
        events=state.seq,
        as_of=as_of.isoformat() if as_of else None,
        today=today.isoformat(),
        notes=drafting_notes(state, pack, statuses),
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

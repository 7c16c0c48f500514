"""Recording an event on a case: validate the payload, then one write transaction — load the case, judge the record
by its pack, append it (or keep the refused attempt), commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from flows.adapters.logs import logger
from flows.usecases.clock import local_date, now
from flows.usecases.judging import ack_records, apply_acks, judge, parse_acks, refusal
from flows.usecases.moments import WorkspaceTimeline, live_key, rule_context
from flows.usecases.unit_of_work import command_key, load_case, pack_of
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import store
from models.canonical import canonical_bytes, sha256_hex
from models.db import write_transaction
from models.payload_plan import RECORDABLE, SCHEMA_VERSION
from models.payload_decode import NewPayload, check_new, required_on_record
from models.store import NewEvent, StoredEvent
from policies.errors import BadInput, ConcurrentModification, IdempotencyConflict, RuleRefusal
from policies.findings import Finding
from policies.limits import CEILING, MAX_KEY, check_depth, check_length, check_payload, check_size, payload_limits

if TYPE_CHECKING:
    from pydantic import ValidationError

    from models.db import AnyConnection as Connection

log = logger("usecases")


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


def validate_payload(event: str, data: Any) -> NewPayload:
    """Validate a payload for a recordable event, as its model does; `BadInput` naming the fields otherwise.

    A payload already in validated form (apart from defaults it leaves out) is checked without pydantic
    (models/payload_decode.py `check_new`, the same values by construction); anything else goes through the model,
    which gives the values or the errors naming each field. The case, and so its pack's LIM-01 limits, is not known
    yet: here a payload is held to the ceilings no pack may exceed (the parser never sees a 1,000-deep value), and to
    its pack's limits in `record_in`."""
    if event not in RECORDABLE:
        raise BadInput(
            f"there is no event {event!r} to record; events: {', '.join(RECORDABLE)}", field="EVENT", event=event
        )
    if not isinstance(data, Mapping):
        raise BadInput(f"the `{event}` payload must be one JSON object", field="(payload)")
    check_depth(data, "(payload)", CEILING)
    payload = check_new(event, dict(data)) or _through_model(event, data)
    check_size(len(canonical_bytes(payload.body)), "(payload)", CEILING)
    for name in required_on_record(event):
        if not payload.values.get(name):
            raise BadInput(
                f"the `{event}` payload must give {name}: it is required and may not be empty. See `juece schema {event}`.",
                field=name,
            )
    return payload


def _through_model(event: str, data: Mapping[str, Any]) -> NewPayload:
    from pydantic import ValidationError

    from models.events import EVENT_TYPES

    try:
        model = EVENT_TYPES[event].model_validate(dict(data))
    except ValidationError as exc:
        raise bad_payload(event, exc) from exc
    return new_payload(model)


def new_payload(payload: Any) -> NewPayload:
    """A payload model instance (made by the engine, or validated above) as a `NewPayload`."""
    if isinstance(payload, NewPayload):
        return payload
    from models.events import dates_in

    return NewPayload(payload.event_type, payload.model_dump(mode="json", by_alias=True),
                      payload.model_dump(by_alias=True), dates_in(payload))


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
    acks = parse_acks(acknowledge)
    with write_transaction(ws.db) as conn:
        result, refusal = record_in(conn, actor, case_id, event, payload, acks, idempotency_key, expected_seq)
    if refusal is not None:  # raised after the commit, so the refused attempt stays in the history
        log.info("record refused", extra={"case_id": case_id, "event": event, "actor": actor.label,
                                          "rules": [f.rule for f in refusal.findings]})
        raise refusal
    assert result is not None
    log.info("event recorded", extra={"case_id": case_id, "seq": result.seq, "event": event, "actor": actor.label,
                                      "repeated": result.repeated})
    return result



def check_key(key: str) -> None:
    """An idempotency key as given (`--idempotency-key`): not blank — an empty key is no key, and a retry under it
    would record (or launch) again — and within its column."""
    if not key.strip():
        raise BadInput("--idempotency-key is empty: a retry is recognised by the key it repeats, so give one (or leave "
                       "the option out)", field="--idempotency-key")
    check_length(key, MAX_KEY, "--idempotency-key", "an idempotency key")


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
    """The body of `record`, inside the caller's write transaction: (the record, None) or (None, the refusal).
    `payload` is what `validate_payload` gives, or a payload model the engine made."""
    payload = new_payload(payload)
    body = payload.body
    if idempotency_key is not None:
        check_key(idempotency_key)
    key = idempotency_key or "record:" + command_key(case_id, event, body, actor.label, sorted(acks.items()))
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
    events, state = load_case(conn, case_id)
    if expected_seq is not None and events[-1].seq != expected_seq:
        raise ConcurrentModification(
            f"{case_id} has {events[-1].seq} events now, not the {expected_seq} you looked at: someone else wrote "
            "first. Look at the case again (`juece case show`) and retry",
            case_id=case_id, expected=expected_seq, actual=events[-1].seq,
        )
    pack = pack_of(state)
    check_payload(len(canonical_bytes(body)), body, payload_limits(pack), "(payload)")  # LIM-01, as the audit re-checks
    future = {k: v for k, v in payload.dated.items() if v > today}
    if future:
        name, day = next(iter(future.items()))
        raise BadInput(
            f"{name} is {day}, which is after today ({today}); record what has happened, when it has happened",
            field=name,
        )
    ctx, _ = rule_context(
        event=event, payload=payload.values, state=state, pack=pack, role=actor.role,
        actor=actor.label, today=today, key=live_key(moment), timeline=WorkspaceTimeline(facts),
        load_case=lambda cid: store.load_stream(conn, cid),
    )
    findings = judge(ctx)  # a CAL-05 refusal is a refusal like any other: kept as an attempt
    acknowledged = apply_acks(findings, acks)
    blocking = [f for f in findings if f.enforcement == "HARD" or (f.enforcement == "WARN" and not f.acknowledged)]
    if blocking:
        if pack.param("record_refused_attempts") and not any(f.rule in ("ROLE-01", "AUTH-01") for f in blocking):
            _record_attempt(conn, events, event, body, actor, blocking, key, moment)
        return None, refusal(event, blocking)
    new = NewEvent(
        event,
        SCHEMA_VERSION,
        body,
        actor.label,
        actor.role,
        key,
        pack.id,
        pack.hash,
        ack_records(acknowledged, acks),
    )
    (stored,) = store.append(conn, case_id, events, [new], moment)
    return Recorded(case_id, stored.seq, event, tuple(acknowledged)), None


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
    from models.events import AttemptRefused

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

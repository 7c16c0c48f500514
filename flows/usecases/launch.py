"""Launching a case (legal office): one write transaction; the launch is judged like any record and a refusal writes
nothing."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pydantic import ValidationError

from flows.adapters.logs import logger
from flows.usecases.clock import local_date, now
from flows.usecases.judging import ack_records, apply_acks, judge, parse_acks, refusal
from flows.usecases.moments import WorkspaceTimeline, live_key, rule_context
from flows.usecases.record import bad_payload, check_key
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import store
from models.db import write_transaction
from models.canonical import canonical_bytes
from models.events import SCHEMA_VERSION, CaseLaunched
from models.state import state_of_launch
from models.store import NewEvent
from policies.errors import BadInput, ConcurrentModification, IdempotencyConflict
from policies.limits import check_payload, payload_limits
from policies.pack import DEFAULT_PACK, PolicyPack, load_pack
from policies.rules.catalog import catalog_year

if TYPE_CHECKING:
    from models.db import AnyConnection as Connection

log = logger("usecases")


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
    acks = parse_acks(acknowledge)
    fields: dict[str, Any] = dict(
        title=title, category=category, organ=organ, lead_unit=lead_unit, co_units=tuple(co_units),
        catalog_item=catalog_item, flags=tuple(dict.fromkeys(flags)), decided_on=decided_on, proposal=proposal,
    )
    # Two launches at the same moment may both pick the next case number; the loser simply takes the one after.
    for attempt in range(_LAUNCH_ATTEMPTS):
        try:
            with write_transaction(ws.db) as conn:
                case_id, created = launch_in(conn, actor, pack, idempotency_key, fields, acks)
            log.info("case launched" if created else "launch repeated",
                     extra={"case_id": case_id, "actor": actor.label, "policy": pack.id})
            return case_id, created
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
    check_payload(len(canonical_bytes(body)), body, payload_limits(pack), "(payload)")  # LIM-01, as the audit re-checks
    if idempotency_key is not None:
        check_key(idempotency_key)
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
    findings = judge(ctx)
    acks = dict(acks or {})
    acknowledged = apply_acks(findings, acks)
    blocking = [f for f in findings if f.enforcement == "HARD" or (f.enforcement == "WARN" and not f.acknowledged)]
    if blocking:
        raise refusal("case-launched", blocking)  # no case exists yet: nothing is written
    key = idempotency_key or f"launch:{uuid.uuid4().hex}"
    store.append(
        conn,
        case_id,
        [],
        [NewEvent("case-launched", SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash,
                  ack_records(acknowledged, acks))],
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

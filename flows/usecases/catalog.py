"""Use cases for the decision catalog (重大行政决策事项目录, 条例 art. 3(3)): publish a version (legal office), list the
versions, and the year-end report of catalog items not yet archived (SCP-06). Plain functions, no Prefect.

A catalog is workspace-wide, not one case's: each version is a `catalog-published` record in the `@workspace`
stream, hash-chained like the clock and calendar records and pinned to the policy pack it was published under. Its
rules (ROLE-01, SCP-05) run through `check_event` here and again, unchanged, when `audit verify` re-checks the
workspace stream (`workspace_findings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Sequence

from pydantic import ValidationError

from flows.usecases.catalog_book import catalog_book
from flows.usecases.record import bad_payload
from flows.usecases.show import case_status, next_steps
from flows.usecases.unit_of_work import case_calendar, command_key, pack_of
from flows.usecases.clock import local_date, now
from flows.usecases.workspace import Actor, Workspace, WorkspaceFacts, read_facts
from models import store
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION, AttemptRefused, CatalogPublished
from models.canonical import canonical_bytes, sha256_hex
from models.payload_decode import decode_payload
from models.state import replay
from models.store import WORKSPACE_STREAM, NewEvent, StoredEvent
from policies.catalog import CatalogBook, CatalogVersion
from policies.errors import BadInput, IntegrityFailure, RuleRefusal
from policies.findings import Finding
from policies.limits import check_payload, payload_limits
from policies.pack import DEFAULT_PACK, PolicyPack, load_pack, pack_by_hash
from policies.rules import RuleContext, check_event
from policies.rules.catalog import ItemStatus, LinkedCase, catalog_year, item_status, year_end_findings


class _Workspace:
    """The 'case' a workspace record is judged in: none (a catalog belongs to no case)."""

    case_id = WORKSPACE_STREAM
    category = ""
    organ = ""
    flags: frozenset[str] = frozenset()
    parent_case: str | None = None
    launch_decided_on: date | None = None

    def records(self, event_type: str) -> list[Mapping[str, Any]]:
        return []

    def stage_records(self, stage: Any) -> list[tuple[str, Mapping[str, Any]]]:
        return []

    def latest(self, dated: Sequence[tuple[str, str]]) -> tuple[str, Any] | None:
        return None


NO_CASE = _Workspace()


def _pinned_pack(ev: StoredEvent) -> PolicyPack:
    env = ev.envelope
    pack = pack_by_hash(env.get("policy") or "", env.get("policy_hash") or "")
    if pack is None:
        raise IntegrityFailure(
            f"{WORKSPACE_STREAM} #{ev.seq} ({ev.type}) was recorded under policy pack {env.get('policy')} with hash "
            f"{str(env.get('policy_hash'))[:12]}…, which no published pack version in this installation has",
            case_id=WORKSPACE_STREAM,
        )
    return pack


def workspace_catalogs(facts: WorkspaceFacts) -> CatalogBook:
    """Every catalog version the workspace stream holds, in the order recorded."""
    book: CatalogBook = catalog_book(facts.events)  # registered as a standing fact, whose fold returns Any
    return book


def _context(payload: Mapping[str, Any], pack: PolicyPack, facts: WorkspaceFacts, role: str, today: Any) -> RuleContext:
    """The rule context of a workspace record: no case, no stages."""
    return RuleContext(event="catalog-published", payload=payload, case=NO_CASE, pack=pack,
                       calendar=case_calendar(facts, pack), role=role, today=today, statuses={})


# --- publish ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What `catalog publish` did."""

    organ: str
    year: int
    version: int
    items: int
    seq: int
    policy: str
    repeated: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def validate_catalog(data: Any) -> CatalogPublished:
    """A catalog file as a `catalog-published` payload; bad input naming the field otherwise."""
    if not isinstance(data, Mapping):
        raise BadInput("the catalog file must hold one JSON object (organ, year, version, items, party_consent, "
                       "published_on, url)", field="(payload)")
    try:
        catalog = CatalogPublished.model_validate(dict(data))
    except ValidationError as exc:
        raise bad_payload("catalog-published", exc) from exc
    numbers = [i.item_no for i in catalog.items]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        raise BadInput(f"items: item_no {', '.join(twice)} appears more than once; each item has its own number",
                       field="items")
    return catalog


def publish_catalog(ws: Workspace, actor: Actor, data: Any, *, policy: str = DEFAULT_PACK) -> Published:
    """Publish a version of an organ's catalog for a year (legal office), with the Party committee's consent (SCP-05).
    Publishing the same version again with the same content changes nothing."""
    catalog = validate_catalog(data)
    pack = load_pack(policy)
    body = catalog.model_dump(mode="json", by_alias=True)
    check_payload(len(canonical_bytes(body)), body, payload_limits(pack), "FILE")  # LIM-01, the pack's limits
    key = "catalog:" + command_key(body)
    with write_transaction(ws.engine) as conn:
        existing = store.find_by_key(conn, key)
        if existing is not None:
            return Published(catalog.organ, catalog.year, catalog.version, len(catalog.items), existing.seq,
                             existing.envelope.get("policy") or "", repeated=True)
        facts = read_facts(conn)
        moment = now(facts)
        today = local_date(moment)
        _dates_not_after(catalog, today)
        book = workspace_catalogs(facts)
        _version_follows(catalog, book.history(catalog.organ, catalog.year))
        ctx = _context(catalog.model_dump(by_alias=True), pack, facts, actor.role, today)
        findings = check_event(ctx)
        if findings:
            refusal = RuleRefusal("refused: " + " | ".join(f.sentence() for f in findings), findings=findings)
            if pack.param("record_refused_attempts") and not any(f.rule == "ROLE-01" for f in findings):
                _record_attempt(conn, facts, body, actor, findings, key, moment)
        else:
            refusal = None
            (stored,) = store.append(conn, WORKSPACE_STREAM, list(facts.events), [NewEvent(
                "catalog-published", SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)], moment)
    if refusal is not None:  # raised after the commit, so the refused attempt stays in the history
        raise refusal
    return Published(catalog.organ, catalog.year, catalog.version, len(catalog.items), stored.seq, pack.id)


def _dates_not_after(catalog: CatalogPublished, today: Any) -> None:
    consent = catalog.party_consent.decided_on if catalog.party_consent else None
    for name, day in (("published_on", catalog.published_on), ("party_consent.decided_on", consent)):
        if day is not None and day > today:
            raise BadInput(f"{name} is {day}, which is after today ({today}); record what has happened, when it has "
                           "happened", field=name)


def _version_follows(catalog: CatalogPublished, history: list[CatalogVersion]) -> None:
    """Versions of one organ's catalog for a year run 1, 2, 3…; an adjustment (version 2 on) says why."""
    last = history[-1].version if history else 0
    what = f"the {catalog.year} catalog of {catalog.organ}"
    if catalog.version <= last:
        raise BadInput(f"version {catalog.version} of {what} is already published, with other content; an adjustment "
                       f"is published as a new version ({last + 1}), with the Party committee's consent again",
                       field="version")
    if catalog.version != last + 1:
        raise BadInput(f"{what} is at version {last or 'none'}; the next version is {last + 1}", field="version")
    if catalog.version > 1 and not catalog.adjustment_reason.strip():
        raise BadInput(f"version {catalog.version} adjusts {what}: say why in adjustment_reason "
                       "(根据实际情况调整)", field="adjustment_reason")


def _record_attempt(conn: Any, facts: WorkspaceFacts, body: dict[str, Any], actor: Actor, findings: list[Finding],
                    key: str, moment: Any) -> None:
    """Keep the refused publication in the workspace history (once per identical attempt): who, when, which rule."""
    attempt_key = "attempt:" + key
    if store.find_by_key(conn, attempt_key) is not None:
        return
    payload = AttemptRefused(attempted_event="catalog-published", rules=tuple(dict.fromkeys(f.rule for f in findings)),
                             message=findings[0].sentence()[:2000], payload_sha256=sha256_hex(canonical_bytes(body)))
    store.append(conn, WORKSPACE_STREAM, list(facts.events), [NewEvent(
        "attempt-refused", SCHEMA_VERSION, payload.model_dump(mode="json"), actor.label, actor.role, attempt_key)], moment)


# --- reading ------------------------------------------------------------------------------------------------------


def list_catalogs(ws: Workspace, *, organ: str | None = None, year: int | None = None) -> list[tuple[CatalogVersion, bool]]:
    """Every published version (optionally of one organ or year), oldest first, each with whether it is current."""
    with read_transaction(ws.engine) as conn:
        book = workspace_catalogs(read_facts(conn))
    current = {(v.organ, v.year): v.version for v in book.catalogs()}
    return [(v, current[(v.organ, v.year)] == v.version) for v in book.versions
            if (organ is None or v.organ == organ) and (year is None or v.year == year)]


def workspace_findings(facts: WorkspaceFacts) -> list[dict[str, Any]]:
    """The auditor's re-check of the workspace records that rules govern (catalog versions): the same checks, with
    the pack each was published under."""
    out: list[dict[str, Any]] = []
    for ev in facts.events:
        if ev.type == "catalog-published":
            ctx = _context(decode_payload(ev.type, ev.payload), _pinned_pack(ev), facts, ev.role, local_date(ev.moment))
            out += [{"seq": ev.seq, "event": ev.type, "actor": ev.actor, **f.to_json()} for f in check_event(ctx)]
    return out


# --- SCP-06: the year-end report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearEndReport:
    """Every catalog item of a year with its cases and whether its dossier is archived; SCP-06 findings."""

    year: int
    organ: str | None
    items: tuple[ItemStatus, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """5 when an item is not archived (a finding in an intact history), else 0."""
        return 5 if self.findings else 0

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "year": self.year, "organ": self.organ, "items": [i.to_json() for i in self.items],
            "archived": sum(1 for i in self.items if i.archived), "not_archived": sum(1 for i in self.items if not i.archived),
            "findings": [f.to_json() for f in self.findings], "notes": list(self.notes), "exit_code": self.exit_code,
        }


def year_end_report(ws: Workspace, *, year: int | None = None, organ: str | None = None) -> YearEndReport:
    """SCP-06: each item of the year's current catalog (every organ, or one) and whether its cases are archived."""
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        year = year if year is not None else local_date(now(facts)).year
        catalogs = workspace_catalogs(facts).catalogs(year=year, organ=organ)
        organs = {c.organ for c in catalogs}
        linked: dict[tuple[str, str], list[LinkedCase]] = {}
        strays: list[str] = []
        for case_id in store.stream_ids(conn, event_type="case-launched") if organs else ():
            events = store.load_stream(conn, case_id)
            launch = decode_payload("case-launched", events[0].payload)
            if (launch["organ"] not in organs or not launch.get("catalog_item") or launch.get("parent_case")
                    or catalog_year(launch) != year):
                continue
            state = replay(events)
            pack = pack_of(state)
            statuses = state.statuses(pack)
            awaiting, _ = next_steps(pack, state, statuses)
            archives = state.records("dossier-archived")
            linked.setdefault((state.organ, state.catalog_item), []).append(LinkedCase(  # type: ignore[arg-type]
                case_id, case_status(state, statuses), awaiting, bool(archives),
                archives[0]["archive_id"] if archives else ""))
    items: list[ItemStatus] = []
    findings: list[Finding] = []
    notes: list[str] = []
    if not catalogs:
        notes.append(f"no decision catalog is published for {organ or 'any organ'} for {year} (`juece catalog list`)")
    for c in catalogs:
        rows = [item_status(c, dict(i), linked.pop((c.organ, i["item_no"]), [])) for i in c.items]
        items += rows
        published_under = pack_by_hash(c.policy, c.policy_hash)
        if published_under is None:
            raise IntegrityFailure(f"the {c.year} catalog of {c.organ} (version {c.version}) was published under a "
                                   f"pack version this installation does not ship ({c.policy})", case_id=WORKSPACE_STREAM)
        findings += year_end_findings(published_under, rows)
    for (organ_, item_no), cases in linked.items():
        strays.append(f"{', '.join(c.case_id for c in cases)} ({organ_}) was launched for item {item_no}, which the "
                      "current catalog no longer lists (adjusted after the launch)")
    return YearEndReport(year, organ, tuple(items), tuple(findings), tuple(notes + strays))

"""Working-day calendar data: the notices shipped with juece plus those an administrator loaded (recorded in the
`@workspace` stream, so every calendar a deadline was computed on is part of the history)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.adapters.json_text import parse_json_text
from models import store
from models.canonical import canonical_bytes, sha256_hex
from models.db import write_transaction
from models.store import WORKSPACE_STREAM, NewEvent
from policies.calendar import WorkingDayCalendar, YearNotice, parse_notice
from policies.errors import BadInput
from policies.limits import MAX_BYTES, read_bounded
from policies.pack import load_pack
from flows.usecases.clock import now
from flows.usecases.workspace import Actor, Workspace, WorkspaceFacts, read_facts, read_workspace_facts


@dataclass(frozen=True)
class CalendarEntry:
    """One loaded year: where it came from and its fingerprint."""

    year: int
    kind: str
    notice: str
    source: str
    origin: str  # shipped | loaded
    sha256: str
    rest_days: int
    makeup_days: int


def shipped_notices() -> list[dict[str, Any]]:
    """The notices shipped as package data (policies/data/calendar)."""
    import policies

    folder = Path(policies.__file__).resolve().parent / "data" / "calendar"  # package data beside the policies
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".json")
    ]


def _entries(facts: WorkspaceFacts) -> list[tuple[str, dict[str, Any]]]:
    return [("shipped", n) for n in shipped_notices()] + [("loaded", n) for n in facts.calendar_notices]


def calendar_for(facts: WorkspaceFacts, *, count_makeup_days: bool = True) -> WorkingDayCalendar:
    """The workspace's working-day calendar (a later load of a year replaces the earlier one)."""
    return WorkingDayCalendar.from_notices(
        (parse_notice(n) for _, n in _entries(facts)), count_makeup_days=count_makeup_days
    )


def list_calendars(ws: Workspace) -> list[CalendarEntry]:
    """Every notice the workspace knows, in load order."""
    out = []
    for origin, raw in _entries(read_workspace_facts(ws)):
        n: YearNotice = parse_notice(raw)
        out.append(
            CalendarEntry(
                year=n.year,
                kind=n.kind,
                notice=n.notice,
                source=n.source,
                origin=origin,
                sha256=sha256_hex(canonical_bytes(n.to_json())),
                rest_days=sum((b.last - b.first).days + 1 for b in n.rest_blocks),
                makeup_days=len(n.makeup_working_days),
            )
        )
    return out


def load_calendar(ws: Workspace, actor: Actor, path: Path) -> CalendarEntry:
    """Validate a notice file and record it (admin only); loading the same notice twice changes nothing."""
    from policies.rules.order import require_role

    require_role(load_pack(), actor.role, "calendar-loaded", "load calendar data (--as admin:NAME)")
    raw = parse_json_text(read_bounded(path, MAX_BYTES, "FILE"), f"FILE {path}")  # LIM-01: it becomes a recorded payload
    notice = parse_notice(raw)
    data = notice.to_json()
    digest = sha256_hex(canonical_bytes(data))
    with write_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        key = f"calendar-loaded:{digest}"
        if store.find_by_key(conn, key) is None:
            from models.events import CalendarLoaded  # pydantic and the payload models: only when writing one
            payload = CalendarLoaded(year=notice.year, sha256=digest, notice=data)
            store.append(
                conn,
                WORKSPACE_STREAM,
                list(facts.events),
                [NewEvent("calendar-loaded", 1, payload.model_dump(mode="json"), actor.label, actor.role, key)],
                now(facts),
            )
    return next(e for e in reversed(list_calendars(ws)) if e.sha256 == digest)

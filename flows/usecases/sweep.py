"""The deadline sweep: what is due and overdue across every case, on the official calendar, and reminders to a
webhook (flows/adapters/http.py). The same deadlines `case show` prints (policies.deadlines.deadlines_of) are swept here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

from flows.adapters import http
from flows.adapters.logs import logger
from flows.usecases.clock import local_date, now
from flows.usecases.show import CaseView, view_of
from flows.usecases.unit_of_work import case_calendar, pack_of
from flows.usecases.workspace import Workspace, read_facts
from models import store
from models.db import read_transaction
from models.state import replay
from policies.errors import DeliveryRefused, TransientDeliveryError, TransientFailure

log = logger("usecases")
HORIZON_DAYS = 7
TIMEOUT = http.timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class DueItem:
    """One reminder: a case's deadline that is near, due or past."""

    case_id: str
    title: str
    what: str
    due: str | None
    rule: str
    state: str  # upcoming | due-soon | overdue | suggested | unknown
    note: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def sweep(ws: Workspace, *, as_of: datetime | None = None, horizon_days: int = HORIZON_DAYS) -> tuple[str, list[DueItem]]:
    """Every open case's deadlines that need attention — overdue, due soon, or within `horizon_days` — now, or as
    the cases stood at `as_of` (a case launched after that moment did not exist then, and is left out).

    One read transaction, and each case replayed once: the same view `case show` builds (`view_of`)."""
    items: list[DueItem] = []
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        today = local_date(as_of or now(facts))
        for case_id in store.stream_ids(conn, event_type="case-launched"):
            events = store.load_stream(conn, case_id, as_of=as_of)
            if not events:  # launched after `as_of`
                continue
            state = replay(events)
            if state.ended:
                continue
            pack = pack_of(state)
            view = view_of(state, pack, case_calendar(facts, pack), today, as_of)
            items += due_items(view, today, horizon_days)
    order = {"overdue": 0, "due-soon": 1, "upcoming": 2, "suggested": 3, "unknown": 4}
    items.sort(key=lambda i: (order[i.state], i.due or "9999", i.case_id))
    log.info("deadlines swept", extra={"today": today.isoformat(), "as_of": as_of.isoformat() if as_of else None,
                                       "items": len(items), "overdue": sum(i.state == "overdue" for i in items)})
    return today.isoformat(), items


def due_items(view: CaseView, today: date, horizon_days: int = HORIZON_DAYS) -> list[DueItem]:
    """A case's deadlines that need attention on `today`."""
    out = []
    for d in view.deadlines:
        if d.state in ("met", "closed"):
            continue
        if d.state in ("unknown", "suggested", "overdue", "due-soon"):
            out.append(DueItem(view.case_id, view.title, d.what, d.due, d.rule, d.state, d.note))
        elif d.due and 0 <= (date.fromisoformat(d.due) - today).days <= horizon_days:
            out.append(DueItem(view.case_id, view.title, d.what, d.due, d.rule, "upcoming", d.note))
    return out


def post_reminders(url: str, today: str, items: Sequence[DueItem], *, transport: http.Transport | None = None) -> int:
    """POST the reminders once; transport errors and 5xx are transient, 4xx is refused. Returns the HTTP status.
    Retrying is Prefect's (the `deadline-sweep` flow's task retries transient failures only), never this function's."""
    body = {"source": "juece", "today": today, "items": [i.to_json() for i in items]}
    try:
        r = http.post(url, timeout=TIMEOUT, json=body, transport=transport)
    except TransientFailure as exc:
        raise TransientDeliveryError(exc.message, **exc.details) from exc
    if r.status >= 400:
        raise DeliveryRefused(f"{url} refused the reminders: HTTP {r.status}", url=url, status=r.status)
    return r.status

"""The live mirror against a real local Prefect server: records made while the server is down wait in the outbox;
once it is back, one drain delivers every record exactly once (events counted through the Prefect client) and one
`decision-case` run per changed case (task runs = the case's stages, final state = what the case waits on), and
leaves the outbox empty. A second drain sends nothing more."""

from __future__ import annotations

import time
from datetime import date

import pytest

from flows.orchestration.mirror import EVENT_PREFIX, drain_once, pending_count, resource_id
from flows.orchestration.prefect_server import ensure_server, stop_server
from flows.usecases.show import show_case
from models.db import read_transaction
from models import store
from policies.errors import PrefectUnavailable
from support import MANDATORY_PATH, Driver, new_workspace

pytestmark = [pytest.mark.prefect, pytest.mark.prefect_server]


@pytest.fixture
def mirrored(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    ws = new_workspace(tmp_path / "ws")
    try:
        yield ws
    finally:
        stop_server(ws.prefect_home)


def prefect_view(api_url: str, case_id: str):
    """(events of the case by id, the case's decision-case flow runs) as Prefect holds them."""
    from datetime import datetime, timedelta, timezone

    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterName
    from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter
    from prefect.settings import temporary_settings

    now = datetime.now(timezone.utc)
    with temporary_settings(updates={"api.url": api_url}):
        with get_client(sync_client=True) as client:
            page = client.read_events(filter=EventFilter(
                resource=EventResourceFilter(id=[resource_id(case_id)]),
                occurred=EventOccurredFilter(since=now - timedelta(hours=1), until=now + timedelta(hours=1))),
                limit=50)
            events = list(page.events)
            while page.next_page:
                page = client.read_events_page(page.next_page)
                events += page.events
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["decision-case"])),
                                         flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[case_id])))
            tasks = {str(r.id): sorted((t.name, t.state.name if t.state else "") for t in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [r.id]}))) for r in runs}
    return events, runs, tasks


SETTLED = {"Done", "Waiting", "NotYet", "Waived", "Closed"}  # the states a stage task ends in


def settled_view(api_url: str, case_id: str, stages: int, seconds: float = 60.0):
    """`prefect_view` once every flow run has a task run per stage, each in the state it ended in: Prefect records
    task runs and their states from the events the run sends, a moment after the flow run itself has ended (a task
    can still read `Running`, or be missing, for a while)."""
    deadline = time.monotonic() + seconds
    while True:
        events, runs, tasks = prefect_view(api_url, case_id)
        settled = all(len(named) == stages and all(state in SETTLED for _, state in named)
                      for named in tasks.values())
        if settled or time.monotonic() > deadline:
            return events, runs, tasks
        time.sleep(0.5)


def count_all(ws) -> int:
    with read_transaction(ws.engine) as conn:
        return store.count_all(conn)


def records_of(ws, case_id: str):
    with read_transaction(ws.engine) as conn:
        return store.load_stream(conn, case_id)


def test_records_made_while_prefect_is_down_are_mirrored_once_when_it_is_back(mirrored):
    ws = mirrored
    d = Driver(ws)
    case_id = d.launch("risk-relevant", "technical")
    server = ensure_server(ws.prefect_home)
    first = drain_once(ws)
    assert (first.cases, first.left, pending_count(ws)) == ((case_id,), 0, 0)

    stop_server(ws.prefect_home)
    before = count_all(ws)
    d.walk(MANDATORY_PATH[:3])  # recorded while Prefect is down: never waits for it
    d.clock_to(date(2025, 10, 30))  # a workspace record
    waiting = pending_count(ws)
    assert waiting == count_all(ws) - before >= 4  # every record since, case and workspace ones alike
    with pytest.raises(PrefectUnavailable):
        drain_once(ws)
    with pytest.raises(PrefectUnavailable):
        drain_once(ws, server.api_url)  # the old address: nobody answers
    assert pending_count(ws) == waiting  # nothing marked

    back = ensure_server(ws.prefect_home)
    second = drain_once(ws)
    assert (second.delivered, second.cases, second.left) == (waiting, (case_id,), 0)
    assert pending_count(ws) == 0

    view = show_case(ws, case_id)
    events, runs, tasks = settled_view(back.api_url, case_id, stages=len(view.stages))
    records = records_of(ws, case_id)
    assert sorted((e.payload["seq"], e.event) for e in events) == [(r.seq, f"{EVENT_PREFIX}{r.type}") for r in records]
    assert len(runs) == 2  # one per round that found the case changed
    latest = max(runs, key=lambda r: r.expected_start_time or r.created)
    assert str(latest.id) == second.flow_runs[0]
    assert latest.state.name == view.awaiting
    state_of = {"concluded": "Done", "in-progress": "Waiting", "pending": "NotYet", "waived": "Waived",
                "exempted": "Waived", "closed": "Closed"}
    assert tasks[str(latest.id)] == sorted((s.stage, state_of[s.status]) for s in view.stages)

    again = drain_once(ws)
    assert again.delivered == 0
    events_after, runs_after, _ = prefect_view(back.api_url, case_id)
    assert (len(events_after), len(runs_after)) == (len(records), 2)


def test_a_record_delivered_twice_is_stored_once_by_prefect(mirrored):
    """At least once on our side, once on Prefect's: a round that fails after sending (here: the marks undone) sends
    the same events again, and Prefect keeps one of each."""
    ws = mirrored
    d = Driver(ws)
    case_id = d.launch("risk-relevant", "technical")
    server = ensure_server(ws.prefect_home)
    delivered = drain_once(ws).delivered
    with ws.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET delivered_at = NULL")
    assert drain_once(ws).delivered == delivered
    events, runs, _ = prefect_view(server.api_url, case_id)
    assert len(events) == len(records_of(ws, case_id))
    assert len(runs) == 2

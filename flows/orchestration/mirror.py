"""The live mirror: `juece worker` drains the outbox into Prefect (ARCHITECTURE.md, "Prefect as a live mirror").

Every record writes an outbox row in its own transaction (models/store.py: append). A drain round reads the oldest
undelivered rows (models/outbox.py) and, for them:

1. emits one Prefect event per record (`prefect.events.emit_event`: `juece.record.<type>` on the resource
   `juece.case.<case id>`), its id derived from the record's chain hash, so a record sent twice is stored once
   (Prefect's event store ignores an id it already has);
2. runs the `decision-case` flow once per changed case (flows/orchestration/prefect_flows.py): a task run per stage,
   its state named for the stage's status, and a final state named for what the case waits on;
3. reads the events back from Prefect's API, and marks delivered, per case and in order, the rows whose event Prefect
   holds and whose case's run completed. Anything else stays undelivered and is sent again next round.

So delivery is at least once and in order per case; an event is stored once whatever happens; a flow run can repeat
only when a round fails between the run and the marking. One round runs at a time per case store, however many
workers serve it (`one_mirror`): a worker that finds another's round in progress skips its own and tries again at
the next poll, so two workers never run the same case's flow for the same records. A Prefect outage only delays the
mirror: the round raises `PrefectUnavailable`, nothing is marked, and `run_mirror` retries with backoff. No record
waits for any of this.

Prefect is imported inside the functions (`import prefect` costs 1.4–2.0 s).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flows.adapters import logs
from flows.adapters.http import is_http_failure
from flows.orchestration.prefect_server import server_status
from flows.usecases.workspace import Workspace
from models import outbox
from models.db import is_sqlite, read_transaction, write_transaction
from models.outbox import Pending
from models.store import WORKSPACE_STREAM, utc_text
from policies.errors import DecisionError, PrefectUnavailable

log = logs.logger("orchestration")

EVENT_PREFIX = "juece.record."
# Event ids are uuid5(namespace, record hash): the same record always gets the same id, every installation its own.
EVENT_NAMESPACE = uuid.UUID("6f1f4b0e-5a38-4d0c-9f0e-7d1c2a4e9b31")
BATCH = 500
# Seconds between rounds after a failure: 1, 2, 5, 10, 30, then every 60 until Prefect answers again.
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
POLL_SECONDS = 1.0
# How long a round waits for Prefect to store the events it was sent (its event persister flushes every 5 s by
# default; the managed server is started with 1 s, flows/orchestration/prefect_server.py).
CONFIRM_SECONDS = 30.0


@dataclass(frozen=True)
class Round:
    """What one drain round did."""

    delivered: int  # outbox rows marked delivered
    cases: tuple[str, ...]  # cases whose decision-case run completed
    flow_runs: tuple[str, ...]  # their flow run ids
    left: int  # rows still undelivered after the round (this round's failures and rows beyond the batch)
    busy: bool = False  # another worker's round was in progress: this one did nothing


@contextmanager
def one_mirror(ws: Workspace) -> Iterator[bool]:
    """Whether this process may run a mirror round now (True), held until the block ends; False while another
    round, of this or any other worker on the case store, holds it. On SQLite: an exclusive `flock` on
    `mirror.lock` in the workspace (the store is on this machine; the lock goes with the process, however it ends).
    On PostgreSQL: a session advisory lock named for the store's schema, on a connection of its own (workers on
    other machines see it; it goes with the session)."""
    if is_sqlite(ws.engine):
        import fcntl

        fd = os.open(ws.home / "mirror.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the descriptor releases the lock
        return
    with ws.engine.connect() as conn:
        key = "SELECT hashtext('juece-mirror:' || current_database() || '.' || coalesce(current_schema(), ''))"
        got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock(({key}))").scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock(({key}))")
                conn.commit()


def event_id(row: Pending) -> uuid.UUID:
    """The Prefect event id of a record: the same for every delivery of it."""
    return uuid.uuid5(EVENT_NAMESPACE, row.hash)


def resource_id(case_id: str) -> str:
    """The Prefect resource a case's events are about."""
    return f"juece.case.{case_id}"


def api_url_for(ws: Workspace) -> str | None:
    """Where the mirror delivers: PREFECT_API_URL (the scaled setup), else the workspace's running local server (read
    each round, so a server restarted on another port is found); None when there is none."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url.rstrip("/")
    return server_status(ws.prefect_home).api_url


def pending_count(ws: Workspace) -> int:
    """How many records wait for the mirror."""
    with read_transaction(ws.engine) as conn:
        return outbox.count_pending(conn)


def drain_once(ws: Workspace, api_url: str | None = None, *, limit: int = BATCH,
               confirm_seconds: float = CONFIRM_SECONDS) -> Round:
    """One round: deliver up to `limit` undelivered records to Prefect and mark what Prefect has.

    Raises `PrefectUnavailable` when Prefect does not answer (nothing is marked then)."""
    with read_transaction(ws.engine) as conn:
        rows = outbox.pending(conn, limit=limit)
    if not rows:
        return Round(0, (), (), 0)
    with one_mirror(ws) as mine:
        if not mine:
            log.info("mirror round skipped: another worker's round is in progress")
            return Round(0, (), (), len(rows), busy=True)
        return _round(ws, rows, api_url, confirm_seconds)


def _round(ws: Workspace, rows: list[Pending], api_url: str | None, confirm_seconds: float) -> Round:
    url = api_url or api_url_for(ws)
    if not url:
        raise PrefectUnavailable("no Prefect server is running for this workspace (juece server start, or set "
                                 "PREFECT_API_URL); the records stay in the outbox")
    from prefect import get_client
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"api.url": url, "flows.heartbeat_frequency": None}):
        with get_client(sync_client=True) as client:
            unhealthy = client.api_healthcheck()
            if unhealthy is not None:
                raise PrefectUnavailable(f"the Prefect API at {url} does not answer ({unhealthy}); "
                                         f"{len(rows)} record(s) stay in the outbox")
            since = datetime.now(timezone.utc) - timedelta(minutes=5)
            try:
                _emit(rows, url)
                ran = _run_case_flows(ws, [c for c in _cases(rows) if c != WORKSPACE_STREAM])
                held = _held_by_prefect(client, rows, since, confirm_seconds)
            except Exception as exc:
                if not _away(exc):
                    raise
                # Prefect went away during the round
                raise PrefectUnavailable(f"the Prefect API at {url} failed during the round ({exc}); "
                                         f"{len(rows)} record(s) stay in the outbox") from exc
    done = _deliverable(rows, held, ran)
    with write_transaction(ws.engine) as conn:
        marked = outbox.mark_delivered(conn, done, utc_text(datetime.now(timezone.utc)))
        left = outbox.count_pending(conn)
    log.info("mirror round: %d delivered, %d case run(s), %d left", marked, len(ran), left)
    return Round(marked, tuple(ran), tuple(ran.values()), left)


def _away(exc: BaseException) -> bool:
    """True when `exc` says Prefect is unreachable or failing (an HTTP failure, a socket error), not a bug of ours."""
    return is_http_failure(exc) or isinstance(exc, OSError)


def _cases(rows: list[Pending]) -> list[str]:
    """The streams of the rows, in order of first appearance."""
    return list(dict.fromkeys(r.case_id for r in rows))


def _emit(rows: list[Pending], url: str) -> None:
    """One Prefect event per record, in order; flushed before returning."""
    from prefect.events import emit_event
    from prefect.events.clients import PrefectEventsClient
    from prefect.events.worker import EventsWorker

    # The events worker runs on Prefect's own thread, which does not see temporary_settings: name the API for it.
    EventsWorker.set_client_override(PrefectEventsClient, api_url=url)
    try:
        for r in rows:
            emit_event(
                event=f"{EVENT_PREFIX}{r.type}",
                resource={"prefect.resource.id": resource_id(r.case_id), "prefect.resource.name": r.case_id},
                payload={"case_id": r.case_id, "seq": r.seq, "type": r.type, "recorded_at": r.recorded_at,
                         "hash": r.hash},
                id=event_id(r),
            )
    finally:
        EventsWorker.drain_all(timeout=60.0, at_exit=False)
        EventsWorker.set_client_override(None)


def _run_case_flows(ws: Workspace, cases: list[str]) -> dict[str, str]:
    """Run `decision-case` for each case; case id → flow run id of those that completed."""
    from prefect.logging.handlers import APILogWorker

    from flows.orchestration.prefect_flows import decision_case

    ran: dict[str, str] = {}
    for case_id in cases:
        try:
            state = decision_case(home=str(ws.home), case_id=case_id, return_state=True)
        except Exception as exc:
            if not _away(exc):
                raise
            # Prefect unreachable mid-round: the case's rows stay undelivered, retried later
            log.warning("mirror: the decision-case run of %s did not reach Prefect: %s", case_id, exc)
            continue
        if state.is_completed():
            ran[case_id] = str(state.state_details.flow_run_id)
        else:
            log.warning("mirror: the decision-case run of %s ended %s: %s", case_id, state.name, state.message)
    APILogWorker.drain_all(timeout=60.0, at_exit=False)  # the runs' logs reach Prefect before the round ends
    return ran


def _held_by_prefect(client: Any, rows: list[Pending], since: datetime, seconds: float) -> set[uuid.UUID]:
    """The ids of the rows' events that Prefect's event store holds, waiting up to `seconds` for its persister."""
    from prefect.events.filters import EventFilter, EventIDFilter, EventOccurredFilter

    want = {event_id(r) for r in rows}
    held: set[uuid.UUID] = set()
    deadline = time.monotonic() + seconds
    while True:
        missing = sorted(want - held)
        for start in range(0, len(missing), 50):  # the API returns at most 50 a page
            chunk = missing[start:start + 50]
            flt = EventFilter(id=EventIDFilter(id=chunk), occurred=EventOccurredFilter(
                since=since, until=datetime.now(timezone.utc) + timedelta(minutes=5)))
            held |= {e.id for e in client.read_events(filter=flt, limit=50).events}
        if held >= want or time.monotonic() > deadline:
            return held
        time.sleep(0.25)


def _deliverable(rows: list[Pending], held: set[uuid.UUID], ran: dict[str, str]) -> list[int]:
    """The rows to mark: per case, the longest prefix (in order) whose events Prefect holds, if its run completed."""
    out: list[int] = []
    stopped: set[str] = set()
    for r in rows:
        if r.case_id in stopped:
            continue
        if event_id(r) in held and (r.case_id == WORKSPACE_STREAM or r.case_id in ran):
            out.append(r.id)
        else:
            stopped.add(r.case_id)
    return out


def run_mirror(ws: Workspace, stop: threading.Event, *, api_url: Callable[[], str | None] | None = None,
               poll_seconds: float = POLL_SECONDS, say: Callable[[str], None] | None = None) -> None:
    """Drain the outbox until `stop` is set: a round as soon as the last one delivered a full batch, else every
    `poll_seconds`; after a failure, wait per `BACKOFF` and try again (the records wait in the outbox)."""
    failures = 0
    waited = False  # said once that another worker mirrors meanwhile
    while not stop.is_set():
        try:
            done = drain_once(ws, api_url() if api_url else None)
        except DecisionError as exc:  # Prefect away (PrefectUnavailable), or the case store busy or failing
            failures += 1
            wait = BACKOFF[min(failures - 1, len(BACKOFF) - 1)]
            if failures == 1 and say is not None:
                say(f"mirror delayed: {exc.message} (retrying)")
            log.warning("mirror delayed (%d in a row, next try in %.0f s): %s", failures, wait, exc.message)
            stop.wait(wait)
            continue
        if done.busy:  # another worker's round: wait for the next poll, as when there is nothing to do
            if not waited and say is not None:
                say("mirror: another worker is mirroring this case store; this one waits its turn")
            waited = True
            stop.wait(poll_seconds)
            continue
        if done.left and not done.delivered:  # nothing went through (a case's run failed): back off as in an outage
            failures += 1
            stop.wait(BACKOFF[min(failures - 1, len(BACKOFF) - 1)])
            continue
        if failures and say is not None:
            say("mirror: Prefect answers again; delivering what waited")
        failures = 0
        if done.delivered and say is not None:
            say(f"mirror: {done.delivered} record(s), {len(done.cases)} case run(s) delivered")
        if not done.left:
            stop.wait(poll_seconds)

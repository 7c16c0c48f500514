"""`audit verify` on every core: the cases split across worker processes, the verdicts put back in the order the
single process gives them, so the report is the same whichever way it ran.

Cases are independent (each one's chain, documents, comments and rules need only its own events, the workspace
stream and the cases it names), so each worker verifies a share of the cases with the same code as the single
process (`flows.usecases.audit.verify_ids`), in one read transaction of its own. The parent keeps its own read
transaction open for the whole run and does the once-per-store work itself while the workers run: the workspace
stream's verdict, the comment rows filed under no case, and (with `--checkpoint`) the Merkle root over the whole store.

- Shares: the streams' sizes (each one's highest seq, found by an index seek a stream) are dealt largest first to
  the least loaded worker, so every worker ends at about the same time. The workers start at once; the report's
  order of cases (first appearance, a pass over the whole index) is read by the parent while they run.
- Snapshot: on PostgreSQL every worker reads the parent's snapshot (`pg_export_snapshot` / `SET TRANSACTION
  SNAPSHOT`), so the workers see exactly the history the parent sees. SQLite has no way to share a snapshot between
  connections: each worker reads in its own read transaction, begun after the parent's; a record committed while
  the verification runs may be judged by one side and not the other (as with two verifications run one after the
  other), never half of it — each case is judged whole in one snapshot with the calendars of that snapshot.
- Processes: the 'spawn' context. The parent holds an open database connection (and, on PostgreSQL, a socket) when
  the workers start; a forked child would inherit them, and SQLite's documentation forbids carrying an open
  connection across fork(). Spawned workers start from a fresh interpreter, open their own connection and close it
  before they return. They are started only when there is work worth it (`PARALLEL_FROM` events) and are joined
  before `verify_cases` returns; if anything goes wrong the remaining ones are terminated, never left behind.
  (multiprocessing's resource tracker, one per parent process, ends with the parent.) As with any 'spawn' program,
  a script that calls `verify_cases(jobs=N)` needs the `if __name__ == "__main__":` guard: each worker imports the
  caller's main module (the `juece` command, the bench scripts and pytest have it).
- Errors: a worker's error (damage is `IntegrityFailure`, exit 4; an unreadable store the same) is raised in the
  parent as it would have been raised in the single process.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from models import store

# Below this many events the verification stays in this process. A spawned worker costs about 0.1–0.3 s of start-up
# (a fresh interpreter importing the rules; on SQLite it reads through plain sqlite3 and imports neither SQLAlchemy
# nor the pydantic event models; bench/RESULTS.md), while the single process verifies ≈ 40–50k events/s: under
# 50,000 events two workers would not finish much sooner than one process.
# JUECE_VERIFY_PARALLEL_FROM=N sets another threshold (the tests use 0 to send a small workspace to the workers).
PARALLEL_FROM = 50_000


def parallel_from() -> int:
    """The threshold in force: JUECE_VERIFY_PARALLEL_FROM when it is a whole number, else PARALLEL_FROM."""
    value = os.environ.get("JUECE_VERIFY_PARALLEL_FROM", "").strip()
    return int(value) if value.isdigit() else PARALLEL_FROM


def usable_cores() -> int:
    """The cores this process may run on (the default of `audit verify --jobs`)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Plan:
    """Which cases go to which worker."""

    parts: list[list[str]]


def plan(conn: Any, case_ids: Sequence[str], jobs: int, *, threshold: int | None = None) -> Plan | None:
    """The shares of `jobs` workers, or None when the verification should stay in this process: one job, fewer
    than `threshold` events (default: `parallel_from()`), or a named case the store does not hold (the single process
    names it)."""
    if jobs < 2:
        return None
    sizes = store.stream_seq_bounds(conn)
    if case_ids:
        known = dict(sizes)
        if any(c not in known for c in case_ids):
            return None
        chosen = [(c, known[c]) for c in dict.fromkeys(case_ids)]
    else:
        chosen = sizes
    jobs = min(jobs, len(chosen))
    if jobs < 2 or sum(n for _, n in chosen) < (parallel_from() if threshold is None else threshold):
        return None
    loads = [(0, i) for i in range(jobs)]
    parts: list[list[str]] = [[] for _ in range(jobs)]
    for case_id, n in sorted(chosen, key=lambda c: -c[1]):  # largest first, to the least loaded worker
        load, i = heapq.heappop(loads)
        parts[i].append(case_id)
        heapq.heappush(loads, (load + n, i))
    return Plan([p for p in parts if p])


def _snapshot(conn: Any) -> str | None:
    """PostgreSQL: the parent transaction's snapshot, exported for the workers (None on SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())


def verify_part(database_url: str, home: str, config: dict[str, Any], ids: list[str], snapshot: str | None) -> list[Any]:
    """A worker: the verdicts of `ids`, read in one read transaction (on the parent's snapshot when given)."""
    from flows.usecases.audit import verify_ids
    from flows.usecases.workspace import Workspace
    from models.db import read_transaction
    from models.store import gc_paused

    ws = Workspace(Path(home), database_url, config)
    try:  # `ws.db`: plain sqlite3 on SQLite (no SQLAlchemy, sqlmodel or pydantic to import), the engine otherwise
        with read_transaction(ws.db) as conn, gc_paused():
            if snapshot is not None:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return verify_ids(ws, conn, ids)
    finally:
        ws.db.dispose()


class Workers:
    """The worker processes of one verification, started at once; `verdicts()` waits for them. Used as a context
    manager inside the parent's read transaction: on leaving it every worker has ended."""

    def __init__(self, ws: Any, conn: Any, shares: Plan) -> None:
        self.plan = shares
        snapshot = _snapshot(conn)
        self.pool = ProcessPoolExecutor(max_workers=len(shares.parts), mp_context=multiprocessing.get_context("spawn"))
        self.futures: list[Future[list[Any]]] = [
            self.pool.submit(verify_part, ws.database_url, str(ws.home), dict(ws.config), part, snapshot)
            for part in shares.parts
        ]

    def verdicts(self, ids: Sequence[str]) -> list[Any]:
        """The verdicts of `ids` (the cases the workers were given, in the report's order; a worker's error is raised
        here)."""
        got = {v.case_id: v for f in self.futures for v in f.result()}
        return [got[i] for i in ids]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:  # the parent failed: the workers' results are not wanted
            for f in self.futures:
                f.cancel()
            for p in list((getattr(self.pool, "_processes", None) or {}).values()):
                p.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)

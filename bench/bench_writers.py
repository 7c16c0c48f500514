"""Concurrent clerks: W writer processes × N records each, spread over C published cases, against SQLite (the
workspace file) or PostgreSQL (a fresh schema on the local server). Prints records/s, retries, lost, duplicated.

    .venv/bin/python bench/bench_writers.py --backend sqlite
    .venv/bin/python bench/bench_writers.py --backend postgresql
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def writer(home: str, url: str | None, cases: list[str], n: int, wid: int, start: float, out: mp.Queue) -> None:
    """One clerk's process: record n execution reports, retrying only when someone else wrote first (exit 6)."""
    if url:
        os.environ["JUECE_DATABASE_URL"] = url
    from flows.usecases.record import record_event
    from flows.usecases.workspace import Actor, open_workspace
    from policies.errors import ConcurrentModification
    from support import payload

    ws = open_workspace(home)
    clerk = Actor("clerk", f"办事员{wid}")
    retries = locked = errors = 0
    while time.time() < start:
        time.sleep(0.001)
    for i in range(n):
        body = payload("execution-reported", status=f"{wid}号办事员第{i}次报告")
        for _ in range(50):
            try:
                record_event(ws, clerk, cases[(wid + i) % len(cases)], "execution-reported", body,
                             idempotency_key=f"bench-{wid}-{i}")
                break
            except ConcurrentModification as exc:
                retries += 1
                locked += "locked" in str(exc.__cause__ or "")
        else:
            errors += 1
    out.put((retries, locked, errors))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--records", type=int, default=250)
    ap.add_argument("--cases", type=int, default=10)
    args = ap.parse_args()

    from contextlib import ExitStack

    with ExitStack() as stack:
        url = None
        if args.backend == "postgresql":
            from backends import postgres_reason, postgres_schema

            if postgres_reason():
                sys.exit(postgres_reason())
            url = stack.enter_context(postgres_schema())
            os.environ["JUECE_DATABASE_URL"] = url
        from sqlalchemy import text

        from flows.usecases.audit import verify_cases
        from support import MANDATORY_PATH, Driver, new_workspace

        home = Path(tempfile.mkdtemp(prefix="juece-writers-")) / "ws"
        ws = new_workspace(home)
        cases = []
        for c in range(args.cases):
            d = Driver(ws)
            d.launch(title=f"第{c + 1}号决策事项")
            d.walk(MANDATORY_PATH)
            d.walk(["party-reported", "decision-published"])
            cases.append(d.case_id)
        d.clock_to(date(2025, 12, 31))
        ctx = mp.get_context("spawn")
        q: mp.Queue = ctx.Queue()
        start = time.time() + 3.0  # every writer imported and waiting
        procs = [ctx.Process(target=writer, args=(str(home), url, cases, args.records, w, start, q)) for w in range(args.writers)]
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.time() - start
        total = args.writers * args.records
        with ws.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM events WHERE idempotency_key LIKE 'bench-%'")).scalar_one()
            distinct = conn.execute(text("SELECT count(DISTINCT idempotency_key) FROM events WHERE idempotency_key LIKE 'bench-%'")).scalar_one()
        report = verify_cases(ws)
        retries = sum(r[0] for r in results)
        print(f"backend {args.backend}: {args.writers} writers × {args.records} records on {args.cases} cases")
        print(f"  recorded {stored} of {total}: lost {total - distinct}, duplicated {stored - distinct}, "
              f"failed after retries {sum(r[2] for r in results)}")
        print(f"  retries after 'someone else wrote first' (exit 6): {retries}; 'database is locked': {sum(r[1] for r in results)}")
        print(f"  {elapsed:.1f} s wall → {stored / elapsed:.0f} records/s; audit verify exit {report.exit_code}")
        print(f"  load average {os.getloadavg()[0]:.2f}; run id {uuid.uuid4().hex[:8]}")


if __name__ == "__main__":
    main()

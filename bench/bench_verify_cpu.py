"""Replay and `audit verify` over the first N cases of bench_verify.py's store, in CPU seconds of this process
(`time.process_time`), not wall time: on a machine shared with other work the wall figures of bench_verify.py
swung 2× between consecutive runs of the same code (load average 7–12), the CPU figures far less. Use it to compare
two versions of the code back to back, alternating, on the same store; the store must exist (build it with
bench_verify.py first).

    .venv/bin/python bench/bench_verify_cpu.py [--db /tmp/juece-bench-1e6.db] [--sample 40] [--runs 3]

Prints events/s of CPU time, best of the runs, for (c) replay(load_stream) per case and (d) verify_cases(ids).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/juece-bench-1e6.db")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    db = Path(args.db).resolve()
    home = Path(str(db) + ".home")
    os.environ["JUECE_DATABASE_URL"] = f"sqlite:///{db}"

    from flows.usecases.audit import verify_cases
    from flows.usecases.workspace import Workspace
    from models import store
    from models.db import read_transaction
    from models.state import replay

    ws = Workspace(home, os.environ["JUECE_DATABASE_URL"], json.loads((home / "workspace.json").read_text()))
    with read_transaction(ws.engine) as conn:
        ids = store.stream_ids(conn, event_type="case-launched")[: args.sample]
    best_r = best_v = float("inf")
    n = 0
    for _ in range(args.runs):
        t = time.process_time()
        with read_transaction(ws.engine) as conn:
            n = sum(replay(store.load_stream(conn, i)).seq for i in ids)
        best_r = min(best_r, time.process_time() - t)
        t = time.process_time()
        report = verify_cases(ws, ids)
        best_v = min(best_v, time.process_time() - t)
        if report.exit_code != 0:
            raise SystemExit(f"audit verify exited {report.exit_code}")
    print(f"{ROOT.name}: {n:,} events; (c) replay {n / best_r:,.0f} events/s CPU, (d) audit verify "
          f"{n / best_v:,.0f} events/s CPU (best of {args.runs}; load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()

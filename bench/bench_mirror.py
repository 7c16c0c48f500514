"""The live mirror's delay per record: from the record's commit to its event being readable from Prefect's API (and
to its outbox row marked delivered), with `juece worker` running beside a local Prefect server.

A fresh temporary workspace holds one case walked to publication (the test suite's driver, tests/support.py); a local
Prefect server is started for it (flows/orchestration/prefect_server.py) and `juece worker` in a process of its own.
Then, `--records N` times (default 20), one `execution-reported` record is made in this process and the clock runs
until Prefect answers for its event (POST /api/events/filter by the event's id, every 20 ms) and until its outbox row
is marked. Records are made one at a time (the next after the last was delivered), so each figure is one record's
delay, not a queue's. Prints median, p95, min and max and the load; stops the worker and the server; leaves nothing.

    .venv/bin/python bench/bench_mirror.py [--records N]
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from flows.orchestration.mirror import event_id, pending_count  # noqa: E402
from flows.orchestration.prefect_server import ensure_server, stop_server  # noqa: E402
from models import store  # noqa: E402
from models.outbox import Pending  # noqa: E402
from models.db import read_transaction  # noqa: E402
from support import MANDATORY_PATH, Driver, new_workspace  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(p / 100 * len(ordered)))) - 1]


def wait(check, timeout: float, what: str, worker: subprocess.Popen[bytes], log: Path) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    while not check():
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text(errors='replace')[-3000:]}")
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{what}: not within {timeout:g} s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.02)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUECE_", "PREFECT_API_URL"))}
    with tempfile.TemporaryDirectory(prefix="juece-bench-mirror-") as tmp:
        ws = new_workspace(Path(tmp) / "ws")
        case = Driver(ws)
        case.launch("risk-relevant", "technical")
        case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
        case.clock_to(date(2025, 12, 15))
        walked = case.show().events
        server = ensure_server(ws.prefect_home)
        log = Path(tmp) / "worker.log"
        juece = str(Path(sys.executable).with_name("juece"))
        with log.open("wb") as out:
            worker = subprocess.Popen([juece, "--home", str(ws.home), "worker", "--api-url", server.api_url],
                                      env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        visible, marked = [], []
        try:
            with httpx.Client(base_url=server.api_url, timeout=10.0, trust_env=False) as api:
                caught_up = wait(lambda: pending_count(ws) == 0, 300, "the walk's records", worker, log)
                for i in range(args.records):
                    case.record("execution-reported", {"reported_on": "2025-12-15", "unit": "市住建局",
                                                       "status": f"第{i + 1}次执行情况报告"})
                    recorded = time.perf_counter()
                    with read_transaction(ws.engine) as conn:
                        last = store.load_stream(conn, case.case_id)[-1]
                    row = Pending(0, last.case_id, last.seq, last.type, last.recorded_at, last.hash)
                    body = {"filter": {"id": {"id": [str(event_id(row))]},
                                       "occurred": {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}},
                            "limit": 1}
                    wait(lambda: bool(api.post("/events/filter", json=body).json()["events"]), 120, "the event",
                         worker, log)
                    visible.append(time.perf_counter() - recorded)
                    wait(lambda: pending_count(ws) == 0, 120, "the mark", worker, log)
                    marked.append(time.perf_counter() - recorded)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
            stop_server(ws.prefect_home)
            ws.engine.dispose()
    print(f"live mirror, {args.records} records one at a time, `juece worker` + local Prefect server (SQLite); "
          f"the walk's {walked} case records caught up in {caught_up:.1f} s after the worker started")
    print(f"{'record → ':<40} {'median':>8} {'p95':>8} {'min':>8} {'max':>8}")
    for name, xs in (("event readable from Prefect's API", visible), ("outbox row marked delivered", marked)):
        print(f"{name:<40} {statistics.median(xs):>7.2f}s {percentile(xs, 95):>7.2f}s {min(xs):>7.2f}s {max(xs):>7.2f}s")
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Prefect's overhead per case advance: the `decision-case` flow run N times against the local Prefect server juece
manages (heartbeat off), compared with the same use case called directly.

    .venv/bin/python bench/bench_flow.py --runs 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from flows.usecases.show import show_case
    from flows.orchestration.prefect_server import ensure_server, prefect_env, stop_server
    from support import MANDATORY_PATH, Driver, new_workspace

    tmp = Path(tempfile.mkdtemp(prefix="juece-flow-bench-"))
    ws = new_workspace(tmp / "ws")
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(MANDATORY_PATH[:5])
    t0 = time.perf_counter()
    server = ensure_server(tmp / "prefect")
    t_server = time.perf_counter() - t0
    try:
        os.environ.update(prefect_env(tmp / "prefect", api_url=server.api_url))
        t0 = time.perf_counter()
        from prefect.settings import temporary_settings

        from flows.orchestration.prefect_flows import decision_case

        t_import = time.perf_counter() - t0
        direct, flowed = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            show_case(ws, d.case_id)
            direct.append(time.perf_counter() - t0)
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            for _ in range(args.runs):
                t0 = time.perf_counter()
                state = decision_case(home=str(ws.home), case_id=d.case_id, return_state=True)
                flowed.append(time.perf_counter() - t0)
                assert state.name == "AwaitingLegalityOpinion"
        print(f"fresh local Prefect server start: {t_server:.2f} s; import prefect + flows: {t_import:.2f} s "
              f"(load average {os.getloadavg()[0]:.2f})")
        print(f"  use case alone (show_case):  median {statistics.median(direct) * 1000:7.1f} ms")
        print(f"  decision-case flow run:      median {statistics.median(flowed) * 1000:7.1f} ms, first {flowed[0] * 1000:.0f} ms, "
              f"max {max(flowed) * 1000:.0f} ms over {args.runs} runs")
        print(f"  Prefect overhead per case advance: ~{(statistics.median(flowed) - statistics.median(direct)) * 1000:.0f} ms")
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all()  # send the runs' logs before the server goes away
    finally:
        stop_server(tmp / "prefect")


if __name__ == "__main__":
    main()

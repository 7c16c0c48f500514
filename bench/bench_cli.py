"""Whole-process wall time of the two commands people run most: `juece case show CASE` and
`juece record CASE execution-reported --file F` (a distinct payload each run, so every run really writes).

The workspace is fresh, in a temporary folder, with one case walked through the procedure to publication using the
same public functions the tests use (tests/support.py). Target (PRODUCT.md: reading and recording never import
Prefect): under 0.5 s each.

    .venv/bin/python bench/bench_cli.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import MANDATORY_PATH, Driver, new_workspace  # noqa: E402

JUECE = str(Path(sys.executable).with_name("juece"))
TARGET_S = 0.5


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (for 20 runs, p95 is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    with tempfile.TemporaryDirectory(prefix="juece-bench-") as tmp:
        ws = new_workspace(Path(tmp) / "ws")
        case = Driver(ws)
        case.launch("risk-relevant", "technical")
        case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
        case.clock_to(date(2025, 12, 15))
        home = str(ws.home)

        timed([JUECE, "--home", home, "case", "show", case.case_id], env)  # warm the OS file cache once

        show = [timed([JUECE, "--home", home, "case", "show", case.case_id], env) for _ in range(args.runs)]

        record = []
        for i in range(args.runs):
            f = Path(tmp) / f"report-{i}.json"
            f.write_text(json.dumps({"reported_on": "2025-12-15", "unit": "市住建局", "status": f"第{i + 1}次执行情况报告"},
                                    ensure_ascii=False), encoding="utf-8")
            record.append(timed([JUECE, "--home", home, "--as", "clerk:李明", "record", case.case_id,
                                 "execution-reported", "--file", str(f)], env))
        events = case.show().events

    print(f"juece CLI wall time, {args.runs} runs each, case {case.case_id} ({events} events at the end)")
    print(f"{'command':<48} {'median':>8} {'p95':>8} {'min':>8} {'max':>8}  target {TARGET_S}s (median / p95)")
    for name, xs in (("case show CASE", show), ("record CASE execution-reported --file F", record)):
        med, p95 = statistics.median(xs), percentile(xs, 95)
        verdict = " / ".join("ok" if x < TARGET_S else "OVER" for x in (med, p95))
        print(f"{name:<48} {med:>7.3f}s {p95:>7.3f}s {min(xs):>7.3f}s {max(xs):>7.3f}s  {verdict}")
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Whole-process wall time of the two commands people run most: `juece case show CASE` (and with `--json`) and
`juece record CASE execution-reported --file F` (a distinct payload each run, so every run really writes), beside
the floors measured in the same run: `python -c pass`, and a Python process reading the case's rows with sqlite3.

The workspace is fresh, in a temporary folder, with one case walked through the procedure to publication using the
same public functions the tests use (tests/support.py). Goal (issue 13): `case show --json` and `record` ≤ 0.15 s
median. The commands run as `python -m cli` in `--root` (default: this checkout), so two versions of the code can
be timed with one interpreter and one set of packages (`--root` of another checkout).

    .venv/bin/python bench/bench_cli.py [--runs 20] [--root PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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

TARGET_S = 0.15
FLOOR = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
         "rows = db.execute('SELECT * FROM events WHERE case_id = ? ORDER BY seq', (sys.argv[2],)).fetchall()")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (for 20 runs, p95 is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


LAST_CPU = 0.0


def timed(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    """Wall seconds of one whole process; its CPU seconds (user + system, from the children's rusage) go to
    `LAST_CPU`. On a loaded machine the CPU figure moves far less than the wall figure."""
    global LAST_CPU
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    return elapsed


def measure(runs: int, root: str = str(ROOT)) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of each run, by key: `pass` (python -c pass), `floor` (python + sqlite3 reading the case's
    rows), `show` (case show CASE), `json` (case show CASE --json), `record` (record … execution-reported); and the
    number of events the case holds at the end under `events`."""
    juece = [sys.executable, "-m", "cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def run(name: str, cmd: list[str], cwd: str | None = None) -> None:
        wall.setdefault(name, []).append(timed(cmd, env, cwd))
        cpu.setdefault(name, []).append(LAST_CPU)

    with tempfile.TemporaryDirectory(prefix="juece-bench-") as tmp:
        ws = new_workspace(Path(tmp) / "ws")
        case = Driver(ws)
        case.launch("risk-relevant", "technical")
        case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
        case.clock_to(date(2025, 12, 15))
        home = str(ws.home)
        db = str(ws.home / "juece.db")
        timed([*juece, "--home", home, "case", "show", case.case_id], env, root)  # warm the OS file cache once
        for _ in range(runs):
            run("pass", [sys.executable, "-c", "pass"])
            run("floor", [sys.executable, "-c", FLOOR, db, case.case_id])
        for _ in range(runs):
            run("show", [*juece, "--home", home, "case", "show", case.case_id], root)
            run("json", [*juece, "--home", home, "case", "show", case.case_id, "--json"], root)
        for i in range(runs):
            f = Path(tmp) / f"report-{i}.json"
            f.write_text(json.dumps({"reported_on": "2025-12-15", "unit": "市住建局", "status": f"第{i + 1}次执行情况报告"},
                                    ensure_ascii=False), encoding="utf-8")
            run("record", [*juece, "--home", home, "--as", "clerk:李明", "record", case.case_id, "execution-reported",
                           "--file", str(f)], root)
        events = case.show().events
    return {"wall": wall, "cpu": cpu, "events": {"count": [float(events)]}, "case": {case.case_id: []}}


def compile_sources(root: str) -> None:
    """Write the checkout's bytecode, as installing a wheel does: with PYTHONDONTWRITEBYTECODE set (this machine sets
    it), an editable checkout would otherwise recompile every module of the command on every run (~0.3 s)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "cli.py", "flows", "models", "policies", "web"],
                   cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose code is timed (python -m cli there)")
    args = parser.parse_args()
    root = str(Path(args.root).resolve())
    compile_sources(root)
    m = measure(args.runs, root)
    wall, cpu = m["wall"], m["cpu"]
    case_id = next(iter(m["case"]))
    events = int(m["events"]["count"][0])
    print(f"juece CLI wall time ({root}), {args.runs} runs each, case {case_id} ({events} events at the end)")
    floor, floor_cpu = statistics.median(wall["floor"]), statistics.median(cpu["floor"])
    print(f"{'command':<48} {'median':>8} {'p95':>8} {'min':>8} {'÷ floor':>8} {'CPU med':>8} {'÷ floor':>8}  goal {TARGET_S}s")
    for key, name in (("pass", "python -c pass"), ("floor", "floor: python + sqlite3 reading the case's rows"),
                      ("show", "case show CASE"), ("json", "case show CASE --json"),
                      ("record", "record CASE execution-reported --file F")):
        xs = wall[key]
        med, p95, c = statistics.median(xs), percentile(xs, 95), statistics.median(cpu[key])
        verdict = "" if key in ("pass", "floor") else ("ok" if med <= TARGET_S else "OVER")
        print(f"{name:<48} {med:>7.3f}s {p95:>7.3f}s {min(xs):>7.3f}s {med / floor:>7.1f}× {c:>7.3f}s "
              f"{c / floor_cpu:>7.1f}×  {verdict}")
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

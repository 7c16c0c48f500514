"""The benchmark runner (issue 13): every figure beside its goal and beside a floor measured in the same run, as a
ratio, so that a busy machine does not hide a regression (on a loaded machine the figure and its floor slow down
together; the ratio moves far less than either).

    .venv/bin/python bench/run.py [--quick] [--runs N] [--skip cli,comments,verify,icount] [--markdown FILE]

Floors, measured first and again where they matter:
  pass       `python -c pass`: the interpreter's own start (wall and CPU seconds)
  read       a Python process reading one case's rows with sqlite3: what any command that shows a case must pay
  pydantic   validating comment-shaped rows with a three-field pydantic model, rows/s: the validation floor of an import
  integrity  the hash chains alone, one pass over the store (bench_verify.py's (b)): the floor of `audit verify`

Figures and goals:
  case show CASE --json, record …      median wall seconds ≤ 0.15 (bench_cli.py; ratio to `read`, CPU and wall)
  comments import, 10^5, end to end    ≥ 50,000 comments/s, clustering included (bench_comments.py; ratio to pydantic)
  audit verify at 10^6 events          ≥ 100,000 events/s on every core, and ≥ 1.8× from one core to two
                                       (bench_verify.py --jobs 1 / --jobs N; ratio to integrity)

Instructions (bench_icount.py, valgrind's cachegrind; "not measured" with the reason when valgrind is missing): the
same work counted in instructions, which do not move with the machine's speed: `audit verify` per event beside the
read and chain check alone, a whole `case show CASE --json` beside `python -c pass` and the sqlite3 floor, and
`comments import` per comment.

`--quick` measures 2·10^4 events and 2·10^4 comments (a smoke run; its figures are not the issue's). The sub-benches run
as their own processes with `--json` (one JSON object on their last line); the runner prints one table and, with
`--markdown FILE`, appends it to FILE with the machine, the date and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


@dataclass
class Figure:
    what: str
    value: float | None  # None: not measured (`note` says why)
    unit: str
    goal: str
    met: bool | None
    floor: str = ""
    ratio: str = ""
    note: str = ""


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpus": str(len(os.sched_getaffinity(0))), "cpu": model, "memory": mem,
            "python": platform.python_version(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def sub_bench(script: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run bench/SCRIPT --json ARGS in its own process; its last stdout line is the JSON object of its figures."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{script} exited {done.returncode}: {done.stderr.strip()[-600:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{script} printed nothing")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def pydantic_floor(n: int) -> float:
    """Rows/s validating comment-shaped dicts with a three-field pydantic model (a TypeAdapter over the list)."""
    from pydantic import BaseModel, TypeAdapter

    class Row(BaseModel):
        received_on: str
        channel: str
        text: str

    rows = [{"received_on": "2025-09-0%d" % (1 + i % 9), "channel": "online", "text": f"意见第{i}条：建议增加停车位"}
            for i in range(n)]
    adapter = TypeAdapter(list[Row])
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        adapter.validate_python(rows)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def cli_figures(runs: int) -> list[Figure]:
    import bench_cli

    bench_cli.compile_sources(str(ROOT))
    m = bench_cli.measure(runs, str(ROOT))
    wall, cpu = m["wall"], m["cpu"]
    read_w, read_c = statistics.median(wall["floor"]), statistics.median(cpu["floor"])
    out = [
        Figure("floor: `python -c pass`", statistics.median(wall["pass"]), "s", "", None,
               note=f"CPU {statistics.median(cpu['pass']):.3f} s"),
        Figure("floor: python + sqlite3 reading the case's rows", read_w, "s", "", None,
               note=f"CPU {read_c:.3f} s"),
    ]
    for key, what in (("json", "`case show CASE --json`"), ("record", "`record CASE execution-reported -f F`"),
                      ("show", "`case show CASE` (the table, Rich)")):
        w, c = statistics.median(wall[key]), statistics.median(cpu[key])
        goal = "≤ 0.15 s" if key != "show" else "(no goal)"
        out.append(Figure(what, w, "s", goal, (w <= 0.15) if key != "show" else None, "read",
                          f"{w / read_w:.1f}× wall, {c / read_c:.1f}× CPU", f"CPU {c:.3f} s, {runs} runs"))
    return out


def comments_figures(n: int) -> list[Figure]:
    floor = pydantic_floor(n)
    out = [Figure("floor: pydantic validation alone", floor, "rows/s", "", None)]
    try:
        r = sub_bench("bench_comments.py", "--n", str(n), "--runs", "3")
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        out.append(Figure(f"comments import, {n:,}, end to end", None, "comments/s", "≥ 50,000/s", None, note=str(exc)))
        return out
    rate = float(r["end_to_end_rate"])
    quality = (f"campaign copies in their cluster {r['recall']:.1%}, individuals merged in {r['merged_individuals']:.0f} of {r['individuals']:,}"
               if "recall" in r else "")
    out.append(Figure(f"`juece comments import`, {n:,}, end to end (its own process, clustering included)", rate,
                      "comments/s", "≥ 50,000/s", rate >= 50_000, "pydantic", f"{rate / floor:.3f}× of the floor",
                      f"CPU {r['cpu_seconds']:.2f} s; {quality}"))
    for key, what in (("in_process_rate", "the same use case in-process (no start-up)"),
                      ("import_rate", "in-process, without the wait for the clusters")):
        if key in r:
            out.append(Figure(what, float(r[key]), "comments/s", "", None, "pydantic",
                              f"{float(r[key]) / floor:.3f}× of the floor"))
    return out


def verify_figures(cases: int, per_case: int, db: Path) -> list[Figure]:
    cores = len(os.sched_getaffinity(0))
    args = ["--db", str(db), "--cases", str(cases), "--events", str(per_case), "--runs", "1"]
    try:
        r = sub_bench("bench_verify.py", *args, "--only", "b,d", "--jobs", f"1,{cores}", timeout=7200)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        return [Figure(f"audit verify, {cases * per_case:,} events", None, "events/s", "≥ 100,000/s", None,
                       note=str(exc))]
    integrity = float(r["b"])
    v1, vn = float(r["d"]), float(r[f"d{cores}"] if cores > 1 else r["d"])
    cpu = r.get("cpu", {})
    scaling = vn / v1 if v1 else 0.0
    return [
        Figure("floor: integrity alone (every chain + Merkle root, one pass)", integrity, "events/s", "", None),
        Figure(f"audit verify, {r['events']:,} events, 1 process", v1, "events/s", "", None, "integrity",
               f"{v1 / integrity:.3f}× of the floor", f"CPU {cpu.get('d', 0):.0f} s"),
        Figure(f"audit verify, {r['events']:,} events, {cores} processes", vn, "events/s", "≥ 100,000/s",
               vn >= 100_000, "integrity", f"{vn / integrity:.3f}× of the floor",
               f"CPU {cpu.get(f'd{cores}', 0):.0f} s (with its workers)"),
        Figure(f"audit verify scaling, 1 → {cores} cores", scaling, "×", "≥ 1.8×", scaling >= 1.8),
    ]


def icount_figures(db: Path) -> list[Figure]:
    try:
        r = sub_bench("bench_icount.py", "--db", str(db), timeout=3600)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        return [Figure("instructions (cachegrind)", None, "instructions", "", None, note=str(exc))]
    return [
        Figure("instructions: read + chain check alone, an event", r["chain"], "instructions", "", None),
        Figure("instructions: `audit verify`, an event (every rule re-run)", r["verify"], "instructions", "", None,
               "chain", f"{r['verify'] / r['chain']:.2f}× of the floor", "verify_ids over 30 cases minus 10 cases"),
        Figure("instructions: `python -c pass`", r["pass"], "instructions", "", None),
        Figure("instructions: python + sqlite3 reading the case's rows", r["floor"], "instructions", "", None),
        Figure("instructions: `case show CASE --json`, whole process", r["json"], "instructions", "", None, "read",
               f"{r['json'] / r['floor']:.2f}× of the floor"),
        Figure("instructions: `comments import`, a comment (both processes)", r["comment"], "instructions", "", None,
               note=f"the command {r['comment_parent']:,.0f}, its second process {r['comment_child']:,.0f}; "
                    "a first import of 4.5·10^4 minus one of 1.5·10^4"),
    ]


def table(figures: list[Figure]) -> str:
    lines = ["| what | figure | goal | met | ratio to its floor | note |", "|---|---|---|---|---|---|"]
    for f in figures:
        if f.value is None:
            value = "not measured"
        elif f.unit == "s":
            value = f"{f.value:.3f} s"
        elif f.unit == "×":
            value = f"{f.value:.2f}×"
        else:
            value = f"{f.value:,.0f} {f.unit}"
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        note = " ".join(f.note.split()).replace("|", "\\|")
        lines.append(f"| {f.what} | {value} | {f.goal} | {met} | {f.ratio} | {note} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2·10^4 events, 2·10^4 comments, 5 runs")
    parser.add_argument("--runs", type=int, default=0, help="runs of each command (default 11; 5 with --quick)")
    parser.add_argument("--skip", default="", help="comma-separated: cli, comments, verify, icount")
    parser.add_argument("--markdown", type=Path, help="append the table, the machine and the loads to this file")
    parser.add_argument("--db", type=Path, default=None, help="the verify store (built once, cached)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    runs = args.runs or (5 if args.quick else 11)
    cases, per_case = (20, 1000) if args.quick else (1000, 1000)
    n_comments = 20_000 if args.quick else 100_000
    db = args.db or (Path("/tmp/juece-bench-1e6.db") if not args.quick else Path(f"/tmp/juece-bench-{cases}x{per_case}.db"))

    info = machine()
    before = loadavg()
    print(f"juece benchmarks — {info['date']}; {info['cpus']} CPUs ({info['cpu']}), {info['memory']}, "
          f"Python {info['python']}; load average before: {before}", flush=True)
    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("cli", lambda: cli_figures(runs)),
        ("comments", lambda: comments_figures(n_comments)),
        ("verify", lambda: verify_figures(cases, per_case, db)),
        ("icount", lambda: icount_figures(db)),
    ]
    figures: list[Figure] = []
    for name, step in steps:
        if name in skip:
            continue
        started = time.perf_counter()
        print(f"… {name}", flush=True)
        figures += step()
        print(f"  done in {time.perf_counter() - started:.0f} s (load {loadavg()})", flush=True)
    after = loadavg()
    text = table(figures)
    print()
    print(text)
    print(f"\nload average before: {before}; after: {after}")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as out:
            out.write(f"\n## `bench/run.py{' --quick' if args.quick else ''}`, {info['date']}\n\n"
                      f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']}, Python {info['python']}. "
                      f"Load average (1, 5, 15 min) before: {before}; after: {after}.\n\n{text}\n")


if __name__ == "__main__":
    main()

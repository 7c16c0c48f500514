"""`audit verify` and replay over 10^6 events: reading, integrity, replay and the full verification, timed separately.

The store is a real SQLite workspace store (WAL, synchronous=FULL) built once and cached at `--db` (default
/tmp/juece-bench-1e6.db; the workspace folder beside it is `<db>.home`). It holds `--cases` cases (default 1,000) of
`--events` events each (default 1,000): every case is a copy of one template case recorded through the real use cases
(tests/support.py's Driver and GOOD payloads: launch, a refused attempt, the five mandatory stages with an
acknowledged-free clean walk, the party report, publication, a few execution reports), re-appended under its own
case id with `models.store.append` — one write transaction per case, the GC paused — and then filled up with
`execution-reported` events (about three a day through 2026). The chain hashes are computed by the store as for
any append, so the store is indistinguishable from one written by the engine.

Measured, each in its own read transaction, events/s over every event of the store (the GC is left to the code
under test, which pauses it around its own batch loops; only (a) pauses it in the bench, as the floor):

  (a) read + decode   `store.iter_all` and `orjson.loads` of every body (the floor: what reading alone costs)
  (b) integrity       every stream's chain (`models.integrity.verify_store`: one streaming pass that checks every
                      stream's chain and computes the RFC 9162 Merkle root over all events, as a checkpoint check
                      does); also shown split, the straightforward way: `verify_stream(load_stream(id))` per stream,
                      then `root_of_events(iter_all())`
  (c) replay          every case folded into its state: `replay(load_stream(conn, id))`
  (d) audit verify    `flows.usecases.audit.verify_cases(ws, jobs=N)`: integrity + every rule of the pinned pack re-run on
                      every event, once per `--jobs` value (default 1,2: (d) in this process, (d2) with two worker
                      processes; the scaling from one to two is printed); CPU seconds include the workers'

Targets (issues 12 and 13): (b) and (c) at least 100,000 events/s; (d) at least 100,000 events/s with every core of
this 2-core machine, and at least 1.8× from one core to two. The load average is
read just before each run and includes the bench's own process (about 1.0 when nothing else runs). Against code
older than `verify_store`, (b) prints n/a and (b') is the figure to compare.

    .venv/bin/python bench/bench_verify.py [--db PATH] [--cases 1000] [--events 1000] [--runs 3]
        [--only a,b,c,d] [--sample N]   # N: measure (c) and (d) on the first N cases only (for slow code)
        [--rebuild]                     # build the store again even when a cached one matches
        [--jobs 1,2]                    # (d) once per value: audit verify --jobs N
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any, Callable

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import ADMIN, CLERK, MANDATORY_PATH, Driver, new_workspace, payload

from flows.usecases.clock import LOCAL
from flows.usecases.workspace import Workspace, init_workspace, set_clock
from models import store
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION, ExecutionReported
from models.store import WORKSPACE_STREAM, NewEvent, gc_paused, parse_utc
from policies.errors import RuleRefusal
from policies.pack import load_pack

TARGET = 100_000  # events/s for (b) and (c)
UNITS = ("三亚市住房和城乡建设局", "天涯区人民政府", "三亚市自然资源和规划局", "三亚城投集团")
STATUS = ("完成入户调查{n}户，签约率{p}%", "腾退房屋{n}户，累计完成{p}%", "安置房主体结构封顶{n}栋，进度{p}%",
          "发放过渡期租金补贴{n}户，足额到位率{p}%", "受理群众来访{n}件，办结率{p}%")


# --- building the store -----------------------------------------------------------------------------------------


def template_case(tmp: Path) -> list[store.StoredEvent]:
    """One case recorded through the real use cases: what every bench case copies."""
    ws = new_workspace(tmp / "template")
    d = Driver(ws)
    d.launch("public-concern")
    try:  # a refused attempt (publication before the meeting), kept in the history as attempt-refused
        d.record("decision-published")
    except RuleRefusal:
        pass
    d.walk(MANDATORY_PATH)
    d.record("party-reported")
    d.record("decision-published")
    for i, day in enumerate(("2025-12-15", "2026-01-15", "2026-02-16")):
        d.record("execution-reported", payload("execution-reported", reported_on=day, status=f"第{i + 1}次报告：入户调查完成"))
    with read_transaction(ws.engine) as conn:
        events = store.load_stream(conn, d.case_id)
    ws.engine.dispose()
    return events


def _ack(a: dict[str, Any]) -> dict[str, str]:
    return dict(a)


def case_events(template: list[store.StoredEvent], n: int, per_case: int) -> list[tuple[datetime, NewEvent]]:
    """The events of bench case number n: the template's, then execution reports up to `per_case` events."""
    out: list[tuple[datetime, NewEvent]] = []
    for ev in template:
        env = ev.envelope
        body = dict(env["payload"])
        if ev.type == "case-launched":
            body["title"] = f"三亚市河西片区棚户区改造项目（第{n}批）"
        out.append((parse_utc(ev.recorded_at), NewEvent(
            ev.type, env["schema_version"], body, ev.actor, ev.role, "", env["policy"], env["policy_hash"],
            tuple(_ack(a) for a in env["acknowledgements"]),
        )))
    last = template[-1]
    policy, policy_hash = last.envelope["policy"], last.envelope["policy_hash"]
    first_day = date(2026, 2, 17)
    for j in range(per_case - len(template)):
        day = first_day + timedelta(days=j // 3)
        moment = datetime.combine(day, dtime(9 + (j % 3) * 3, (n * 7 + j) % 60), tzinfo=LOCAL)
        status = STATUS[(n + j) % len(STATUS)].format(n=10 + (j * 37 + n) % 1200, p=(j * 3 + n) % 100)
        body = ExecutionReported(reported_on=day, unit=UNITS[(n + j) % len(UNITS)], status=status).model_dump(
            mode="json", by_alias=True)
        out.append((moment, NewEvent("execution-reported", SCHEMA_VERSION, body, CLERK.label, CLERK.role, "",
                                     policy, policy_hash)))
    return out


def build(db: Path, cases: int, per_case: int) -> dict[str, Any]:
    """Build the store at `db` (and its workspace folder `<db>.home`)."""
    home = Path(str(db) + ".home")
    for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm"), meta_path(db)):
        p.unlink(missing_ok=True)
    shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("JUECE_DATABASE_URL", None)
        template = template_case(Path(tmp))
    os.environ["JUECE_DATABASE_URL"] = f"sqlite:///{db.resolve()}"
    ws, _ = init_workspace(home, ADMIN, simulated_clock=datetime(2025, 8, 25, 9, 0, tzinfo=LOCAL))
    engine = ws.engine
    last_moment = None
    with gc_paused():
        for n in range(1, cases + 1):
            case_id = f"JC-2025-{n:04d}"
            evs = case_events(template, n, per_case)
            with write_transaction(engine) as conn:
                tail: list[store.StoredEvent] = []
                for seq, (moment, ev) in enumerate(evs, start=1):
                    ev = NewEvent(ev.type, ev.schema_version, ev.payload, ev.actor, ev.role, f"bench:{case_id}:{seq}",
                                  ev.policy, ev.policy_hash, ev.acknowledgements)
                    tail = store.append(conn, case_id, tail, [ev], moment)
                    last_moment = moment
            if n % 100 == 0:
                print(f"  built {n}/{cases} cases ({time.perf_counter() - started:.0f} s)", flush=True)
            if n % 50 == 0:
                gc.collect()
    set_clock(ws, ADMIN, datetime.combine(last_moment.astimezone(LOCAL).date() + timedelta(days=1), dtime(9), tzinfo=LOCAL))
    with read_transaction(engine) as conn:
        total = store.count_all(conn)
    engine.dispose()
    meta = {"cases": cases, "events_per_case": per_case, "total_events": total, "template_events": len(template),
            "policy_hash": template[0].envelope["payload"]["policy_hash"],
            "build_seconds": round(time.perf_counter() - started, 1), "built_at": datetime.now(timezone.utc).isoformat()}
    meta_path(db).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def meta_path(db: Path) -> Path:
    return Path(str(db) + ".meta.json")


def open_bench(db: Path, cases: int, per_case: int, rebuild: bool) -> tuple[Workspace, dict[str, Any]]:
    meta = None
    if not rebuild and db.exists() and meta_path(db).exists():
        meta = json.loads(meta_path(db).read_text())
        if meta.get("cases") != cases or meta.get("events_per_case") != per_case:
            meta = None
        elif meta.get("policy_hash") != load_pack().hash:
            # The installed pack changed since the store was built: its cases would (rightly) fail verification.
            print("the installed cn-2019 pack changed since the cached store was built: rebuilding", flush=True)
            meta = None
    if meta is None:
        print(f"building {cases} × {per_case} events at {db} (once; cached) …", flush=True)
        meta = build(db, cases, per_case)
        print(f"built in {meta['build_seconds']} s", flush=True)
    os.environ["JUECE_DATABASE_URL"] = f"sqlite:///{db.resolve()}"
    home = Path(str(db) + ".home")
    ws = Workspace(home, os.environ["JUECE_DATABASE_URL"], json.loads((home / "workspace.json").read_text()))
    return ws, meta


# --- the measurements -------------------------------------------------------------------------------------------


def measure_read(ws: Workspace, _ids: list[str]) -> tuple[int, str]:
    n = 0
    loads = orjson.loads
    with read_transaction(ws.engine) as conn, gc_paused():
        for ev in store.iter_all(conn):
            loads(ev.body)
            n += 1
    return n, ""


def measure_integrity(ws: Workspace, _ids: list[str]) -> tuple[int, str]:
    try:
        from models.integrity import verify_store
    except ImportError:  # older code: no one-pass verifier
        return 0, "n/a"

    with read_transaction(ws.engine) as conn:
        result = verify_store(conn)
    assert not result.breaks, result.breaks[:3]
    return result.size, f"root {result.root.hex()[:16]}…, {result.streams} streams intact"


def measure_integrity_split(ws: Workspace, ids: list[str]) -> tuple[int, str]:
    from models.integrity import verify_stream
    from models.merkle import root_of_events

    n = 0
    with read_transaction(ws.engine) as conn:
        for sid in ids + [WORKSPACE_STREAM]:
            events = store.load_stream(conn, sid)
            assert verify_stream(events) is None
            n += len(events)
        size, root, _ = root_of_events(store.iter_all(conn))
    assert size == n
    return n, f"root {root.hex()[:16]}…"


def measure_replay(ws: Workspace, ids: list[str]) -> tuple[int, str]:
    from models.state import replay

    n = 0
    with read_transaction(ws.engine) as conn:
        for cid in ids:
            events = store.load_stream(conn, cid)
            state = replay(events)
            assert state.seq == len(events)
            n += len(events)
    return n, f"{len(ids)} cases"


def measure_verify(ws: Workspace, ids: list[str], all_ids: list[str], jobs: int = 1) -> tuple[int, str]:
    from flows.usecases.audit import verify_cases

    report = verify_cases(ws, ids if ids != all_ids else (), jobs=jobs)
    n = sum(v.events for v in report.cases) + (report.workspace.events if report.workspace else 0)
    findings = sum(len(v.findings) for v in report.cases)
    assert all(v.intact for v in report.cases), [v for v in report.cases if not v.intact][:2]
    return n, f"exit {report.exit_code}, {findings} findings, {sum(v.refused_attempts for v in report.cases)} refused attempts"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import pydantic
    import sqlalchemy

    return {
        "date -u": subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout.strip(),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "pydantic / sqlalchemy / orjson": f"{pydantic.VERSION} / {sqlalchemy.__version__} / {orjson.__version__}",
    }


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended (audit verify's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def loadavg() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/juece-bench-1e6.db"))
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1000, help="events per case")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--sample", type=int, default=0, help="measure (c) and (d) on the first N cases only")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--jobs", default="1,2", help="(d) once per value: audit verify with that many worker processes")
    parser.add_argument("--json", action="store_true", help="end with one line: the figures as a JSON object (bench/run.py)")
    args = parser.parse_args()

    ws, meta = open_bench(args.db, args.cases, args.events, args.rebuild)
    with read_transaction(ws.engine) as conn:
        all_ids = store.all_stream_ids(conn)
        total = store.count_all(conn)
    ids = all_ids[: args.sample] if args.sample else all_ids
    print(f"store: {args.db} — {total:,} events, {len(all_ids)} cases + the workspace stream "
          f"({meta['events_per_case']} events a case, built in {meta['build_seconds']} s)")
    for k, v in machine().items():
        print(f"  {k}: {v}")

    which = set(args.only.split(","))
    plan: list[tuple[str, str, Callable[[], tuple[int, str]]]] = []
    if "a" in which:
        plan.append(("a", "read + decode (iter_all + orjson)", lambda: measure_read(ws, all_ids)))
    if "b" in which:
        plan.append(("b", "integrity: every chain + Merkle root, one pass (verify_store)", lambda: measure_integrity(ws, all_ids)))
        plan.append(("b'", "integrity split: verify_stream(load_stream) per stream, then root_of_events(iter_all)",
                     lambda: measure_integrity_split(ws, all_ids)))
    if "c" in which:
        plan.append(("c", "replay: replay(load_stream) for every case", lambda: measure_replay(ws, ids)))
    if "d" in which:
        for jobs in [int(j) for j in args.jobs.split(",")]:
            plan.append((f"d{jobs}" if jobs > 1 else "d", f"audit verify --jobs {jobs}: verify_cases(ws, jobs={jobs}) (chains + every rule)",
                         lambda jobs=jobs: measure_verify(ws, ids, all_ids, jobs)))

    rows = []
    for key, label, fn in plan:
        rates, seconds, cpus, loads, note, n = [], [], [], [], "", 0
        for run in range(args.runs):
            gc.collect()
            before = loadavg()
            c0 = cpu_seconds()
            t0 = time.perf_counter()
            n, note = fn()
            dt = time.perf_counter() - t0
            cpu = cpu_seconds() - c0
            rates.append(n / dt if n else 0.0)
            seconds.append(dt)
            cpus.append(cpu)
            loads.append(before.split()[0])
            print(f"  ({key}) run {run + 1}: {n:,} events in {dt:.2f} s = {n / max(dt, 1e-9):,.0f} events/s; "
                  f"{cpu:.2f} CPU s (this process and its workers) (load {before})", flush=True)
        best = max(rates)
        rows.append((key, label, n, min(seconds), min(cpus), statistics.median(rates), best, ", ".join(loads), note))

    print()
    print("| | measured | events | best s | CPU s (with workers) | median events/s | best events/s | load avg (1 min) at each run | |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, label, n, s, cpu, med, best, loads, note in rows:
        target = ""
        if key in ("b", "c") or key.startswith("d"):
            target = " ✓ ≥ 100k" if med >= TARGET else " ✗ < 100k"
        print(f"| ({key}) | {label} | {n:,} | {s:.2f} | {cpu:.2f} | {med:,.0f}{target} | {best:,.0f} | {loads} | {note} |")
    single = next((r for r in rows if r[0] == "d"), None)
    for r in rows:
        if single is not None and r[0].startswith("d") and r[0] != "d":
            print(f"scaling ({r[0]} over (d)): {r[5] / single[5]:.2f}× by median events/s (goal ≥ 1.8× from one core to two)")
    ws.engine.dispose()
    if args.json:  # median events/s by key ("b", "d", "d2", …), the CPU seconds of each, and the events measured
        print(json.dumps({"events": total, **{r[0]: r[5] for r in rows}, "cpu": {r[0]: r[4] for r in rows}}))


if __name__ == "__main__":
    main()

"""`juece web` on SQLite through real HTTP: a workspace of 1,000 cases; GET of a case page (console, session cookie)
and of /api/v1/cases/{id} (Bearer token) with 20 concurrent readers — p50, p99; then recording through the API with
8 concurrent writers — records/s, lost, duplicated, and `audit verify` afterwards. Prints its figures, with the CPU
seconds the server (its process and any workers) and this process (the 20 client threads) spent on each phase, per
request: on a 2-core machine the clients share the cores with the server, so both bound the rate.

    .venv/bin/python bench/bench_web.py [--cases 1000] [--reads 2000] [--writes 400] [--warm]

--warm reads every case once through the API before the timed reads (a long-running server has seen its cases; by
default the first reads of each case are timed too).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
JUECE = str(Path(sys.executable).with_name("juece"))


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / tick  # utime, stime
        todo.extend(children.get(p, []))
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--reads", type=int, default=2000, help="GETs per kind (case page, API case)")
    ap.add_argument("--writes", type=int, default=400, help="records written in all by the 8 writers")
    ap.add_argument("--workers", type=int, default=1, help="juece web --workers (processes)")
    ap.add_argument("--warm", action="store_true", help="read every case once before the timed reads")
    args = ap.parse_args()

    import httpx

    from flows.usecases.accounts import add_account, issue_token
    from flows.usecases.audit import verify_cases
    from flows.usecases.launch import launch_case
    from models.store import load_stream
    from support import ADMIN, CLERK, LEGAL, MANDATORY_PATH, REVIEWER, SECRETARY, Driver, new_workspace

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    os.environ.pop("JUECE_DATABASE_URL", None)
    ws = new_workspace(tmp / "ws")
    password = "Bench-2025-基准测试"
    add_account(ws, ADMIN, ADMIN.name, ["admin"], password)
    for actor in (LEGAL, CLERK, REVIEWER, SECRETARY):  # the test timeline's people, as accounts (AUTH-01)
        add_account(ws, ADMIN, actor.name, [actor.role], password)
    token, _ = issue_token(ws, ADMIN, "李明")
    t0 = time.perf_counter()
    writers = 8
    published = []
    drivers = []
    for w in range(writers):  # cases the writers report on (execution reports need a published decision)
        d = Driver(ws)
        d.launch("technical", "risk-relevant", title=f"基准已公布案件 {w}")  # all launched before the first record
        drivers.append(d)
    for d in drivers:
        d.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
        published.append(d.case_id)
    Driver(ws, published[0]).clock_to(date(2025, 12, 15))
    for i in range(args.cases - writers):
        launch_case(ws, LEGAL, title=f"基准案件 {i}", category="plan", organ="三亚市人民政府", lead_unit="三亚市交通运输局",
                    flags=["technical"])
    setup = time.perf_counter() - t0
    from flows.usecases.show import list_cases

    ids = [c.case_id for c in list_cases(ws)]

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    proc = subprocess.Popen([JUECE, "--home", str(ws.home), "web", "--port", str(port), "--workers", str(args.workers)],
                            env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        cookies = httpx.post(base + "/api/v1/session", json={"name": "李明", "password": password}).cookies
        auth = {"Authorization": f"Bearer {token}"}

        def reads(kind: str, worker: int, n: int) -> list[float]:
            out = []
            with httpx.Client(base_url=base, cookies=cookies if kind == "page" else None,
                              headers=auth if kind == "api" else None, timeout=60) as c:
                for i in range(n):
                    case = ids[(worker * 7919 + i * 104729) % len(ids)]
                    t = time.perf_counter()
                    r = c.get(f"/cases/{case}" if kind == "page" else f"/api/v1/cases/{case}")
                    out.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text[r.text.find("<main>"):][:800]
            return out

        if args.warm:
            with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
                for case in ids:
                    assert c.get(f"/api/v1/cases/{case}").status_code == 200

        results = {}
        cpu = {}
        for kind in ("page", "api"):
            readers = 20
            with ThreadPoolExecutor(readers) as pool:
                server0, client0 = cpu_seconds(proc.pid), time.process_time()
                t = time.perf_counter()
                lat = [x for per in pool.map(lambda w: reads(kind, w, args.reads // readers), range(readers)) for x in per]
                wall = time.perf_counter() - t
                cpu[kind] = ((cpu_seconds(proc.pid) - server0) / len(lat), (time.process_time() - client0) / len(lat))
            results[kind] = (statistics.median(lat) * 1000, percentile(lat, 99) * 1000, len(lat) / wall)

        before = {c: len(load_stream(ws.engine.connect(), c)) for c in published}
        per = args.writes // writers

        def write(w: int) -> Counter:
            got: Counter = Counter()
            with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
                for i in range(per):
                    body = {"event": "execution-reported", "payload": {"reported_on": "2025-12-15", "unit": "市住建局",
                                                                       "status": f"{w}号第{i}次报告"}}
                    got[c.post(f"/api/v1/cases/{published[w]}/records", json=body).status_code] += 1
            return got

        with ThreadPoolExecutor(writers) as pool:
            server0, client0 = cpu_seconds(proc.pid), time.process_time()
            t = time.perf_counter()
            statuses = sum(pool.map(write, range(writers)), Counter())
            wall = time.perf_counter() - t
            cpu["write"] = ((cpu_seconds(proc.pid) - server0) / max(1, sum(statuses.values())),
                            (time.process_time() - client0) / max(1, sum(statuses.values())))
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    written = lost = dup = 0
    with ws.engine.connect() as conn:
        for w, c in enumerate(published):
            events = load_stream(conn, c)
            reports = Counter(e.payload["status"] for e in events[before[c]:] if e.type == "execution-reported")
            written += sum(reports.values())
            expected = {f"{w}号第{i}次报告" for i in range(per)}
            lost += len(expected - set(reports))
            dup += sum(n - 1 for n in reports.values() if n > 1)
    t = time.perf_counter()
    verdict = verify_cases(ws)
    verify_s = time.perf_counter() - t

    print(f"machine: {os.cpu_count()} cores; load average before the run {os.getloadavg()[0]:.2f}; setup {setup:.1f} s")
    print(f"juece web --workers {args.workers}{'; every case read once before the timed reads (--warm)' if args.warm else ''}")
    print(f"workspace: {len(ids)} cases on SQLite ({ws.home}); {len(set(published))} cases written to")
    for kind, label in (("page", "GET /cases/{id} (console page)"), ("api", "GET /api/v1/cases/{id}")):
        p50, p99, rps = results[kind]
        print(f"{label:<34} 20 readers: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({rps:.0f} req/s); CPU a request: "
              f"server {cpu[kind][0] * 1000:.1f} ms, clients {cpu[kind][1] * 1000:.1f} ms")
    print(f"POST records, 8 writers: {written / wall:.0f} records/s ({written} in {wall:.1f} s); statuses {dict(statuses)}; "
          f"lost {lost}, duplicated {dup}; CPU a record: server {cpu['write'][0] * 1000:.1f} ms, "
          f"clients {cpu['write'][1] * 1000:.1f} ms")
    print(f"audit verify afterwards: exit {verdict.exit_code} ({verify_s:.1f} s)")


if __name__ == "__main__":
    main()

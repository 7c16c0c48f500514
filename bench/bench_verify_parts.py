"""Where `audit verify` spends its CPU per event, part by part, without cProfile's distortion: each part of the
per-event work of `flows.usecases.audit._rechecked` run alone over the first N cases of bench_verify.py's store, in
CPU microseconds per event (`time.process_time`, best of the runs, the GC paused). The parts are run in the order
the audit runs them, each on what the one before produced, so their sum is close to (d) of bench_verify_cpu.py; the
difference is the audit loop itself and the comment and document checks.

    .venv/bin/python bench/bench_verify_parts.py [--db /tmp/juece-bench-1e6.db] [--sample 40] [--runs 3] [--rules]

  read          store.load_stream per case (SQLite through the engine, as `audit verify` reads)
  chain         models.integrity.verify_stream (sha256, the envelope parsed, the columns compared)
  decode        models.state.record_of (the payload decoded for the rules)
  fold          models.state.evolve_record, every prefix kept (the states the rules judge on)
  local date    the local date of each `recorded_at` as the audit gives it to the rules
  statuses      every prefix's stage statuses (what the rules read as ctx.statuses), folded once
  context       flows.usecases.moments.rule_context, the statuses already folded
  rules         policies.rules.check_event on those contexts (--rules: each rule function alone as well)
  LIM-01        policies.limits.payload_finding

Run it in two checkouts (`cd OTHER && python /path/to/bench_verify_parts.py`: it measures the code of the current
directory) to compare parts of two versions; the store must exist (build it with bench_verify.py first).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/juece-bench-1e6.db")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rules", action="store_true", help="also time each rule function alone")
    args = ap.parse_args()
    db = Path(args.db).resolve()
    home = Path(str(db) + ".home")
    os.environ["JUECE_DATABASE_URL"] = f"sqlite:///{db}"

    from flows.usecases.clock import local_date
    from flows.usecases.moments import WorkspaceTimeline, key_of, rule_context
    from flows.usecases.unit_of_work import pack_of
    from flows.usecases.workspace import Workspace, read_facts
    from models import store
    from models.canonical import canonical_bytes
    from models.db import read_transaction
    from models.integrity import verify_stream
    from models.state import evolve_record, launch_state, record_of
    from policies.limits import payload_finding
    from policies.rules import check_event

    try:  # the audit's local date (this change); before it, the zone conversion per event
        from flows.usecases.recorded_on import recorded_on
    except ImportError:
        def recorded_on(ev: Any) -> Any:
            return local_date(ev.moment)

    ws = Workspace(home, os.environ["JUECE_DATABASE_URL"], json.loads((home / "workspace.json").read_text()))
    gc.disable()
    n = 0

    def timed(name: str, fn: Callable[[], Any], runs: int = args.runs) -> Any:
        best, out = float("inf"), None
        for _ in range(runs):
            t = time.process_time()
            out = fn()
            best = min(best, time.process_time() - t)
        print(f"  {name:12s} {best * 1e6 / n:6.2f} µs/event")
        return out

    with read_transaction(ws.engine) as conn:
        ids = store.stream_ids(conn, event_type="case-launched")[: args.sample]
        timeline = WorkspaceTimeline(read_facts(conn))
        streams = [store.load_stream(conn, i) for i in ids]
        n = sum(map(len, streams))
        print(f"{ROOT.name}: {n:,} events of {len(ids)} cases, CPU µs per event, best of {args.runs}")
        timed("read", lambda: [store.load_stream(conn, i) for i in ids])
    timed("chain", lambda: [verify_stream(evs) for evs in streams])
    records = timed("decode", lambda: [[record_of(ev) for ev in evs] for evs in streams])

    def fold() -> list[list[Any]]:
        out = []
        for evs, recs in zip(streams, records):
            state = launch_state(evs[0])
            states = [state]
            for rec in recs[1:]:
                state = evolve_record(state, rec)
                states.append(state)
            out.append(states)
        return out

    states = timed("fold", fold, 1)  # once: a second fold would share the first one's logs
    days = timed("local date", lambda: [[recorded_on(ev) for ev in evs] for evs in streams])

    def statuses() -> None:
        for sts in states:
            pack = pack_of(sts[0])
            for s in sts:
                s.statuses(pack)

    timed("statuses", statuses, 1)  # once: folded into each log, then remembered

    def contexts() -> list[Any]:
        out = []
        for evs, recs, sts, ds in zip(streams, records, states, days):
            pack = pack_of(sts[0])
            for i in range(1, len(evs)):
                ev = evs[i]
                if ev.type != "attempt-refused":
                    out.append(rule_context(event=ev.type, payload=recs[i].payload, state=sts[i - 1], pack=pack,
                                            role=ev.role, actor=ev.actor, today=ds[i], key=key_of(ev),
                                            timeline=timeline, load_case=lambda c: ())[0])
        return out

    ctxs = timed("context", contexts)

    def rules() -> None:
        for c in ctxs:
            check_event(c)

    timed("rules", rules)

    def lim01() -> None:
        for evs, sts in zip(streams, states):
            pack = pack_of(sts[0])
            for ev in evs:
                payload_finding(pack, ev.payload, lambda: len(canonical_bytes(ev.payload)), ev.body)

    timed("LIM-01", lim01)
    if args.rules:
        from policies.rules import _CHECKS, _GATES

        by_fn: dict[Any, list[Any]] = {}
        for c in ctxs:
            for rule, fn, events in _GATES:
                if events is None or c.event in events:
                    by_fn.setdefault((rule, fn), []).append(c)
            for rule, fn in _CHECKS.get(c.event, ()):
                by_fn.setdefault((rule, fn), []).append(c)
        for (rule, fn), cs in sorted(by_fn.items(), key=lambda kv: -len(kv[1])):
            if len(cs) < n // 10:
                continue
            best = float("inf")
            for _ in range(args.runs):
                t = time.process_time()
                for c in cs:
                    for _v in fn(c):
                        pass
                best = min(best, time.process_time() - t)
            print(f"    {rule:8s} {fn.__name__:50s} {best * 1e6 / len(cs):5.2f} µs a call ({len(cs):,} calls)")


if __name__ == "__main__":
    main()

"""Instructions, not seconds: the machine-independent figures of issue 13, counted by valgrind's cachegrind (user-space
instructions of the whole process; the same count for the same code, inputs and environment however busy or slow
the machine is, where the wall figures moved by a factor of two between two sessions of one day, on another CPU).

  verify     instructions per event of `audit verify`'s work (`flows.usecases.audit.verify_ids`, every rule re-run),
             beside its floor, the same streams read and their chains checked alone (`models.store.load_stream`,
             `models.integrity.verify_stream`): each
             counted over the first 10 and the first 30 cases of bench_verify.py's store, the difference divided by
             the difference in events, so the interpreter's start and the imports cancel out
  case show  instructions of one whole `case show CASE --json` process (bench_cli.py's workspace), beside
             `python -c pass` and the sqlite3 floor of bench_cli.py
  comments   instructions per comment of `juece comments import` (the command and its second process, which
             works out the clusters), from a first import of 1.5·10^4 and of 4.5·10^4 comments (bench_comments.py's
             generator, seed 7) into fresh workspaces, the difference divided by 3·10^4

PYTHONHASHSEED=0 for every counted process (string hashing would otherwise move the count by a few tenths of a
percent); the checkout's bytecode is written first (bench_cli.compile_sources), as a wheel install would have it.

    .venv/bin/python bench/bench_icount.py [--db /tmp/juece-bench-1e6.db] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

# Counted in a process of its own: verify_ids (or the chain check alone) over the first N case streams of the store.
_VERIFY = """
import sqlite3, sys
from pathlib import Path
db, n, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ids = [r[0] for r in sqlite3.connect(db).execute(
    "SELECT case_id FROM events WHERE case_id != '@workspace' GROUP BY case_id ORDER BY min(position) LIMIT ?", (n,))]
from flows.usecases.workspace import Workspace
from models import store
from models.db import read_transaction
from models.integrity import verify_stream
from models.store import gc_paused
ws = Workspace(Path(db + ".home"), "sqlite:///" + db, {})
with read_transaction(ws.db) as conn, gc_paused():
    if what == "verify":
        from flows.usecases.audit import verify_ids
        verdicts = verify_ids(ws, conn, ids)
        assert all(v.intact for v in verdicts)
        events = sum(v.events for v in verdicts)
    else:
        events = 0
        for case_id in ids:
            stream = store.load_stream(conn, case_id)
            assert verify_stream(stream) is None
            events += len(stream)
print(events, file=sys.stderr)
"""


def instructions(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[int, str]:
    """User-space instructions of one whole process (cachegrind's `I refs`), and what it printed on stderr."""
    with tempfile.TemporaryDirectory(prefix="juece-icount-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={tmp}/out", *cmd],
            capture_output=True, text=True, cwd=cwd, env={**(env or os.environ), "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-600:]}")
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"cachegrind printed no count: {done.stderr.strip()[-300:]}")
    own = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("=="))
    return int(found.group(1).replace(",", "")), own


def per_event(db: Path, what: str) -> float:
    """Instructions per event of `what` ('verify', or 'chain': the read and the chain check), from 10 and 30 cases."""
    counts = []
    for n in (10, 30):
        total, said = instructions([sys.executable, "-c", _VERIFY, str(db), str(n), what])
        counts.append((total, int(said.strip().splitlines()[-1])))
    (i10, e10), (i30, e30) = counts
    return (i30 - i10) / (e30 - e10)


def comments() -> dict[str, float]:
    """Instructions a comment of a first `comments import`, the two processes together and each alone."""
    import bench_comments
    from support import CLERK, Driver, new_workspace

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    counted: dict[int, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="juece-icount-") as tmp:
        for n in (15_000, 45_000):  # both over PARALLEL_MIN_BYTES: the second process clusters both
            rows, _ = bench_comments.generate(n, 7)
            path = bench_comments.write_file(rows, Path(tmp) / f"comments-{n}.jsonl")
            case = Driver(new_workspace(Path(tmp) / f"ws-{n}"))
            case.launch("risk-relevant", "technical")
            case.record("consultation-opened")
            out = Path(tmp) / f"cg-{n}"
            out.mkdir()
            cmd = [sys.executable, "-m", "cli", "--home", str(case.ws.home), "--as", f"{CLERK.role}:{CLERK.name}",
                   "comments", "import", case.case_id, str(path), "--json"]
            done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--trace-children=yes",
                                   f"--cachegrind-out-file={out}/%p", *cmd], capture_output=True, text=True,
                                  cwd=ROOT, env={**env, "PYTHONHASHSEED": "0"})
            if done.returncode != 0:
                raise RuntimeError(f"comments import exited {done.returncode}: {done.stderr.strip()[-600:]}")
            assert json.loads(done.stdout.splitlines()[-1])["new_rows"] == n
            by: dict[str, int] = {}
            for f in out.iterdir():
                text = f.read_text(errors="replace")
                cmd = re.search(r"^cmd: (.*)$", text, re.M)
                role = "child" if cmd and "cluster_process" in cmd.group(1) else "parent"
                total = int(re.search(r"^summary: (\d+)", text, re.M).group(1))  # type: ignore[union-attr]
                by[role] = by.get(role, 0) + total
            counted[n] = by
    lo, hi = counted[15_000], counted[45_000]
    per = {k: (hi.get(k, 0) - lo.get(k, 0)) / 30_000 for k in ("parent", "child")}
    return {"comment": per["parent"] + per["child"], "comment_parent": per["parent"], "comment_child": per["child"]}


def case_show() -> dict[str, float]:
    """Instructions of `python -c pass`, the sqlite3 floor and a whole `case show CASE --json`."""
    from bench_cli import FLOOR
    from support import MANDATORY_PATH, Driver, new_workspace

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    with tempfile.TemporaryDirectory(prefix="juece-icount-") as tmp:
        ws = new_workspace(Path(tmp) / "ws")
        case = Driver(ws)
        case.launch("risk-relevant", "technical")
        case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
        case.clock_to(date(2025, 12, 15))
        home, db = str(ws.home), str(ws.home / "juece.db")
        return {
            "pass": instructions([sys.executable, "-c", "pass"], env)[0],
            "floor": instructions([sys.executable, "-c", FLOOR, db, case.case_id], env)[0],
            "json": instructions([sys.executable, "-m", "cli", "--home", home, "case", "show", case.case_id, "--json"],
                                 env)[0],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/juece-bench-1e6.db"),
                        help="bench_verify.py's store (build it with bench_verify.py first)")
    parser.add_argument("--json", action="store_true", help="print one JSON object of the figures as the last line")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no store; build it with bench/bench_verify.py --db {args.db} --only a --runs 1")
    from bench_cli import compile_sources

    compile_sources(str(ROOT))
    out: dict[str, Any] = {"verify": per_event(args.db, "verify"), "chain": per_event(args.db, "chain"), **case_show(),
                           **comments()}
    print(f"audit verify: {out['verify']:,.0f} instructions an event; "
          f"the read and the chain check alone {out['chain']:,.0f} "
          f"({out['verify'] / out['chain']:.2f}×)")
    print(f"case show --json: {out['json'] / 1e6:,.1f} M instructions; python -c pass {out['pass'] / 1e6:,.1f} M; "
          f"sqlite3 reading the case {out['floor'] / 1e6:,.1f} M ({out['json'] / out['floor']:.2f}×)")
    print(f"comments import: {out['comment']:,.0f} instructions a comment ({out['comment_parent']:,.0f} the command, "
          f"{out['comment_child']:,.0f} its second process)")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()

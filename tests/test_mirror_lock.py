"""One mirror round at a time per case store (flows/orchestration/mirror.py, `one_mirror`): however many `juece
worker`s serve a workspace, a round that finds another's in progress — in this process or another, on SQLite (a
file lock in the workspace) and on PostgreSQL (an advisory lock, seen from any machine) — does nothing and says so;
once the other round ends, the next one goes ahead. No Prefect server is needed: a round that goes ahead meets no
Prefect at the address given and raises, which shows it went ahead."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flows.orchestration.mirror import drain_once, one_mirror, pending_count, run_mirror
from policies.errors import PrefectUnavailable

NOBODY = "http://127.0.0.1:9/api"  # the discard port: no Prefect answers there
ROOT = Path(__file__).resolve().parents[1]


def test_a_round_waits_while_another_holds_the_mirror_then_goes_ahead(backend_case):
    ws = backend_case.ws
    waiting = pending_count(ws)
    assert waiting > 0  # the launch's records wait in the outbox
    with one_mirror(ws) as mine:
        assert mine
        with one_mirror(ws) as again:  # a second worker's round, in this process
            assert not again
        skipped = drain_once(ws, NOBODY)
        assert skipped.busy and skipped.delivered == 0 and skipped.left == waiting
        assert pending_count(ws) == waiting  # nothing marked
    with pytest.raises(PrefectUnavailable):  # released: the round goes ahead (and finds no Prefect there)
        drain_once(ws, NOBODY)
    assert pending_count(ws) == waiting


def test_a_round_held_by_another_process_is_waited_for(backend_case):
    ws = backend_case.ws
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom flows.usecases.workspace import open_workspace\n"
         "from flows.orchestration.mirror import one_mirror\n"
         "with one_mirror(open_workspace(sys.argv[1])) as mine:\n    print(mine, flush=True)\n    sys.stdin.read()\n",
         str(ws.home)],
        cwd=ROOT, env={**os.environ}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        assert drain_once(ws, NOBODY).busy
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0
    with pytest.raises(PrefectUnavailable):
        drain_once(ws, NOBODY)


def test_a_waiting_mirror_says_so_once_and_marks_nothing(backend_case):
    ws = backend_case.ws
    waiting = pending_count(ws)
    said: list[str] = []
    stop = threading.Event()
    with one_mirror(ws) as mine:
        assert mine
        mirror = threading.Thread(target=run_mirror, args=(ws, stop),
                                  kwargs={"api_url": lambda: NOBODY, "poll_seconds": 0.05, "say": said.append})
        mirror.start()
        time.sleep(0.6)  # about a dozen polls
        stop.set()
        mirror.join(timeout=30)
    assert not mirror.is_alive()
    assert said == ["mirror: another worker is mirroring this case store; this one waits its turn"]
    assert pending_count(ws) == waiting

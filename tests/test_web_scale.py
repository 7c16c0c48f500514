"""The scaled web tier: two `juece web` processes on one PostgreSQL database share sessions and state, and eight
concurrent writers spread over both lose no record and duplicate none (real processes, real HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest

from flows.usecases.audit import verify_cases
from models.store import load_stream
from support import MANDATORY_PATH, Driver, new_workspace
from web_support import PASSWORD, PEOPLE

JUECE = str(Path(sys.executable).with_name("juece"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(home: Path, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env["JUECE_DATABASE_URL"] = url
    proc = subprocess.Popen([JUECE, "--home", str(home), "web", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("juece web did not start: " + proc.stdout.read().decode()[-2000:])  # type: ignore[union-attr]


@pytest.fixture
def pg_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from backends import postgres_schema

    with postgres_schema() as url:
        monkeypatch.setenv("JUECE_DATABASE_URL", url)
        ws = new_workspace(tmp_path / "ws")
        yield ws, url
        ws.engine.dispose()


def test_two_web_processes_on_postgresql_share_sessions_and_lose_or_duplicate_no_record(pg_ws) -> None:
    from web_support import web_for

    ws, url = pg_ws
    web_for(ws)  # the accounts (and their tokens, unused here)
    case = Driver(ws)
    case.launch("technical", "risk-relevant")
    case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    case.clock_to(date(2025, 12, 15))
    before = len(load_stream(ws.engine.connect(), case.case_id))
    servers = [start_web(ws.home, url) for _ in range(2)]
    try:
        (a, base_a), (b, base_b) = servers
        signed = httpx.post(base_a + "/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD})
        assert signed.status_code == 200
        cookies = signed.cookies
        assert httpx.get(base_b + f"/api/v1/cases/{case.case_id}", cookies=cookies).status_code == 200  # B knows A's session

        workers, records = 8, 15

        def write(w: int) -> list[int]:
            statuses = []
            with httpx.Client(base_url=(base_a, base_b)[w % 2], cookies=cookies, timeout=60) as client:
                for i in range(records):
                    body = {"event": "execution-reported",
                            "payload": {"reported_on": "2025-12-15", "unit": "市住建局", "status": f"进度报告 {w}-{i}"}}
                    statuses.append(client.post(f"/api/v1/cases/{case.case_id}/records", json=body).status_code)
            return statuses

        with ThreadPoolExecutor(workers) as pool:
            outcomes = [s for per in pool.map(write, range(workers)) for s in per]
        assert Counter(outcomes) == Counter({201: workers * records}), Counter(outcomes)
        httpx.delete(base_b + "/api/v1/session", cookies=cookies)
        assert httpx.get(base_a + "/api/v1/cases", cookies=cookies).status_code == 401  # signed out everywhere
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=20)
    with ws.engine.connect() as conn:
        events = load_stream(conn, case.case_id)
    reports = [e.payload["status"] for e in events if e.type == "execution-reported"]
    assert len(reports) == workers * records  # nothing duplicated …
    assert set(reports) == {f"进度报告 {w}-{i}" for w in range(workers) for i in range(records)}  # … nothing lost
    assert len(events) == before + workers * records
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.actor for e in events if e.type == "execution-reported"} == {f"clerk:{PEOPLE['clerk']}"}
    assert verify_cases(ws).exit_code == 0

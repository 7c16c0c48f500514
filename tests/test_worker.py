"""`juece worker` end to end: a real Prefect server (SQLite, then PostgreSQL), the deployments in the `juece` work
pool, a worker in a separate process, a case walked to the legality review, a run triggered through the deployment —
and it ends in the same state as the flow run in-process. Then the worker and the server shut down, leaving nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import PG_URL, postgres_schema, require_postgres
from flows.orchestration.prefect_server import ServerStartError, ensure_server, server_status, stop_server
from flows.orchestration.mirror import pending_count
from flows.usecases.show import show_case
from support import Driver, MANDATORY_PATH, group_running, new_workspace, process_running

ROOT = Path(__file__).resolve().parents[1]


process_exists = process_running


group_exists = group_running


class Worker:
    """`run_worker` in a process (and session) of its own, its output in a log file."""

    def __init__(self, home: Path, api_url: str, log: Path, env: dict[str, str]) -> None:
        self.log = log
        code = f"from flows.orchestration.worker import run_worker; run_worker({str(home)!r}, api_url=None, limit=4)"
        env = {**env, "PREFECT_API_URL": api_url}
        self.started = time.monotonic()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while "started!" not in self.output():
            assert self.process.poll() is None, f"the worker exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"the worker did not start within {timeout:g} s:\n{self.output()}"
            time.sleep(0.1)
        return time.monotonic() - self.started

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns its exit code."""
        os.kill(self.pid, signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None or group_exists(self.pid):
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)


def read_flow_run(api_url: str, run_id: str) -> dict:
    """The flow run as the API reports it (over HTTP: this process never runs a flow, so it queues no events)."""
    import httpx

    response = httpx.get(f"{api_url}/flow_runs/{run_id}", timeout=10.0, trust_env=False)
    response.raise_for_status()
    return response.json()


def latest_case_run(api_url: str, case_id: str) -> dict:
    """The newest decision-case flow run of a case."""
    import httpx

    body = {"flow_runs": {"name": {"any_": [case_id]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 1}
    response = httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10.0, trust_env=False)
    response.raise_for_status()
    return response.json()[0]


def wait_until(check, timeout: float, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert worker.process.poll() is None, f"the worker exited:\n{worker.output()}"
        assert time.monotonic() < deadline, f"not within {timeout:g} s:\n{worker.output()}"
        time.sleep(0.2)


def read_deployments(api_url: str) -> list[dict]:
    import httpx

    response = httpx.post(f"{api_url}/deployments/filter", json={}, timeout=10.0, trust_env=False)
    response.raise_for_status()
    return response.json()


def run_in_process(api_url: str, home: str, case_id: str, env: dict[str, str]) -> str:
    """The same flow run in-process, as `juece flow run` does it (`run_case_flow`, scaled mode: PREFECT_API_URL set),
    in a process of its own that exits while the server is up, so Prefect delivers its events and logs."""
    code = (
        "import json, sys; from flows.orchestration.case_flow import run_case_flow; from flows.usecases.workspace import open_workspace; "
        "print(json.dumps(run_case_flow(open_workspace(sys.argv[1]), sys.argv[2]).to_json()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, home, case_id], cwd=ROOT, env={**env, "PREFECT_API_URL": api_url},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])["state_name"]


def exercise(
    tmp_path: Path, server_api: str, worker_env: dict[str, str], *, also_blank_home: bool
) -> dict[str, float]:
    """Deploy, serve, trigger, compare, shut the worker down; returns timings."""
    from flows.orchestration.worker import deploy_flows, trigger_case_flow

    timings: dict[str, float] = {}
    ws = new_workspace(tmp_path / "ws")
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.walk(MANDATORY_PATH[:5])  # up to legality-review-submitted

    names = ["decision-case/juece", "audit-all-cases/juece", "deadline-sweep/juece"]
    assert deploy_flows(server_api, sweep_cron="0 8 * * 1-5") == names
    assert deploy_flows(server_api) == names  # idempotent: updates, never duplicates, keeps the sweep's schedule
    deployments = {d["entrypoint"]: d for d in read_deployments(server_api)}
    modules = sorted(f"flows.orchestration.prefect_flows.{flow}" for flow in ("decision_case", "audit_all_cases", "deadline_sweep"))
    assert sorted(deployments) == modules  # module paths: a worker machine needs juece installed, no checkout
    sweep = deployments["flows.orchestration.prefect_flows.deadline_sweep"]
    schedules = [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in sweep["schedules"]]
    assert schedules == [("0 8 * * 1-5", "Asia/Shanghai")]
    assert {d["work_pool_name"] for d in deployments.values()} == {"juece"}

    worker = Worker(ws.home, server_api, tmp_path / "worker.log", worker_env)
    try:
        timings["worker start"] = worker.wait_started()
        started = time.monotonic()
        run_id, state_name = trigger_case_flow(server_api, str(ws.home), case.case_id, timeout=60)
        timings["flow run through the worker"] = time.monotonic() - started
        assert state_name == "AwaitingLegalityOpinion", worker.output()
        ran = read_flow_run(server_api, run_id)
        assert (ran["work_pool_name"], ran["state"]["type"], ran["state"]["name"]) == ("juece", "COMPLETED", state_name)
        assert ran["deployment_id"] and ran["infrastructure_pid"], "no worker recorded the process that ran it"

        if also_blank_home:  # home="" → the worker's own workspace (its JUECE_HOME)
            assert trigger_case_flow(server_api, "", case.case_id, timeout=60)[1] == "AwaitingLegalityOpinion"

        started = time.monotonic()
        assert run_in_process(server_api, str(ws.home), case.case_id, worker_env) == state_name
        timings["flow run in-process"] = time.monotonic() - started

        # The worker's mirror: the records made before it started reach Prefect by themselves, and so does a new one.
        wait_until(lambda: pending_count(ws) == 0, 120, worker)
        case.walk(MANDATORY_PATH[5:6])
        started = time.monotonic()
        wait_until(lambda: pending_count(ws) == 0, 120, worker)
        timings["a record mirrored by the worker"] = time.monotonic() - started
        latest = latest_case_run(server_api, case.case_id)
        assert latest["state"]["name"] == show_case(ws, case.case_id).awaiting != state_name
        assert "mirror: " in worker.output()

        started = time.monotonic()
        assert worker.stop() == 0, worker.output()
        timings["worker stop"] = time.monotonic() - started
        assert "stopped" in worker.output()
        assert not process_exists(worker.pid)
        assert not group_exists(worker.pid), "a flow-run process outlived the worker"
    finally:
        worker.kill()
        ws.engine.dispose()
    return timings


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line or environment mentions `text` (a test's tmp path): orphans, if any."""
    needle = text.encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "cmdline").read_bytes() or needle in (proc / "environ").read_bytes():
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def shut_down_server(prefect_home: Path, server_pid: int) -> None:
    stopped = stop_server(prefect_home)
    assert not stopped.running
    assert not process_exists(server_pid)
    assert not group_exists(server_pid)
    assert not (prefect_home / "server.json").exists()


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a worker machine has: no inherited Prefect API or case-store URL unless a test sets one."""
    for name in ("PREFECT_API_URL", "JUECE_DATABASE_URL", "JUECE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


@pytest.mark.prefect
@pytest.mark.prefect_server
def test_a_worker_in_another_process_runs_the_case_flow_on_a_sqlite_prefect_server(
    tmp_path: Path, worker_env
):
    prefect_home = tmp_path / "prefect-server"
    started = time.monotonic()
    server = ensure_server(prefect_home)
    server_start = time.monotonic() - started
    try:
        assert server.database_url is None  # SQLite in its home
        timings = exercise(tmp_path, server.api_url, worker_env, also_blank_home=True)
    finally:
        shut_down_server(prefect_home, server.pid)
    assert processes_mentioning(str(tmp_path)) == []
    print({"server start (SQLite)": round(server_start, 2), **{k: round(v, 2) for k, v in timings.items()}})


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Prefect's server (asyncpg URL), dropped afterwards."""
    require_postgres()
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"juece_prefect_{uuid.uuid4().hex[:10]}"
    admin = make_url(PG_URL).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def installed_extensions(asyncpg_url: str) -> set[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(asyncpg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        return {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}


@pytest.mark.prefect
@pytest.mark.prefect_server
def test_the_scaled_setup_prefect_server_and_case_store_on_postgresql(
    tmp_path: Path, worker_env, prefect_database: str, monkeypatch: pytest.MonkeyPatch
):
    prefect_home = tmp_path / "prefect-server"
    started = time.monotonic()
    server = ensure_server(prefect_home, database_url=prefect_database)
    server_start = time.monotonic() - started
    try:
        assert server.database_url == prefect_database
        assert server_status(prefect_home) == server
        assert not (prefect_home / "prefect.db").exists()
        assert "pg_trgm" in installed_extensions(prefect_database)  # Prefect's migrations created it
        assert ensure_server(prefect_home, database_url=prefect_database) == server
        assert ensure_server(prefect_home) == server  # a plain `juece flow run` reuses it
        with pytest.raises(ServerStartError, match="stop it first"):
            ensure_server(prefect_home, database_url=prefect_database + "_other")

        with postgres_schema() as case_store:  # the case store on PostgreSQL too, for the test and the worker
            monkeypatch.setenv("JUECE_DATABASE_URL", case_store)
            worker_env = {**worker_env, "JUECE_DATABASE_URL": case_store}
            timings = exercise(tmp_path, server.api_url, worker_env, also_blank_home=False)
    finally:
        shut_down_server(prefect_home, server.pid)
    assert processes_mentioning(str(tmp_path)) == []
    print({"server start (PostgreSQL)": round(server_start, 2), **{k: round(v, 2) for k, v in timings.items()}})


def test_server_database_urls_are_checked_and_recorded_without_their_password():
    from flows.orchestration.prefect_server import _checked_database_url, mask_database_url

    assert mask_database_url("postgresql+asyncpg://prefect:s3cret@db:5432/prefect") == (
        "postgresql+asyncpg://prefect:***@db:5432/prefect"
    )
    assert mask_database_url("postgresql+asyncpg://prefect@db/prefect") == "postgresql+asyncpg://prefect@db/prefect"
    assert _checked_database_url("postgresql://prefect@db/prefect") == "postgresql+asyncpg://prefect@db/prefect"
    with pytest.raises(ServerStartError, match="async database driver"):
        _checked_database_url("postgresql+psycopg://prefect@db/prefect")


def test_importing_the_worker_module_does_not_import_prefect():
    check = "import sys, flows.orchestration.worker; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"

    imported = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)

    assert imported.stdout.strip() == "[]"

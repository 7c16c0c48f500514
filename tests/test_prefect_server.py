"""The workspace's local Prefect server: started once, reused, reported and stopped (a real server, no mocks)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from support import process_running
from flows.orchestration.prefect_server import ServerStatus, ensure_server, prefect_env, server_status, stop_server

pytestmark = [pytest.mark.prefect, pytest.mark.prefect_server]

ROOT = Path(__file__).resolve().parents[1]


def answers_health(api_url: str) -> bool:
    try:
        response = httpx.get(f"{api_url}/health", timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json() is True


process_exists = process_running


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory):
    prefect_home = tmp_path_factory.mktemp("prefect-home")
    try:
        yield ensure_server(prefect_home)
    finally:
        stop_server(prefect_home)


def test_ensure_server_starts_a_healthy_server_recorded_in_the_workspace(running: ServerStatus):
    assert running.running
    assert running.url == running.api_url.removesuffix("/api")
    assert running.url.startswith("http://127.0.0.1:")
    assert answers_health(running.api_url)
    record = json.loads((running.prefect_home / "server.json").read_text())
    assert (record["pid"], record["port"]) == (running.pid, int(running.url.rsplit(":", 1)[1]))
    assert running.log_path == running.prefect_home / "server.log"
    assert running.log_path.is_file()
    assert (running.prefect_home / "prefect.db").is_file()


def test_the_server_runs_in_its_own_session_so_it_outlives_the_command(running: ServerStatus):
    assert os.getsid(running.pid) == running.pid
    assert os.getpgid(running.pid) == running.pid


def test_a_second_ensure_server_reuses_the_running_server(running: ServerStatus):
    again = ensure_server(running.prefect_home)

    assert again == running


def test_server_status_reports_the_running_server(running: ServerStatus):
    assert server_status(running.prefect_home) == running


def test_two_commands_starting_at_once_share_one_server_which_stop_server_ends(tmp_path: Path):
    prefect_home = tmp_path / "prefect-home"
    results: list[ServerStatus] = []
    starters = [threading.Thread(target=lambda: results.append(ensure_server(prefect_home))) for _ in range(2)]
    try:
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        assert len(results) == 2
        assert results[0] == results[1]
        started = results[0]
        assert answers_health(started.api_url)

        stopped = stop_server(prefect_home)

        assert not stopped.running
        assert stopped.pid is None
        assert not process_exists(started.pid)
        assert not answers_health(started.api_url)
        assert not (prefect_home / "server.json").exists()
        assert server_status(prefect_home) == stopped
    finally:
        stop_server(prefect_home)


def test_stop_server_is_a_no_op_when_nothing_runs(tmp_path: Path):
    status = stop_server(tmp_path)

    assert status == ServerStatus(
        running=False,
        url=None,
        api_url=None,
        pid=None,
        log_path=tmp_path / "server.log",
        prefect_home=tmp_path,
    )


def test_a_record_whose_process_is_gone_is_not_reported_as_running(tmp_path: Path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "server.json").write_text(json.dumps({"pid": int(finished.stdout), "port": 9}))

    assert not server_status(tmp_path).running
    assert server_status(tmp_path).pid is None


def test_prefect_env_sets_the_home_and_quiets_prefect_without_an_api_url(tmp_path: Path):
    env = prefect_env(tmp_path)

    assert env["PREFECT_HOME"] == str(tmp_path)
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "WARNING"
    assert "PREFECT_API_URL" not in env
    assert "PREFECT_API_URL" not in prefect_env(tmp_path, api_url="")
    assert prefect_env(tmp_path, api_url="http://127.0.0.1:4312/api")["PREFECT_API_URL"] == "http://127.0.0.1:4312/api"


def test_managing_the_server_never_imports_prefect():
    check = "import sys, flows.orchestration.prefect_server; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"

    imported = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)

    assert imported.stdout.strip() == "[]"

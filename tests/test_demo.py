"""`juece demo` walks the whole sample case on a fresh workspace, then mirrors it into Prefect and stops the server
unless asked to keep it (the flow itself is covered by the flow and mirror tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

JUECE = str(Path(sys.executable).with_name("juece"))


def test_the_demo_walks_the_case_refuses_a_skip_acknowledges_a_warning_and_verifies(tmp_path):
    done = subprocess.run([JUECE, "demo", "--no-flow"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "refused legality-review-submitted" in out and "PP-01" in out
    assert "recorded #14 meeting-held" in out and "acknowledged LEG-04" in out
    assert "412 received" in out and "12 late" in out
    assert "a defaced copy is caught (exit 4)" in out
    assert "exit 0" in out and "verifies with nothing but the bag" in out
    home = tmp_path / ".juece-demo" / "run-1"
    show = subprocess.run([JUECE, "--home", str(home), "case", "show", "JC-2025-0001", "--json"], capture_output=True, text=True)
    assert show.returncode == 0 and '"status": "published"' in show.stdout
    # The printed commands can be run by hand: the payload files are there.
    assert (home / "payloads" / "01-consultation-opened.json").is_file()
    second = subprocess.run([JUECE, "demo", "--no-flow"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "run-2" in second.stdout  # a fresh workspace every time


@pytest.mark.prefect_server
def test_the_demo_mirrors_the_case_and_stops_its_prefect_server_unless_asked_to_keep_it(tmp_path, monkeypatch):
    from flows.orchestration.prefect_server import server_status, stop_server
    from flows.usecases.workspace import open_workspace
    from flows.orchestration.mirror import pending_count

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    first, second = tmp_path / "demo" / "run-1", tmp_path / "demo" / "run-2"
    try:
        kept = subprocess.run([JUECE, "demo", "--workspace", str(first), "--keep-server"],
                              capture_output=True, text=True, timeout=600)
        assert kept.returncode == 0, kept.stderr[-2000:]
        running = server_status(open_workspace(first).prefect_home)
        assert running.running
        assert f"the Prefect server keeps running at {running.url}" in kept.stdout
        assert pending_count(open_workspace(first)) == 0  # every record mirrored

        stopped = subprocess.run([JUECE, "demo", "--workspace", str(second)],
                                 capture_output=True, text=True, timeout=600)
        assert stopped.returncode == 0, stopped.stderr[-2000:]
        assert "the Prefect server was stopped" in stopped.stdout
        assert "Error logging to API" not in stopped.stdout + stopped.stderr
        assert not server_status(open_workspace(second).prefect_home).running
        assert server_status(open_workspace(first).prefect_home).running  # another workspace's server: left alone
        assert pending_count(open_workspace(second)) == 0
    finally:
        for home in (first, second):
            if (home / "workspace.json").exists():
                stop_server(open_workspace(home).prefect_home)

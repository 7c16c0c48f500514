"""`juece demo` walks the whole sample case on a fresh workspace (the Prefect part is covered by the flow tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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

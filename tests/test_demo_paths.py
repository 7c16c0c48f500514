"""The demo's narration shows the workspace path as typed: a folder named with Rich markup (`[red]x[/red]`, `[/]`) is
printed literally in every line that names it, never obeyed (a colour, a hidden word) nor a markup error. Through
the real `juece` executable, `--no-flow` (no Prefect server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

JUECE = str(Path(sys.executable).with_name("juece"))


def test_the_demo_prints_a_home_path_with_markup_as_typed(tmp_path: Path) -> None:
    home = tmp_path / "[red]x[/red]" / "[bold]demo[/]"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}, "COLUMNS": "4000",
           "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    r = subprocess.run([JUECE, "--home", str(home), "demo", "--no-flow", "--json"], capture_output=True, text=True,
                       timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["home"] == str(home)
    # with the colours juece's own markup asked for taken out, the path is there as typed (markup Rich obeyed would
    # be gone from the text: `/x/demo`)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stderr)
    assert f"a fresh workspace at {home}," in plain, plain[:2000]
    assert f"juece --home {home} --as legal-office:张伟 catalog publish {home / 'payloads' / 'catalog-2025.json'}" in plain
    assert f"--file {home / 'payloads'}" in plain and f"juece archive verify {home / 'archive'}" in plain

"""No command leaves a file behind when it fails (PRODUCT.md, "Exit codes"; issue 12): `attach` to a missing case or by
a role that may not attach writes no blob, and a blob another record shares is never removed. Through the real
`juece` executable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import Driver

JUECE = str(Path(sys.executable).with_name("juece"))


def juece(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    return subprocess.run([JUECE, "--home", str(home), *argv], capture_output=True, text=True, timeout=300, env=env)


def blobs(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "blobs").rglob("*") if p.is_file()) if (home / "blobs").exists() else []


def test_attach_refused_writes_no_blob(ws, tmp_path: Path) -> None:
    d = Driver(ws)
    d.launch()
    doc = tmp_path / "报告.txt"
    doc.write_text("风险评估报告\n", encoding="utf-8")

    r = juece(ws.home, "--as", "clerk:李明", "attach", "JC-2025-0099", str(doc))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert blobs(ws.home) == []

    r = juece(ws.home, "--as", "auditor:赵审计", "attach", d.case_id, str(doc))
    assert r.returncode == 3 and "ROLE-01" in r.stderr, r.stderr
    assert blobs(ws.home) == []

    r = juece(ws.home, "--as", "clerk:李明", "attach", d.case_id, str(doc))
    assert r.returncode == 0, r.stderr
    assert len(blobs(ws.home)) == 1


def test_a_refused_attach_keeps_a_blob_it_did_not_create(ws, tmp_path: Path) -> None:
    """Blobs are shared by content: the same file attached to a second case, refused, leaves the first case's blob."""
    first = Driver(ws)
    first.launch()
    doc = tmp_path / "方案.txt"
    doc.write_text("实施方案\n", encoding="utf-8")
    assert juece(ws.home, "--as", "clerk:李明", "attach", first.case_id, str(doc)).returncode == 0
    kept = blobs(ws.home)
    assert len(kept) == 1
    r = juece(ws.home, "--as", "auditor:赵审计", "attach", first.case_id, str(doc), "--title", "again")
    assert r.returncode == 3, r.stderr
    assert blobs(ws.home) == kept

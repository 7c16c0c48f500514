"""Imports point downwards (ARCHITECTURE.md, "Layers"): cli → flows → models → policies, and Prefect only where
flows are run. Read from the source with `ast`, so a function-level import counts as much as a top-level one."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from support import MANDATORY_PATH, Driver

ROOT = Path(__file__).resolve().parents[1]
# The Prefect adapters: the flows themselves, running them, serving them (worker), and the demo that runs one.
PREFECT_MODULES = {"flows/orchestration/prefect_flows.py", "flows/orchestration/case_flow.py", "flows/demo/driver.py", "flows/orchestration/worker.py",
                   "flows/orchestration/mirror.py"}


def modules_imported(path: Path, package: tuple[str, ...] | None = None) -> set[str]:
    """Every absolute module name a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = path.relative_to(ROOT).parent.parts
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
                names.add(module)
                if not node.module:
                    names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def top(name: str) -> str:
    return name.split(".")[0]


def sources(layer: str) -> list[Path]:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"no Python files under {layer}/"
    return files


def offenders(layer: str, forbidden: set[str], *, except_files: set[str] = frozenset()) -> dict[str, list[str]]:  # type: ignore[assignment]
    out = {}
    for path in sources(layer):
        rel = path.relative_to(ROOT).as_posix()
        if rel in except_files:
            continue
        bad = sorted(n for n in modules_imported(path) if top(n) in forbidden)
        if bad:
            out[rel] = bad
    return out


def test_the_import_reader_sees_imports_at_every_level_including_relative_ones(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from __future__ import annotations\n"
        "from .. import flows\n"
        "from ..models import store\n"
        "def f():\n"
        "    import prefect.flows\n"
        "    if True:\n"
        "        from httpx import Client\n",
        encoding="utf-8",
    )
    names = modules_imported(sample, package=("policies", "rules"))
    assert {top(n) for n in names} >= {"prefect", "httpx", "policies"}
    assert "policies.flows" in names and "policies.models" in names
    assert "policies.findings" in modules_imported(ROOT / "policies" / "rules" / "__init__.py")


def test_policies_import_nothing_from_models_flows_or_the_command_line():
    assert offenders("policies", {"models", "flows", "cli"}) == {}


def test_models_import_nothing_from_flows_or_the_command_line():
    assert offenders("models", {"flows", "cli"}) == {}


def test_flows_do_not_import_the_command_line():
    assert offenders("flows", {"cli"}) == {}


@pytest.mark.parametrize("layer", ["policies", "models"])
def test_policies_and_models_never_import_prefect_or_httpx(layer: str):
    assert offenders(layer, {"prefect", "httpx"}) == {}


def test_only_the_prefect_flow_modules_import_prefect():
    assert offenders("flows", {"prefect"}, except_files=PREFECT_MODULES) == {}


def test_reading_and_recording_through_the_command_line_never_import_prefect(case: Driver, tmp_path: Path):
    case.walk(MANDATORY_PATH[:3])
    case.clock_to(date(2025, 10, 20))
    body = tmp_path / "risk.json"
    body.write_text(json.dumps({
        "assessed_on": "2025-10-20", "level": "low", "controllable": True, "departments_consulted": ["市公安局"],
        "risk_points": ["补偿争议"], "measures": ["一户一策"], "contingency_plan": "应急处置小组",
    }, ensure_ascii=False), encoding="utf-8")
    snippet = textwrap.dedent(
        f"""
        import json, sys
        import cli

        def run(*argv):
            sys.argv = ["juece", "--home", {str(case.ws.home)!r}, *argv]
            try:
                cli.main()
            except SystemExit as exc:
                return exc.code or 0
            return 0

        codes = {{
            "case show": run("case", "show", {case.case_id!r}),
            "case show --json": run("case", "show", {case.case_id!r}, "--json"),
            "record": run("--as", "clerk:李明", "record", {case.case_id!r}, "risk-assessed", "--file", {str(body)!r}),
            "audit replay": run("audit", "replay", {case.case_id!r}),
        }}
        loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
        print(json.dumps({{"codes": codes, "prefect": loaded}}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["codes"] == {"case show": 0, "case show --json": 0, "record": 0, "audit replay": 0}, proc.stderr
    assert result["prefect"] == []
    assert case.status("risk_assessment") == "concluded"

"""The layers of ARCHITECTURE.md ("Layers"), enforced per folder by reading every import with `ast` (a function-level
import counts as much as a top-level one):

- policies/ imports nothing of ours outside policies/ (its value types are its own);
- models/ never imports Prefect, httpx, flows/, web/ or the command line;
- flows/usecases/ never imports Prefect or httpx, nor the orchestration, the demo or a front door;
- flows/adapters/ and flows/render/ never import Prefect, the orchestration or a front door; adapters no use case;
- only flows/orchestration/ imports Prefect, and only flows/adapters/ imports httpx — anywhere in the product;
- web/ and cli.py import use cases, never the database (no SQL library, no store, no engine, no table).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from test_imports import ROOT, modules_imported, top

OURS = {"policies", "models", "flows", "web", "cli"}
SQL = {"sqlalchemy", "sqlite3", "sqlmodel", "psycopg", "psycopg2", "asyncpg", "alembic"}
# What a front door may take from models/: value types only (events and their schemas, checkpoints, text rules).
DOOR_MODELS = {"models.events", "models.checkpoint", "models.canonical", "models.text", "models.account_events"}


@dataclass(frozen=True)
class Rule:
    """Files under `where` (a folder, or one file) must not import any of `forbidden` (a top-level package or a
    dotted module prefix), unless the file is under one of `unless`."""

    name: str
    where: tuple[str, ...]
    forbidden: frozenset[str]
    unless: tuple[str, ...] = ()


PRODUCT = ("policies", "models", "flows", "web", "cli.py")
RULES = (
    Rule("policies import nothing of ours but their own value types", ("policies",), frozenset(OURS - {"policies"})),
    Rule("models never import Prefect, httpx, flows, web or the command line", ("models",),
         frozenset({"prefect", "httpx", "flows", "web", "cli"})),
    Rule("use cases never import Prefect, httpx, the orchestration, the demo or a front door", ("flows/usecases",),
         frozenset({"prefect", "httpx", "flows.orchestration", "flows.demo", "web", "cli"})),
    Rule("adapters import no use case, orchestration, Prefect or front door", ("flows/adapters",),
         frozenset({"prefect", "flows.usecases", "flows.orchestration", "flows.demo", "flows.render", "web", "cli"})),
    Rule("rendering imports no Prefect, httpx, orchestration or front door", ("flows/render",),
         frozenset({"prefect", "httpx", "flows.orchestration", "flows.demo", "web", "cli"})),
    Rule("flows never import a front door", ("flows",), frozenset({"web", "cli"})),
    Rule("only flows/orchestration imports Prefect", PRODUCT, frozenset({"prefect"}), unless=("flows/orchestration",)),
    Rule("only flows/adapters imports httpx", PRODUCT, frozenset({"httpx"}), unless=("flows/adapters",)),
    Rule("the front doors never touch the database", ("web", "cli.py"),
         frozenset(SQL | {"models." + m for m in ("db", "store", "credentials", "migrations", "comments", "tables",
                                                   "state", "integrity", "merkle", "accounts")})),
)


def _files(root: Path, where: str) -> list[Path]:
    path = root / where
    if not path.exists():
        return []
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def imported(path: Path, package: tuple[str, ...]) -> set[str]:
    """`modules_imported`, plus each name a `from X import a` takes, as X.a: `from models import store` reads the
    store as surely as `import models.store` does."""
    names = modules_imported(path, package)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = ".".join(list(package[: len(package) - node.level + 1]) + [node.module]) if node.level else node.module
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _hits(names: set[str], forbidden: frozenset[str]) -> list[str]:
    hits = {n for n in names if top(n) in forbidden or any(n == f or n.startswith(f + ".") for f in forbidden)}
    return sorted(n for n in hits if not any(n.startswith(h + ".") for h in hits))  # `prefect`, not also `prefect.flow`


def violations(root: Path = ROOT, rules: tuple[Rule, ...] = RULES) -> dict[str, dict[str, list[str]]]:
    """{rule name: {file: [forbidden imports]}} for every rule broken under `root`."""
    out: dict[str, dict[str, list[str]]] = {}
    for rule in rules:
        for where in rule.where:
            for path in _files(root, where):
                rel = path.relative_to(root).as_posix()
                if any(rel == u or rel.startswith(u + "/") for u in rule.unless):
                    continue
                bad = _hits(imported(path, path.relative_to(root).parent.parts), rule.forbidden)
                if bad:
                    out.setdefault(rule.name, {})[rel] = bad
    return out


def test_every_layer_imports_only_what_it_may() -> None:
    assert {w for r in RULES for w in r.where if not _files(ROOT, w)} == set()  # no rule reads an empty folder
    assert violations() == {}


def test_the_five_flows_packages_exist_and_every_module_lives_in_one() -> None:
    subs = {p.name for p in (ROOT / "flows").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subs == {"usecases", "orchestration", "adapters", "render", "demo"}
    assert [p.name for p in (ROOT / "flows").glob("*.py")] == ["__init__.py"]


def test_a_use_case_that_imports_httpx_or_prefect_is_caught(tmp_path: Path) -> None:
    tree = tmp_path / "flows" / "usecases"
    tree.mkdir(parents=True)
    (tree / "__init__.py").write_text("")
    (tree / "launch.py").write_text("import httpx\n\ndef f():\n    from prefect import flow\n")
    (tmp_path / "flows" / "adapters").mkdir()
    (tmp_path / "flows" / "adapters" / "http.py").write_text("import httpx\n")
    found = violations(tmp_path, RULES[2:3] + RULES[6:8])
    assert found == {
        "use cases never import Prefect, httpx, the orchestration, the demo or a front door":
            {"flows/usecases/launch.py": ["httpx", "prefect"]},
        "only flows/orchestration imports Prefect": {"flows/usecases/launch.py": ["prefect"]},
        "only flows/adapters imports httpx": {"flows/usecases/launch.py": ["httpx"]},
    }


def test_a_front_door_that_reads_the_store_or_a_policy_that_reads_models_is_caught(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "api.py").write_text("from models.store import load_stream\nfrom models.events import EVENT_TYPES\n")
    (tmp_path / "cli.py").write_text("from models import db\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "rules.py").write_text("from flows.usecases import show\nfrom policies import errors\n")
    found = violations(tmp_path, (RULES[0], RULES[8]))
    assert found == {
        "policies import nothing of ours but their own value types": {"policies/rules.py": ["flows.usecases"]},
        "the front doors never touch the database": {"cli.py": ["models.db"], "web/api.py": ["models.store"]},
    }


def test_no_module_of_flows_or_the_command_line_grows_past_about_400_lines_without_saying_why() -> None:
    long = {}
    for path in [*sorted((ROOT / "flows").rglob("*.py")), ROOT / "cli.py"]:
        lines = path.read_text(encoding="utf-8").count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > 420 and " lines" not in doc:
            long[path.relative_to(ROOT).as_posix()] = lines
    assert long == {}, "split these modules, or say at their top why they are long"

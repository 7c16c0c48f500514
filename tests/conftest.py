"""Shared fixtures: every test gets a real workspace on a real SQLite file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import Driver, new_workspace  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run the long runs (marked slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="a long run: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def ws(tmp_path: Path):
    """A fresh simulated-clock workspace (2025-08-25 09:00 Asia/Shanghai)."""
    return new_workspace(tmp_path / "ws")


def backend_workspace(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A workspace on SQLite (the read and record paths on plain sqlite3, the default), SQLite with every path on
    SQLAlchemy (`sqlite-sqlalchemy`: JUECE_SQLITE_DRIVER=sqlalchemy), or PostgreSQL; a generator for fixtures."""
    if kind.startswith("sqlite"):
        monkeypatch.delenv("JUECE_DATABASE_URL", raising=False)
        if kind == "sqlite-sqlalchemy":
            monkeypatch.setenv("JUECE_SQLITE_DRIVER", "sqlalchemy")
        ws = new_workspace(tmp_path / "ws")
        yield ws
        ws.engine.dispose()
        return
    from backends import postgres_schema

    with postgres_schema() as url:
        monkeypatch.setenv("JUECE_DATABASE_URL", url)
        ws = new_workspace(tmp_path / "ws")
        yield ws
        ws.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_ws(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The contract suite's workspace: the same tests on SQLite and on PostgreSQL."""
    yield from backend_workspace(request.param, tmp_path, monkeypatch)


@pytest.fixture
def backend_case(backend_ws):
    """A launched risk-relevant, technical case on either backend."""
    d = Driver(backend_ws)
    d.launch("risk-relevant", "technical")
    return d


@pytest.fixture
def case(ws):
    """A driver with a launched risk-relevant, technical public-construction case."""
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    return d

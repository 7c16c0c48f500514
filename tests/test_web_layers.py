"""web/ is a front door (ARCHITECTURE.md): it translates HTTP to the use cases in flows/ and holds no rule, query or
transaction — so it imports no database library, no store, no Prefect, and no rule module."""

from __future__ import annotations

from test_imports import modules_imported, sources, top, ROOT


def test_web_imports_no_database_library_store_or_prefect() -> None:
    forbidden_top = {"sqlalchemy", "sqlite3", "sqlmodel", "psycopg", "psycopg2", "asyncpg", "prefect"}
    forbidden = {"models.db", "models.store", "models.credentials", "models.migrations", "policies.rules"}
    bad = {}
    for path in sources("web"):
        names = modules_imported(path)
        hits = sorted(n for n in names if top(n) in forbidden_top or any(n == f or n.startswith(f + ".") for f in forbidden))
        if hits:
            bad[path.relative_to(ROOT).as_posix()] = hits
    assert bad == {}


def test_the_use_cases_behind_the_web_import_no_prefect() -> None:
    for rel in ("flows/usecases/accounts.py", "flows/usecases/show.py"):
        assert not {n for n in modules_imported(ROOT / rel) if top(n) in ("prefect", "httpx")}, rel

"""The two backends of the contract suite: SQLite (embedded default) and PostgreSQL (the scaled setup).

PostgreSQL is this machine's server on 127.0.0.1:5432 (JUECE_TEST_POSTGRES_URL to use another). Each test gets its
own schema, dropped afterwards. Without a reachable server the PostgreSQL half skips with the reason — unless
JUECE_REQUIRE_POSTGRES is set (CI), where it fails.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest

PG_URL = os.environ.get("JUECE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(_plain(PG_URL), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} not reachable: {exc}".splitlines()[0]
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (CI) when PostgreSQL is not there."""
    reason = postgres_reason()
    if reason:
        if os.environ.get("JUECE_REQUIRE_POSTGRES"):
            pytest.fail(reason + " — and JUECE_REQUIRE_POSTGRES is set (CI must run the PostgreSQL half)")
        pytest.skip(reason)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema; yields a database URL whose search_path is that schema."""
    import psycopg

    require_postgres()
    name = "juece_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')

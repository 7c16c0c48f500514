"""Schema migrations on both backends: the migrated database is the one models/tables.py describes (alembic's own
comparison finds nothing to do), fresh or upgraded in place from a workspace the hand-written runner made before
alembic (tests/fixtures/, made with main at 21c9ce4), history, comments and credentials intact and still append-only.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from flows.usecases.audit import verify_cases
from flows.usecases.show import list_cases, show_case
from flows.usecases.workspace import Workspace, open_workspace
from models.migrations import head, include_name, migrate, schema_revision
from models.tables import metadata
from policies.errors import IntegrityFailure
from support import ADMIN, LEGAL, Driver

FIXTURES = Path(__file__).parent / "fixtures"
CASE = "JC-2025-0001"
APPEND_ONLY = ("events", "comments", "dispositions", "security_log")
LATER_TABLES = ("comments", "dispositions", "credentials", "api_tokens", "web_sessions", "security_log")


def differences(engine: Engine) -> list[object]:
    """What alembic's autogenerate would change to make the database match the models (nothing, when they agree)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        return list(compare_metadata(ctx, metadata))


def assert_append_only(engine: Engine) -> None:
    """UPDATE and DELETE of every append-only table fail at the database (each table holds rows: the triggers are
    per row)."""
    for table in APPEND_ONLY:
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0, table
        for sql in (f"UPDATE {table} SET {'case_id' if table != 'security_log' else 'detail'} = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError) as exc:
                with engine.begin() as conn:
                    conn.execute(text(sql))
            assert "append-only" in str(exc.value), (table, sql)


def _load_postgres_fixture(url: str) -> None:
    """Replay the pg_dump of the old workspace into the test's own schema."""
    import psycopg

    from backends import _plain

    schema = url.rsplit("%3D", 1)[1]
    lines = [
        line for line in (FIXTURES / "workspace-v3.postgresql.sql").read_text(encoding="utf-8").splitlines()
        if not line.startswith("\\") and not line.startswith("CREATE SCHEMA")
    ]
    sql = "\n".join(lines).replace("juece_fixture_v3.", f'"{schema}".')
    with psycopg.connect(_plain(url.split("?")[0]), autocommit=True) as conn:
        conn.execute(sql.encode())


@pytest.fixture(params=["sqlite", "postgresql"])
def old_workspace(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:  # type: ignore[no-untyped-def]
    """A workspace exactly as the old runner left it (schema migrations 1–3, no alembic), on either backend."""
    home = tmp_path / "ws"
    home.mkdir()
    (home / "workspace.json").write_text(json.dumps({"version": 1}), encoding="utf-8")
    if request.param == "sqlite":
        monkeypatch.delenv("JUECE_DATABASE_URL", raising=False)
        shutil.copy(FIXTURES / "workspace-v3.sqlite", home / "juece.db")
        ws = open_workspace(home)
        yield ws
        ws.engine.dispose()
        return
    from backends import postgres_schema

    with postgres_schema() as url:
        _load_postgres_fixture(url)
        monkeypatch.setenv("JUECE_DATABASE_URL", url)
        ws = open_workspace(home)
        yield ws
        ws.engine.dispose()


def test_a_new_workspace_is_at_the_head_and_is_what_the_models_describe(backend_ws):  # type: ignore[no-untyped-def]
    engine = backend_ws.engine
    assert schema_revision(engine) == head()
    assert differences(engine) == []
    assert migrate(engine) == []  # up to date: nothing applied twice
    from models import comments, credentials

    with engine.begin() as conn:
        comments.insert_comments(conn, [("C", "i", 1, "2025-09-01T00:00:00.000000Z", "网站", "市民", "意见", "n", "r", False, 1)])
        comments.insert_disposition(conn, case_id="C", target="comment:1", disposition="adopted", reason="",
                                    recorded_at="2025-09-02T00:00:00.000000Z", actor="clerk:李明")
        credentials.log_security(conn, "2025-09-02T00:00:00.000000Z", "sign-in", "李明", "127.0.0.1")
    assert_append_only(engine)


def test_the_old_workspace_fixture_is_what_the_old_runner_left(old_workspace):  # type: ignore[no-untyped-def]
    engine = old_workspace.engine
    assert schema_revision(engine) is None
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))] == [1, 2, 3]
        assert not conn.dialect.has_table(conn, "alembic_version")


def test_an_old_workspace_is_adopted_in_place_with_everything_intact(old_workspace):  # type: ignore[no-untyped-def]
    ws = old_workspace
    before = show_case(ws, CASE)
    assert migrate(ws.engine) == ["0004"]  # at migration 3: adopted as revision 0003, then the outbox
    assert schema_revision(ws.engine) == head()
    assert differences(ws.engine) == []
    assert_append_only(ws.engine)
    _still_works(ws, before)


def test_an_old_workspace_from_before_comments_and_credentials_upgrades_in_place(old_workspace):  # type: ignore[no-untyped-def]
    """A workspace the old runner left at migration 1 (the tables of 2 and 3 did not exist yet) gets them from
    revisions 0002 and 0003."""
    ws = old_workspace
    with ws.engine.begin() as conn:
        for table in LATER_TABLES:
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version > 1"))
    before = show_case(ws, CASE)
    assert migrate(ws.engine) == ["0002", "0003", "0004"]
    assert schema_revision(ws.engine) == head()
    assert differences(ws.engine) == []
    assert show_case(ws, CASE) == before
    _record_as_a_new_account(ws)  # writes credentials (a new table) and the history
    # (not `audit verify`: this history names comments that the dropped tables held)


def _record_as_a_new_account(ws: Workspace):  # type: ignore[no-untyped-def]
    """The fixture has accounts (only they may act): add the legal office's and record the party report."""
    from flows.usecases.accounts import add_account

    add_account(ws, ADMIN, LEGAL.name, [LEGAL.role], password="Juece-fixture-2025!")
    return Driver(ws, CASE).record("party-reported", actor=LEGAL)  # moves the simulated clock as the admin


def test_an_old_workspace_whose_ledger_juece_never_shipped_is_refused_and_left_as_it_was(old_workspace):  # type: ignore[no-untyped-def]
    ws = old_workspace
    with ws.engine.begin() as conn:
        conn.execute(text("UPDATE schema_migrations SET sha256 = :s WHERE version = 2"), {"s": "0" * 64})
    with pytest.raises(IntegrityFailure) as exc:
        migrate(ws.engine)
    assert exc.value.code == "migration-edited"
    assert schema_revision(ws.engine) is None
    with ws.engine.connect() as conn:
        assert not conn.dialect.has_table(conn, "alembic_version")


def _still_works(ws: Workspace, before: object) -> None:
    from flows.usecases.sessions import sign_in
    from flows.usecases.comments import comment_summary

    assert show_case(ws, CASE) == before
    assert [c.case_id for c in list_cases(ws)] == [CASE]
    assert comment_summary(ws, CASE).received == 3
    assert verify_cases(ws).exit_code == 0
    # the positions go on from where the old store left them, the chain too
    with ws.engine.connect() as conn:
        top = conn.execute(text("SELECT max(position) FROM events")).scalar_one()
    r = _record_as_a_new_account(ws)
    with ws.engine.connect() as conn:
        new = [p for (p,) in conn.execute(text("SELECT position FROM events WHERE position > :t ORDER BY position"), {"t": top})]
        mine = conn.execute(text("SELECT position FROM events WHERE seq = :s AND case_id = :c"), {"s": r.seq, "c": CASE})
        assert new == list(range(top + 1, top + 1 + len(new))) and mine.scalar_one() in new
    assert verify_cases(ws).exit_code == 0
    session = sign_in(ws, "系统管理员", "Juece-fixture-2025!", "127.0.0.1")  # the credentials came through
    assert session.account.name == "系统管理员"


def test_the_sqlite_fixture_is_an_untouched_file() -> None:
    """The fixture itself never changes (the tests work on copies)."""
    db = sqlite3.connect(f"file:{FIXTURES / 'workspace-v3.sqlite'}?mode=ro", uri=True)
    try:
        assert db.execute("SELECT max(version) FROM schema_migrations").fetchone() == (3,)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchone() is None
    finally:
        db.close()


def test_the_comparison_sees_a_model_the_database_does_not_match(backend_ws):  # type: ignore[no-untyped-def]
    """The check above can fail: a column the models have and the database lacks is a difference."""
    from sqlalchemy import Column, Integer, MetaData

    changed = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["events"].append_column(Column("extra", Integer))
    with backend_ws.engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), changed)
    assert [(d[0], d[3].name) for d in found] == [("add_column", "extra")]  # type: ignore[index]


def test_each_table_is_defined_once_and_the_fast_paths_use_its_class() -> None:
    from models import comments, store
    from models.tables import CommentRow, DispositionRow, EventRow

    assert store.EVENTS is EventRow.__table__  # type: ignore[attr-defined]
    assert comments.COMMENTS is CommentRow.__table__  # type: ignore[attr-defined]
    assert comments.DISPOSITIONS_TABLE is DispositionRow.__table__  # type: ignore[attr-defined]
    assert sorted(metadata.tables) == sorted(
        ["events", "comments", "dispositions", "credentials", "api_tokens", "web_sessions", "security_log", "outbox"])

"""The contract suite: the store and the use cases behave the same on SQLite and on PostgreSQL — and on SQLite
whether the read and record paths go through plain sqlite3 (the default) or SQLAlchemy (`sqlite-sqlalchemy`)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flows.usecases.audit import verify_cases
from flows.usecases.record import record_event
from flows.usecases.show import list_cases
from models.db import is_sqlite
from models.store import EVENTS
from policies.errors import ConcurrentModification, RuleRefusal
from conftest import backend_workspace
from support import CLERK, MANDATORY_PATH, payload


@pytest.fixture(params=["sqlite", "sqlite-sqlalchemy", "postgresql"])
def backend_ws(request, tmp_path, monkeypatch):
    """Here, three ways in: plain sqlite3, SQLAlchemy on SQLite, PostgreSQL."""
    yield from backend_workspace(request.param, tmp_path, monkeypatch)


def test_the_sqlite_paths_are_the_ones_named(backend_ws):
    """The parametrisation can fail: the default SQLite path is plain sqlite3, the switch is SQLAlchemy."""
    import os

    from models.db import SqliteStore

    plain = isinstance(backend_ws.db, SqliteStore)
    sqlite = backend_ws.database_url.startswith("sqlite")
    assert plain == (sqlite and os.environ.get("JUECE_SQLITE_DRIVER") != "sqlalchemy")


def non_attempts(view) -> int:
    return view.events - len(view.refused_attempts)


def test_a_case_walks_the_five_mandatory_stages_and_verifies(backend_case):
    backend_case.walk(MANDATORY_PATH)
    view = backend_case.show()
    assert [s.status for s in view.stages[:5]] == ["concluded"] * 5
    assert view.status == "decided"
    report = verify_cases(backend_case.ws)
    assert report.exit_code == 0
    assert report.cases[0].intact and report.cases[0].events == len(MANDATORY_PATH) + 1


def test_a_skipped_stage_is_refused_and_writes_nothing_to_the_stages(backend_case):
    before = backend_case.show()
    with pytest.raises(RuleRefusal) as exc:
        backend_case.record("legality-review-submitted")
    assert exc.value.code == "PP-01"
    after = backend_case.show()
    assert [s.status for s in after.stages] == [s.status for s in before.stages]
    assert non_attempts(after) == non_attempts(before)
    assert [r["rules"] for r in after.refused_attempts] == [["PP-01"]]


def test_the_history_refuses_update_and_delete_at_the_database(backend_case):
    engine = backend_case.ws.engine
    for sql in ("UPDATE events SET actor = 'x' WHERE seq = 1", "DELETE FROM events WHERE seq = 1"):
        with pytest.raises(DBAPIError) as exc:
            with engine.begin() as conn:
                conn.execute(text(sql))
        assert "append-only" in str(exc.value)
    if not is_sqlite(engine):
        with pytest.raises(DBAPIError):
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE events"))


def test_a_retried_record_returns_the_original_and_writes_once(backend_case):
    backend_case.record("consultation-opened")
    backend_case.clock_to(__import__("datetime").date(2025, 9, 18))
    ws, case_id = backend_case.ws, backend_case.case_id
    first = record_event(ws, CLERK, case_id, "participation-activity-held", payload("participation-activity-held"),
                         idempotency_key="retry-1")
    again = record_event(ws, CLERK, case_id, "participation-activity-held", payload("participation-activity-held"),
                         idempotency_key="retry-1")
    assert again.repeated and again.seq == first.seq
    assert backend_case.show().events == first.seq


def test_two_clerks_recording_the_same_step_at_once_leave_exactly_one_record(backend_case):
    backend_case.walk(MANDATORY_PATH[:3])
    backend_case.clock_to(__import__("datetime").date(2025, 10, 20))
    ws, case_id = backend_case.ws, backend_case.case_id
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def clerk(n: int) -> None:
        barrier.wait()
        try:
            record_event(ws, CLERK.__class__("clerk", f"办事员{n}"), case_id, "risk-assessed", payload("risk-assessed"))
            outcomes.append("ok")
        except RuleRefusal as exc:
            outcomes.append(exc.code)
        except ConcurrentModification:
            outcomes.append("retry")

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"SEQ-01", "retry"}
    assert len([1 for r in backend_case.show().stages if r.stage == "risk_assessment" and r.status == "concluded"]) == 1
    with ws.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM events WHERE case_id = :c AND type = 'risk-assessed'"), {"c": case_id}).scalar_one()
    assert n == 1
    assert verify_cases(ws).exit_code == 0


def test_launches_at_the_same_moment_get_distinct_case_numbers(backend_ws):
    from support import Driver

    ids: list[str] = []
    barrier = threading.Barrier(4)

    def launch(n: int) -> None:
        barrier.wait()
        ids.append(Driver(backend_ws).launch(title=f"第{n}号事项"))

    threads = [threading.Thread(target=launch, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == [f"JC-2025-000{i}" for i in range(1, 5)]
    assert len(list_cases(backend_ws)) == 4


def test_the_migrated_schema_is_the_one_the_models_describe(backend_ws):
    from sqlalchemy import inspect

    from models.migrations import head, migrate, schema_revision
    from models.tables import EventRow

    assert EVENTS is EventRow.__table__  # one definition (tests/test_migrations.py compares the whole schema)
    columns = {c["name"] for c in inspect(backend_ws.engine).get_columns("events")}
    assert columns == {c.name for c in EVENTS.columns}
    assert schema_revision(backend_ws.engine) == head()
    assert migrate(backend_ws.engine) == []  # up to date: nothing applied twice


def test_the_application_role_can_append_and_read_but_not_rewrite(backend_case):
    engine = backend_case.ws.engine
    if is_sqlite(engine):
        pytest.skip("database roles are a PostgreSQL matter; SQLite relies on the trigger")
    import uuid

    from sqlalchemy import create_engine

    from models.migrations import app_role_grants

    role = "juece_app_" + uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for sql in app_role_grants(role, schema):
            conn.execute(text(sql))
    try:
        app = create_engine(engine.url.set(username=role))
        backend_case.ws.__dict__["engine"] = app  # the engine is a cached property: use the app role from here on
        backend_case.record("consultation-opened")
        with pytest.raises(DBAPIError) as exc:
            with app.begin() as conn:
                conn.execute(text("DROP TRIGGER events_append_only ON events"))
        assert "owner" in str(exc.value) or "permission" in str(exc.value)
        for sql in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
            with pytest.raises(DBAPIError) as exc:
                with app.begin() as conn:
                    conn.execute(text(sql))
            assert "permission denied" in str(exc.value)
        app.dispose()
    finally:
        backend_case.ws.__dict__["engine"] = engine
        with engine.begin() as conn:
            conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}'))
            conn.execute(text(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}'))
            conn.execute(text(f"DROP ROLE {role}"))


def test_the_archive_exports_and_verifies_the_same_on_either_backend(backend_case, tmp_path):
    from flows.usecases.archive import export_archive
    from flows.usecases.archive_verify import verify_archive
    from flows.usecases.documents import attach
    from support import Actor

    backend_case.walk(MANDATORY_PATH)
    backend_case.walk(["party-reported", "decision-published"])
    doc = tmp_path / "纪要.txt"
    doc.write_text("八届市政府第72次常务会议纪要", encoding="utf-8")
    attach(backend_case.ws, CLERK, backend_case.case_id, doc)
    r = export_archive(backend_case.ws, Actor("archivist", "周档案"), backend_case.case_id, tmp_path / "bag")
    assert r.archive_id == "Z001-WS·2025-Y-FZ-0001"
    v = verify_archive(tmp_path / "bag")
    assert v.ok, v.failures
    assert verify_cases(backend_case.ws).exit_code == 0

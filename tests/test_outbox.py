"""The outbox of the live mirror: every append to the history — case records and workspace records — writes its
outbox row in the same transaction, on every way into the store (plain sqlite3, SQLAlchemy on SQLite, PostgreSQL);
a rolled-back record leaves none; marking delivered marks once."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import backend_workspace
from models import outbox, store
from models.db import read_transaction, write_transaction
from models.store import NewEvent
from policies.errors import RuleRefusal
from support import Driver


@pytest.fixture(params=["sqlite", "sqlite-sqlalchemy", "postgresql"])
def any_ws(request, tmp_path, monkeypatch):
    yield from backend_workspace(request.param, tmp_path, monkeypatch)


def outbox_rows(db):
    with read_transaction(db) as conn:
        sql = "SELECT case_id, seq, type, recorded_at, delivered_at FROM outbox ORDER BY id"
        rows = conn.execute(sql).fetchall() if hasattr(conn, "executemany") else conn.exec_driver_sql(sql).all()
    return [tuple(r) for r in rows]


def history(db):
    with read_transaction(db) as conn:
        return [(e.case_id, e.seq, e.type, e.recorded_at, None) for e in store.iter_all(conn)]


def test_every_record_has_its_outbox_row_in_the_order_recorded(any_ws):
    d = Driver(any_ws)
    case_id = d.launch("risk-relevant", "technical")
    d.clock_to(date(2025, 9, 1))  # a workspace record (@workspace stream)
    d.record("consultation-opened")
    with pytest.raises(RuleRefusal):  # out of order: refused, and the refusal is a record too (attempt-refused)
        d.record("execution-reported")

    rows = outbox_rows(any_ws.db)
    assert rows == history(any_ws.db)
    streams = {r[0] for r in rows}
    assert {case_id, store.WORKSPACE_STREAM} <= streams
    assert "attempt-refused" in {r[2] for r in rows}
    with read_transaction(any_ws.db) as conn:
        assert outbox.count_pending(conn) == len(rows)
        assert [(p.case_id, p.seq) for p in outbox.pending(conn)] == [(r[0], r[1]) for r in rows]
        assert [p.hash for p in outbox.pending(conn, limit=2)] == [e.hash for e in list(store.iter_all(conn))[:2]]


def test_a_record_rolled_back_leaves_no_outbox_row(any_ws):
    d = Driver(any_ws)
    d.launch("risk-relevant", "technical")
    before = outbox_rows(any_ws.db)
    with pytest.raises(RuntimeError):
        with write_transaction(any_ws.db) as conn:
            history_ = store.load_stream(conn, "X-1")
            store.append(conn, "X-1", history_, [NewEvent("execution-reported", 1, {}, "clerk:李明", "clerk", "k-x")],
                         store.parse_utc("2025-09-01T00:00:00.000000Z"))
            with read_transaction(any_ws.db) as other:  # not visible outside the transaction either
                assert outbox_rows_of(other) == before
            raise RuntimeError("the command failed after appending")
    assert outbox_rows(any_ws.db) == before


def outbox_rows_of(conn):
    sql = "SELECT case_id, seq, type, recorded_at, delivered_at FROM outbox ORDER BY id"
    rows = conn.execute(sql).fetchall() if hasattr(conn, "executemany") else conn.exec_driver_sql(sql).all()
    return [tuple(r) for r in rows]


def test_marking_delivered_marks_each_row_once(any_ws):
    d = Driver(any_ws)
    d.launch("risk-relevant", "technical")
    with read_transaction(any_ws.db) as conn:
        first, *rest = outbox.pending(conn)
    with write_transaction(any_ws.db) as conn:
        assert outbox.mark_delivered(conn, [first.id], "2025-09-01T00:00:00.000000Z") == 1
    with write_transaction(any_ws.db) as conn:
        assert outbox.mark_delivered(conn, [first.id] + [p.id for p in rest], "2025-09-02T00:00:00.000000Z") == len(rest)
    with read_transaction(any_ws.db) as conn:
        assert outbox.count_pending(conn) == 0
        assert outbox.pending(conn) == []
    assert outbox_rows(any_ws.db)[0][4] == "2025-09-01T00:00:00.000000Z"

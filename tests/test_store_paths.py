"""The event store's two ways in on SQLite agree: plain `sqlite3` (models.db.SqliteStore, the hot paths) and
SQLAlchemy Core on `EventRow.__table__` — the same rows, the same positions and hashes, the same errors, one store.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from models import store
from models.db import SqliteStore, make_engine, read_transaction, write_transaction
from models.migrations import migrate
from models.store import NewEvent
from policies.errors import ConcurrentModification, IdempotencyConflict, StorageFailure

T0 = datetime(2025, 9, 1, 9, 0, tzinfo=timezone.utc)


def ev(n: int, key: str | None = None) -> NewEvent:
    return NewEvent("execution-reported", 1, {"reported_on": "2025-09-01", "unit": "市住建局", "status": f"第{n}次"},
                    "clerk:李明", "clerk", key or f"k-{n}")


@pytest.fixture
def paths(tmp_path: Path):  # type: ignore[no-untyped-def]
    """(plain sqlite3 store, SQLAlchemy engine) on one migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'juece.db'}"
    engine = make_engine(url)
    migrate(engine)
    yield SqliteStore.from_url(url), engine
    engine.dispose()


def count(db) -> int:  # type: ignore[no-untyped-def]
    with read_transaction(db) as conn:
        return store.count_all(conn)


def everything(db):  # type: ignore[no-untyped-def]
    """Every read of the store's interface, as plain values."""
    with read_transaction(db) as conn:
        return {
            "A": [e.__dict__ for e in store.load_stream(conn, "A")],
            "A as of": [e.seq for e in store.load_stream(conn, "A", as_of=T0 + timedelta(hours=1))],
            "first B": store.first_event(conn, "B").__dict__,  # type: ignore[union-attr]
            "no first": store.first_event(conn, "Z"),
            "all": [tuple(bytes(x) if isinstance(x, memoryview) else x for x in r)
                    for rows in store.iter_all_rows(conn, batch=3) for r in rows],
            "iter": [e.__dict__ for e in store.iter_all(conn, batch=2)],
            "key": store.find_by_key(conn, "b-2").__dict__,  # type: ignore[union-attr]
            "no key": store.find_by_key(conn, "nope"),
            "streams": store.stream_ids(conn, event_type="execution-reported"),
            "all streams": store.all_stream_ids(conn),
            "seq bounds": store.stream_seq_bounds(conn),
            "count": store.count_all(conn),
            "prefix": store.count_with_prefix(conn, "A"),
            "last": store.last_versions(conn, ["A", "B", "Z", "A"]),
        }


def test_both_paths_write_and_read_the_same_store_alike(paths) -> None:  # type: ignore[no-untyped-def]
    plain, engine = paths
    # interleave writers: A by plain sqlite3, B by SQLAlchemy, each appending after what the other wrote
    for i in range(1, 4):
        for db, case in ((plain, "A"), (engine, "B")):
            with write_transaction(db) as conn:
                history = store.load_stream(conn, case)
                key = f"{case.lower()}-{i}"
                (new,) = store.append(conn, case, history, [ev(i, key)], T0 + timedelta(hours=i - 1))
            assert new.seq == i and new.case_id == case
    with read_transaction(plain) as conn:
        assert type(conn) is sqlite3.Connection
    with read_transaction(engine) as conn:
        assert type(conn) is not sqlite3.Connection
    a, b = everything(plain), everything(engine)
    assert a == b
    assert a["count"] == 6 and a["A as of"] == [1, 2] and a["streams"] == ["A", "B"] and a["prefix"] == 1
    assert a["seq bounds"] == [("A", 3), ("B", 3)]
    assert [r[0] for r in a["all"]] == list(range(1, 7))  # positions in global order


@pytest.mark.parametrize("which", ["plain", "sqlalchemy"])
def test_both_paths_refuse_a_reused_key_and_a_lost_race_with_nothing_written(paths, which) -> None:  # type: ignore[no-untyped-def]
    db = paths[0] if which == "plain" else paths[1]
    with write_transaction(db) as conn:
        store.append(conn, "A", [], [ev(1)], T0)
    with pytest.raises(IdempotencyConflict):
        with write_transaction(db) as conn:
            store.append(conn, "A", store.load_stream(conn, "A"), [ev(2, key="k-1")], T0)
    with pytest.raises(ConcurrentModification):
        with write_transaction(db) as conn:
            store.append(conn, "A", [], [ev(3)], T0)  # a stale view: seq 1 exists
    assert count(paths[0]) == 1


def test_the_plain_path_waits_for_the_write_lock_and_says_so_when_it_cannot_have_it(paths, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import models.db as db

    plain, _ = paths
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(db, "SQLITE_PRAGMAS", tuple(p for p in db.SQLITE_PRAGMAS if "busy_timeout" not in p))
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with write_transaction(plain):
            holding.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        holding.wait(10)
        with pytest.raises(ConcurrentModification):
            with write_transaction(plain) as conn:
                store.append(conn, "A", [], [ev(1)], T0)
    finally:
        release.set()
        t.join()


def test_the_plain_path_turns_a_failed_commit_into_a_storage_failure_with_nothing_written(paths) -> None:  # type: ignore[no-untyped-def]
    class Failing(sqlite3.Connection):
        def commit(self) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    plain, _ = paths
    failing = SqliteStore(plain.path, factory=Failing)
    with pytest.raises(StorageFailure):
        with write_transaction(failing) as conn:
            store.append(conn, "A", [], [ev(1)], T0)
    assert count(plain) == 0


def test_the_plain_path_sets_the_same_pragmas(paths) -> None:  # type: ignore[no-untyped-def]
    plain, engine = paths
    q = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    with read_transaction(plain) as conn:
        mine = [conn.execute(f"PRAGMA {p}").fetchone()[0] for p in q]
    with read_transaction(engine) as conn:
        theirs = [conn.exec_driver_sql(f"PRAGMA {p}").scalar_one() for p in q]
    assert mine == theirs == ["wal", 2, 1, 30000]


def test_the_plain_paths_columns_are_the_tables() -> None:
    from models.tables import EVENTS

    assert set(store.COLUMN_NAMES) | {"schema_version"} == {c.name for c in EVENTS.columns}
    assert set(store.INSERT_NAMES) == {c.name for c in EVENTS.columns} - {"position"}

"""The database: SQLite in the workspace by default (WAL, synchronous=FULL, BEGIN IMMEDIATE for writes), PostgreSQL by
URL for the scaled setup.

Two ways in, one behaviour. `make_engine` gives a SQLAlchemy engine (PostgreSQL, migrations, credentials, and every
SQLite path that wants SQLAlchemy). `SqliteStore` opens plain `sqlite3` connections with the same pragmas and the
same transactions, for the hot paths on SQLite — the event store (models/store.py accepts either connection) and a
comments import (models/comments.py has the import's queries in both forms):
importing SQLAlchemy was 0.16 s of a 0.5 s `juece case show` (issue 13), and this module imports it only when an
engine is made. `read_transaction` / `write_transaction` take either and map the same failures to the same errors;
the contract suite runs over both (tests/test_contract.py, tests/test_store_paths.py).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Union

from policies.errors import ConcurrentModification, StorageFailure

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # synchronous=NORMAL lost acknowledged commits in a power-loss simulation here (ARCHITECTURE.md).
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)
BUSY_TIMEOUT_S = 30


class SqliteStore:
    """Plain `sqlite3` connections to a workspace's SQLite file, set up as `make_engine` sets up SQLAlchemy's.

    With `create=False` (an existing workspace, `Workspace.db`) a missing file is damage, as for `make_engine`:
    sqlite3 would otherwise make a new, empty database of it and the history would look absent, not lost."""

    name = "sqlite"

    def __init__(self, path: str, *, factory: type[sqlite3.Connection] | None = None, create: bool = True) -> None:
        self.path = path
        self.factory = factory
        self.create = create

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> SqliteStore:
        """From a `sqlite:///PATH` URL."""
        if not url.startswith("sqlite:///"):
            raise ValueError(f"not a SQLite file URL: {url!r}")
        return cls(url[len("sqlite:///"):], **kw)

    def connect(self) -> sqlite3.Connection:
        """A new connection: autocommit mode (BEGIN is ours to emit), the durability pragmas."""
        kw: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S, "isolation_level": None}
        if self.factory is not None:
            kw["factory"] = self.factory
        conn: sqlite3.Connection = sqlite3.connect(self.path, **kw)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        return conn

    def dispose(self) -> None:
        """Nothing is pooled: connections close when their transaction ends."""


AnyEngine = Union["Engine", SqliteStore]
AnyConnection = Union["Connection", sqlite3.Connection]


def is_sqlite(engine: AnyEngine) -> bool:
    """True for the embedded default."""
    return isinstance(engine, SqliteStore) or engine.dialect.name == "sqlite"


def make_engine(url: str, *, connect_args: dict[str, Any] | None = None, create: bool = True) -> Engine:
    """A SQLAlchemy engine for the case store; SQLite connections get the durability settings on every connect.

    `connect_args` reach the driver (the fault-injection tests pass a sqlite3 connection factory that fails I/O).
    Damaged or unwritable storage becomes the contract's error wherever the engine is used (`_translate_errors`).
    Before SQLite opens a file it is checked (models/damage.py, `check_sqlite_file`): SQLite would otherwise take an
    empty file for a new database and write a fresh header over it; with `create=False` (an existing workspace) a
    missing file is damage too, not a new database."""
    from sqlalchemy import Connection, create_engine, event

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, **(connect_args or {})})
        _translate_errors(engine)

        @event.listens_for(engine, "do_connect")
        def _check_file(_dialect, _record, cargs, _cparams) -> None:  # type: ignore[no-untyped-def]
            from models.damage import check_sqlite_file

            if cargs and isinstance(cargs[0], str):
                check_sqlite_file(cargs[0], create=create)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not pysqlite, emit BEGIN, so writes can use BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # With pysqlite's deferred BEGIN, 8 concurrent writers lost 200 of 800 updates here; IMMEDIATE lost none.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, pool_pre_ping=True)
    _translate_errors(engine)
    return engine


def _translate_errors(engine: Engine) -> None:
    """The one point where driver errors that mean damaged storage (exit 4) or an unwritable workspace (exit 1) become
    the contract's errors (models/damage.py), for every use of the engine: transactions, migrations, the comment and
    credential tables, and the connect hooks (pragmas) alike."""

    from sqlalchemy import event

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx) -> None:  # type: ignore[no-untyped-def]
        from models.damage import translate

        err = translate(ctx.original_exception, str(engine.url))
        if err is not None:
            raise err from ctx.original_exception


_STORAGE_FAILURES = ("disk is full", "disk i/o error", "no space left", "could not extend file", "read-only")
# PostgreSQL: serialization failure, deadlock detected. SQLite: the busy timeout ran out.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _lost_race(orig: BaseException) -> bool:
    return getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES or "database is locked" in str(orig)


def _failure(orig: BaseException) -> Exception | None:
    """The contract's error for a driver error of a write (None: not one the contract names)."""
    if _lost_race(orig):
        return ConcurrentModification(
            "another writer held the case store at the same moment; nothing was written — retry", code="concurrent-modification"
        )
    if any(s in str(orig).lower() for s in _STORAGE_FAILURES):
        return StorageFailure(
            f"the case store could not write ({orig}); the transaction was rolled back and nothing was written. "
            "Free disk space or fix the storage, then retry the same command: it is idempotent",
        )
    return None


@contextmanager
def _sqlite_transaction(store: SqliteStore, mode: str) -> Iterator[sqlite3.Connection]:
    try:
        with _sqlite_connection(store, mode) as conn:
            yield conn
    except sqlite3.DatabaseError as exc:  # damaged or unwritable storage: models/damage.py, as for the engine
        from models.damage import translate

        err = translate(exc, "sqlite:///" + store.path)
        if err is None:
            raise
        raise err from exc


@contextmanager
def _sqlite_connection(store: SqliteStore, mode: str) -> Iterator[sqlite3.Connection]:
    from models.damage import check_sqlite_file

    # An emptied (or, for an existing workspace, missing) file is damage, before SQLite writes a header over it.
    check_sqlite_file(store.path, create=store.create)
    conn = store.connect()
    try:
        conn.execute(f"BEGIN {mode}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        conn.commit()
    finally:
        conn.close()


@contextmanager
def write_transaction(engine: AnyEngine) -> Iterator[Any]:
    """One command = one transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE). On PostgreSQL it
    reads one snapshot (REPEATABLE READ) and the unique `(case_id, seq)` key decides races: two writers to the same
    case cannot both append event N+1. (SERIALIZABLE was measured to fail 6,472 of 8,472 attempts by 8 writers on 10
    different cases — predicate locks on the shared indexes — for no added safety.) Losing a race is
    `ConcurrentModification` (exit 6): nothing was written; retry.

    Yields a `sqlite3.Connection` for a `SqliteStore`, a SQLAlchemy `Connection` for an engine."""
    if isinstance(engine, SqliteStore):
        try:
            with _sqlite_transaction(engine, "IMMEDIATE") as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            err = _failure(exc)
            if err is None:
                raise
            raise err from exc
        return
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            if is_sqlite(engine):
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
    except DBAPIError as exc:
        err = _failure(exc.orig) if exc.orig is not None else None
        if err is None:
            raise
        raise err from exc


@contextmanager
def read_transaction(engine: AnyEngine) -> Iterator[Any]:
    """A consistent read (one snapshot) without taking the write lock."""
    if isinstance(engine, SqliteStore):
        with _sqlite_transaction(engine, "DEFERRED") as conn:
            yield conn
        return
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn

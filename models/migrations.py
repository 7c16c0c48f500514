"""Versioned schema migrations, one list for both backends; never `create_all` on a live database.

Each migration is literal SQL per dialect, applied once, in order, in one transaction that holds the migration
lock, and recorded in `schema_migrations` with the sha256 of its SQL (a migration edited after it was applied is
refused). The SQLModel tables in models/ describe the same schema for queries; a test checks they agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect, text

from models.credentials import CREDENTIALS_DDL
from models.db import is_sqlite, write_transaction
from policies.errors import IntegrityFailure

_APPEND_ONLY = "juece: the event history is append-only (ARC-03, 档案法 art. 21)"


@dataclass(frozen=True)
class Migration:
    """One schema version."""

    version: int
    name: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        """The SQL for one backend."""
        return self.sqlite if dialect == "sqlite" else self.postgresql

    def digest(self, dialect: str) -> str:
        """Fingerprint of the SQL, so an applied migration cannot be edited silently."""
        return hashlib.sha256("\n;\n".join(self.statements(dialect)).encode()).hexdigest()


_COMMENTS_APPEND_ONLY = "juece: public comments and their dispositions are append-only (ARC-03, 档案法 art. 21)"
# Migration 2's DDL: public comments and their dispositions, append-only like the history. A test checks the
# columns agree with the SQLModel classes in models/comments.py.
_CHOICES = "'adopted', 'partly-adopted', 'not-adopted'"
_COMMENTS_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        """CREATE TABLE IF NOT EXISTS comments (
            id INTEGER NOT NULL PRIMARY KEY,
            case_id VARCHAR(64) NOT NULL,
            import_id VARCHAR(64) NOT NULL,
            line INTEGER NOT NULL,
            submitted_at VARCHAR(40) NOT NULL,
            channel VARCHAR(300) NOT NULL,
            author VARCHAR(300) NOT NULL,
            text TEXT NOT NULL,
            norm_hash VARCHAR(64) NOT NULL,
            row_hash VARCHAR(64) NOT NULL,
            late BOOLEAN NOT NULL,
            cluster INTEGER NOT NULL,
            CONSTRAINT uq_comments_case_row UNIQUE (case_id, row_hash)
        )""",
        "CREATE INDEX IF NOT EXISTS ix_comments_case_cluster ON comments (case_id, cluster)",
        f"""CREATE TABLE IF NOT EXISTS dispositions (
            id INTEGER NOT NULL PRIMARY KEY,
            case_id VARCHAR(64) NOT NULL,
            target VARCHAR(40) NOT NULL,
            disposition VARCHAR(20) NOT NULL CHECK (disposition IN ({_CHOICES})),
            reason TEXT NOT NULL,
            recorded_at VARCHAR(40) NOT NULL,
            actor VARCHAR(300) NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS ix_dispositions_case_target ON dispositions (case_id, target)",
        *(
            f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}
                BEGIN SELECT RAISE(ABORT, '{_COMMENTS_APPEND_ONLY}'); END"""
            for table in ("comments", "dispositions")
            for verb in ("update", "delete")
        ),
    ),
    "postgresql": (
        """CREATE TABLE IF NOT EXISTS comments (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            case_id VARCHAR(64) NOT NULL,
            import_id VARCHAR(64) NOT NULL,
            line INTEGER NOT NULL,
            submitted_at VARCHAR(40) NOT NULL,
            channel VARCHAR(300) NOT NULL,
            author VARCHAR(300) NOT NULL,
            text TEXT NOT NULL,
            norm_hash VARCHAR(64) NOT NULL,
            row_hash VARCHAR(64) NOT NULL,
            late BOOLEAN NOT NULL,
            cluster INTEGER NOT NULL,
            CONSTRAINT uq_comments_case_row UNIQUE (case_id, row_hash)
        )""",
        "CREATE INDEX IF NOT EXISTS ix_comments_case_cluster ON comments (case_id, cluster)",
        f"""CREATE TABLE IF NOT EXISTS dispositions (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            case_id VARCHAR(64) NOT NULL,
            target VARCHAR(40) NOT NULL,
            disposition VARCHAR(20) NOT NULL CHECK (disposition IN ({_CHOICES})),
            reason TEXT NOT NULL,
            recorded_at VARCHAR(40) NOT NULL,
            actor VARCHAR(300) NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS ix_dispositions_case_target ON dispositions (case_id, target)",
        f"""CREATE OR REPLACE FUNCTION juece_comments_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_COMMENTS_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""",
        *(
            stmt
            for table in ("comments", "dispositions")
            for stmt in (
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION juece_comments_append_only()""",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
                f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                    FOR EACH STATEMENT EXECUTE FUNCTION juece_comments_append_only()""",
            )
        ),
    ),
}

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the event history",
        sqlite=(
            """CREATE TABLE events (
                position INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
                case_id VARCHAR(64) NOT NULL,
                seq INTEGER NOT NULL,
                type VARCHAR(64) NOT NULL,
                schema_version INTEGER NOT NULL,
                recorded_at VARCHAR(40) NOT NULL,
                actor VARCHAR(300) NOT NULL,
                role VARCHAR(32) NOT NULL,
                idempotency_key VARCHAR(128) NOT NULL,
                body BLOB NOT NULL,
                prev_hash VARCHAR(64) NOT NULL,
                hash VARCHAR(64) NOT NULL,
                CONSTRAINT uq_events_case_seq UNIQUE (case_id, seq),
                CONSTRAINT uq_events_idempotency_key UNIQUE (idempotency_key)
            )""",
            "CREATE INDEX ix_events_type ON events (type)",
            f"""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
            f"""CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
        ),
        postgresql=(
            """CREATE TABLE events (
                position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                case_id VARCHAR(64) NOT NULL,
                seq INTEGER NOT NULL,
                type VARCHAR(64) NOT NULL,
                schema_version INTEGER NOT NULL,
                recorded_at VARCHAR(40) NOT NULL,
                actor VARCHAR(300) NOT NULL,
                role VARCHAR(32) NOT NULL,
                idempotency_key VARCHAR(128) NOT NULL,
                body BYTEA NOT NULL,
                prev_hash VARCHAR(64) NOT NULL,
                hash VARCHAR(64) NOT NULL,
                CONSTRAINT uq_events_case_seq UNIQUE (case_id, seq),
                CONSTRAINT uq_events_idempotency_key UNIQUE (idempotency_key)
            )""",
            "CREATE INDEX ix_events_type ON events (type)",
            f"""CREATE FUNCTION juece_events_append_only() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""",
            """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
                FOR EACH ROW EXECUTE FUNCTION juece_events_append_only()""",
            """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
                FOR EACH STATEMENT EXECUTE FUNCTION juece_events_append_only()""",
        ),
    ),
    Migration(2, "public comments and dispositions", sqlite=_COMMENTS_DDL["sqlite"], postgresql=_COMMENTS_DDL["postgresql"]),
    Migration(3, "credentials, API tokens, web sessions and the security log", sqlite=CREDENTIALS_DDL["sqlite"],
              postgresql=CREDENTIALS_DDL["postgresql"]),
)

_LEDGER = {
    "sqlite": """CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)""",
    "postgresql": """CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
}


def _applied(conn: Connection) -> dict[int, str]:
    return {int(v): s for v, s in conn.exec_driver_sql("SELECT version, sha256 FROM schema_migrations")}


def migrate(engine: Engine, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every pending migration in order; returns the versions applied now (empty when up to date)."""
    dialect = "sqlite" if is_sqlite(engine) else "postgresql"
    done: list[int] = []
    with write_transaction(engine) as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7136001)")  # one migrator at a time
        if not inspect(conn).has_table("schema_migrations"):  # the app role may not CREATE, even IF NOT EXISTS
            conn.exec_driver_sql(_LEDGER[dialect])
        applied = _applied(conn)
        for m in migrations:
            if m.version in applied:
                if applied[m.version] != m.digest(dialect):
                    raise IntegrityFailure(
                        f"schema migration {m.version} ({m.name}) was changed after it was applied; "
                        "a change is a new migration",
                        code="migration-edited",
                    )
                continue
            for sql in m.statements(dialect):
                conn.exec_driver_sql(sql)
            conn.execute(
                text(
                    "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (:v, :n, :s, "
                    + ("datetime('now'))" if dialect == "sqlite" else "now())")
                ),
                {"v": m.version, "n": m.name, "s": m.digest(dialect)},
            )
            done.append(m.version)
    return done


def schema_version(engine: Engine) -> int:
    """The highest applied migration (0 for an empty database)."""
    if not inspect(engine).has_table("schema_migrations"):
        return 0
    with engine.connect() as conn:
        return max(_applied(conn), default=0)


def app_role_grants(role: str, schema: str = "public") -> list[str]:
    """PostgreSQL grants for the application's role: read and append the history, nothing else.

    Run as the schema owner after `migrate`. Without UPDATE, DELETE and TRUNCATE the database itself refuses to
    rewrite the record, even were the trigger dropped; the owner role is kept for migrations only.
    """
    for name in (role, schema):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain identifier: {name!r}")
    return [
        f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
        f'GRANT SELECT, INSERT ON "{schema}".events TO {role}',
        f'GRANT SELECT ON "{schema}".schema_migrations TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".events FROM {role}',
        f'GRANT SELECT, INSERT ON "{schema}".comments, "{schema}".dispositions TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".comments, "{schema}".dispositions FROM {role}',
        # credentials, tokens and sessions change (a new password, a revoked token, an ended session); the security
        # log, like the history, is only ever appended to.
        f'GRANT SELECT, INSERT, UPDATE ON "{schema}".credentials, "{schema}".api_tokens, "{schema}".web_sessions TO {role}',
        f'GRANT SELECT, INSERT ON "{schema}".security_log TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".security_log FROM {role}',
    ]

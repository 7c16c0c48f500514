"""Schema migrations: alembic revisions (versions/) from the SQLModel classes of models/tables.py, one list for both
backends; never `create_all` on a live database.

`migrate` applies every pending revision in order, in one transaction that holds the migration lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: an advisory lock), on the caller's engine. tests/test_migrations.py holds the migrated schema
equal to the models (alembic's comparison) on both backends, fresh and upgraded.

Before alembic, a hand-written runner applied schema migrations 1–3 and recorded them in `schema_migrations` with
the sha256 of each one's SQL. Revisions 0001–0003 are those migrations; a workspace the old runner made is adopted
in place: its ledger must hold exactly the migrations (and digests) that runner shipped, and alembic then starts
from the matching revision. The old ledger is left as it was (it records when the workspace was created).

A new table or column: add or change the class in models/tables.py, then write the revision (autogenerate drafts
it; add any trigger by hand) and run the tests::

    python -c "from alembic import command; from models.migrations import config; \\
               command.revision(config('sqlite:////tmp/draft.db'), 'what changes', autogenerate=True)"

(after `juece --home /tmp/x init` has brought /tmp/draft.db to the current head).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from models.db import is_sqlite, write_transaction
from policies.errors import IntegrityFailure

HERE = Path(__file__).resolve().parent
LEGACY_LEDGER = "schema_migrations"

# What the hand-written runner shipped: version -> (the alembic revision it became, sha256 of its SQL per backend).
_LEGACY: dict[int, tuple[str, dict[str, str]]] = {
    1: ("0001", {"sqlite": "26b6aa644fd864845338a274179ceaeeb12a9487aaaee2d8a36bf7457ccfe55f",
                 "postgresql": "fa0ae2860c20ecc52ed5d0bc71a71f44031d82c89209151cdbaffcc2a268915b"}),
    2: ("0002", {"sqlite": "5569276bcab8ea0dbcb3b99b96fb25122b5c37e3626ce4c67550b283b192b2b6",
                 "postgresql": "722373dfacebfab89297712e85ed6692906362b9d0e756ba75470876c2aa5373"}),
    3: ("0003", {"sqlite": "983ebbf731ecbfed51ebb569b989abf3e7b591b396d26fad002abd0fee834b0e",
                 "postgresql": "d3c4f6d7456683965d3e58e52af8b8ecc2a6f3625c4238db34b1bf2f62f67d9d"}),
}


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """What alembic compares with the models: everything but the old runner's ledger."""
    return not (type_ == "table" and name == LEGACY_LEDGER)


def config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An alembic configuration for this folder (no alembic.ini: the product ships none)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision."""
    rev = ScriptDirectory.from_config(config()).get_current_head()
    assert rev is not None
    return rev


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _adopt_legacy(conn: Connection, dialect: str) -> str | None:
    """The revision a workspace of the old runner is at (None: not such a workspace); refuses an unknown ledger."""
    if not inspect(conn).has_table(LEGACY_LEDGER):
        return None
    applied = {int(v): s for v, s in conn.exec_driver_sql(f"SELECT version, sha256 FROM {LEGACY_LEDGER}")}
    if not applied:
        return None
    top = max(applied)
    for version in range(1, top + 1):
        known = _LEGACY.get(version)
        if known is None or applied.get(version) != known[1][dialect]:
            raise IntegrityFailure(
                f"schema migration {version} of this database is not one juece shipped (the ledger "
                f"`{LEGACY_LEDGER}` holds {sorted(applied)}); it cannot be upgraded in place",
                code="migration-edited",
            )
    return _LEGACY[top][0]


def migrate(engine: Engine) -> list[str]:
    """Apply every pending revision in order; returns the revisions applied now (empty when up to date)."""
    dialect = "sqlite" if is_sqlite(engine) else "postgresql"
    target = head()
    with write_transaction(engine) as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7136001)")  # one migrator at a time
        current = _current(conn)
        if current == target:
            return []
        if current is None:
            current = _adopt_legacy(conn, dialect)
            if current is not None:
                command.stamp(config(connection=conn), current)
        script = ScriptDirectory.from_config(config())
        pending = [s.revision for s in script.iterate_revisions(target, current or "base")]
        command.upgrade(config(connection=conn), target)
    return pending[::-1]


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database or one alembic has not adopted yet)."""
    with engine.connect() as conn:
        return _current(conn)


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
        f'GRANT SELECT ON "{schema}".alembic_version TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".events FROM {role}',
        f'GRANT SELECT, INSERT ON "{schema}".comments, "{schema}".dispositions TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".comments, "{schema}".dispositions FROM {role}',
        # credentials, tokens and sessions change (a new password, a revoked token, an ended session); the security
        # log, like the history, is only ever appended to.
        f'GRANT SELECT, INSERT, UPDATE ON "{schema}".credentials, "{schema}".api_tokens, "{schema}".web_sessions TO {role}',
        f'GRANT SELECT, INSERT ON "{schema}".security_log TO {role}',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".security_log FROM {role}',
        # the outbox: a row per record (INSERT, in the record's transaction) that `juece worker` marks delivered.
        f'GRANT SELECT, INSERT, UPDATE ON "{schema}".outbox TO {role}',
    ]

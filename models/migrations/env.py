"""alembic's environment for the case store: the target is models/tables.py's metadata.

`models.migrations.migrate` runs it on a connection it holds in a write transaction (`config.attributes
["connection"]`); for `alembic revision --autogenerate` (models/migrations/__init__.py says how) it connects to
`sqlalchemy.url` itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from models.migrations import include_name
from models.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


conn = config.attributes.get("connection")
if conn is not None:
    _run(conn)
else:
    from models.db import make_engine, write_transaction

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with write_transaction(engine) as c:
        _run(c)
    engine.dispose()

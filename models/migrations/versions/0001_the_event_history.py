"""The event history: the append-only, hash-chained `events` table (schema migration 1 before alembic).

Revision ID: 0001
Revises:
Create Date: 2025-08-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "juece: the event history is append-only (ARC-03, 档案法 art. 21)"


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=True),
                  primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        sa.UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_type", "events", ["type"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"""CREATE TRIGGER events_no_{verb} BEFORE {verb.upper()} ON events
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""")
    else:
        op.execute(f"""CREATE OR REPLACE FUNCTION juece_events_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION juece_events_append_only()""")
        op.execute("""CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION juece_events_append_only()""")


def downgrade() -> None:
    raise NotImplementedError("the history is never dropped (ARC-03)")

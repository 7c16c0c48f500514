"""Public comments and their dispositions, append-only like the history (schema migration 2 before alembic).

Revision ID: 0002
Revises: 0001
Create Date: 2025-09-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = "juece: public comments and their dispositions are append-only (ARC-03, 档案法 art. 21)"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=True),
                     primary_key=True)


def upgrade() -> None:
    op.create_table(
        "comments",
        _id(),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("import_id", sa.String(64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(300), nullable=False),
        sa.Column("author", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("norm_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=False),
        sa.UniqueConstraint("case_id", "row_hash", name="uq_comments_case_row"),
    )
    op.create_index("ix_comments_case_cluster", "comments", ["case_id", "cluster"])
    op.create_table(
        "dispositions",
        _id(),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("target", sa.String(40), nullable=False),
        sa.Column("disposition", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.CheckConstraint("disposition IN ('adopted', 'partly-adopted', 'not-adopted')"),
    )
    op.create_index("ix_dispositions_case_target", "dispositions", ["case_id", "target"])
    tables = ("comments", "dispositions")
    if op.get_bind().dialect.name == "sqlite":
        for table in tables:
            for verb in ("update", "delete"):
                op.execute(f"""CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""")
        return
    op.execute(f"""CREATE OR REPLACE FUNCTION juece_comments_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
    for table in tables:
        op.execute(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION juece_comments_append_only()""")
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION juece_comments_append_only()""")


def downgrade() -> None:
    raise NotImplementedError("public comments are part of the record; they are never dropped (ARC-03)")

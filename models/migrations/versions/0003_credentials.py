"""Credentials, API tokens, web sessions and the append-only security log (schema migration 3 before alembic).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "juece: the security log is append-only (GB/T 22239-2019 安全审计)"


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("previous_hashes", sa.Text(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.String(40), nullable=True),
        sa.Column("password_set_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(12), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("issued_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("last_seen", sa.String(40), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
    )
    op.create_table(
        "security_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=True),
                  primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("account", sa.String(300), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_security_log_kind_at", "security_log", ["kind", "at"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"""CREATE TRIGGER security_log_no_{verb} BEFORE {verb.upper()} ON security_log
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""")
        return
    op.execute(f"""CREATE OR REPLACE FUNCTION juece_security_log_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
    op.execute("""CREATE TRIGGER security_log_append_only BEFORE UPDATE OR DELETE ON security_log
        FOR EACH ROW EXECUTE FUNCTION juece_security_log_append_only()""")
    op.execute("""CREATE TRIGGER security_log_no_truncate BEFORE TRUNCATE ON security_log
        FOR EACH STATEMENT EXECUTE FUNCTION juece_security_log_append_only()""")


def downgrade() -> None:
    raise NotImplementedError("the security log is append-only; it is never dropped")

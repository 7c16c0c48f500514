"""Every table of the case store, each defined once, as a SQLModel class (storage only: the domain never sees them).

These classes are the schema. The DDL for both backends and the alembic revisions (models/migrations/versions/) come
from their metadata, and tests/test_migrations.py holds the migrated database of either backend — fresh, or an old
workspace upgraded in place — equal to it (alembic's own comparison). The runtime paths use SQLAlchemy Core on each
class's `__table__` (`EVENTS`, `COMMENTS`, … below), never the ORM: its bookkeeping cost 7–40× on appends and
replays here (ARCHITECTURE.md).

What the metadata cannot say is kept beside it, in the revisions: the append-only triggers (events, comments,
dispositions, security_log refuse UPDATE and DELETE; on PostgreSQL TRUNCATE too) and, on PostgreSQL, the grants
(models/migrations: `app_role_grants`). A new table is one more class here and one more revision.

Identity columns: `BIGINT GENERATED ALWAYS AS IDENTITY` on PostgreSQL; on SQLite an `INTEGER PRIMARY KEY` (the rowid),
with AUTOINCREMENT where a number must never be reused (the history's positions, the security log).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from policies.limits import ACTOR_COLUMN, CASE_ID_COLUMN, KEY_COLUMN  # the checks of identifiers read the same sizes

metadata = SQLModel.metadata


def _identity(name: str) -> Column[int]:
    """An identity primary key: BIGINT GENERATED ALWAYS AS IDENTITY (PostgreSQL), INTEGER PRIMARY KEY (SQLite)."""
    return Column(name, BigInteger().with_variant(Integer(), "sqlite"), Identity(always=True), primary_key=True)


class EventRow(SQLModel, table=True):
    """One stored event of the append-only, hash-chained history (models/store.py)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
        {"sqlite_autoincrement": True},
    )

    position: int | None = Field(default=None, sa_column=_identity("position"))
    case_id: str = Field(max_length=CASE_ID_COLUMN)
    seq: int
    type: str = Field(index=True, max_length=64)
    schema_version: int
    recorded_at: str = Field(max_length=40)
    actor: str = Field(max_length=ACTOR_COLUMN)
    role: str = Field(max_length=32)
    idempotency_key: str = Field(max_length=KEY_COLUMN)
    body: bytes = Field(sa_type=LargeBinary)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class CommentRow(SQLModel, table=True):
    """One public comment as imported (models/comments.py)."""

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("case_id", "row_hash", name="uq_comments_case_row"),
        Index("ix_comments_case_cluster", "case_id", "cluster"),
    )

    id: int | None = Field(default=None, sa_column=_identity("id"))
    case_id: str = Field(max_length=64)
    import_id: str = Field(max_length=64)
    line: int
    submitted_at: str = Field(max_length=40)
    channel: str = Field(max_length=300)
    author: str = Field(max_length=300)
    text: str = Field(sa_type=Text)
    norm_hash: str = Field(max_length=64)
    row_hash: str = Field(max_length=64)
    late: bool = Field(sa_type=Boolean)
    cluster: int


class DispositionRow(SQLModel, table=True):
    """How one comment or one cluster was handled (采纳 / 部分采纳 / 不予采纳), with the reason — a copy of a
    `comment-disposed` record, in the order recorded."""

    __tablename__ = "dispositions"
    __table_args__ = (
        Index("ix_dispositions_case_target", "case_id", "target"),
        CheckConstraint("disposition IN ('adopted', 'partly-adopted', 'not-adopted')"),
    )

    id: int | None = Field(default=None, sa_column=_identity("id"))
    case_id: str = Field(max_length=64)
    target: str = Field(max_length=40)
    disposition: str = Field(max_length=20)
    reason: str = Field(sa_type=Text)
    recorded_at: str = Field(max_length=40)
    actor: str = Field(max_length=300)


class CredentialRow(SQLModel, table=True):
    """One account's password state (models/credentials.py); kept out of the history on purpose."""

    __tablename__ = "credentials"

    name: str = Field(primary_key=True, max_length=300)
    password_hash: str = Field(sa_type=Text)
    previous_hashes: str = Field(sa_type=Text)  # JSON list, newest first, at most the last five
    failed_count: int
    locked_until: str | None = Field(default=None, max_length=40)
    password_set_at: str = Field(max_length=40)


class ApiTokenRow(SQLModel, table=True):
    """The hash of one API token, its owner and whether it was revoked."""

    __tablename__ = "api_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    token_id: str = Field(max_length=12)
    name: str = Field(max_length=300)
    issued_at: str = Field(max_length=40)
    revoked_at: str | None = Field(default=None, max_length=40)


class WebSessionRow(SQLModel, table=True):
    """A server-side web session, shared by every `juece web` instance on the store."""

    __tablename__ = "web_sessions"

    session_hash: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=300)
    csrf: str = Field(max_length=64)
    created_at: str = Field(max_length=40)
    last_seen: str = Field(max_length=40)
    ended: bool = Field(sa_type=Boolean)
    address: str = Field(max_length=100)


class SecurityLogRow(SQLModel, table=True):
    """One line of the append-only security log (GB/T 22239-2019 安全审计)."""

    __tablename__ = "security_log"
    __table_args__ = (Index("ix_security_log_kind_at", "kind", "at"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, sa_column=_identity("id"))
    at: str = Field(max_length=40)
    kind: str = Field(max_length=40)
    account: str = Field(max_length=300)
    address: str = Field(max_length=100)
    detail: str = Field(sa_type=Text)


class OutboxRow(SQLModel, table=True):
    """One record of the history waiting to be mirrored into Prefect (flows/orchestration/mirror.py).

    Written by `models.store.append` in the same transaction as the record itself, so Prefect never misses one and a
    record never waits for Prefect; `juece worker` sets `delivered_at` once Prefect has the record's event and the
    case's `decision-case` run. Rows are marked, never deleted: the outbox is empty when no row has `delivered_at`
    NULL."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_outbox_case_seq"),
        Index("ix_outbox_pending", "delivered_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=_identity("id"))
    case_id: str = Field(max_length=64)
    seq: int
    type: str = Field(max_length=64)
    recorded_at: str = Field(max_length=40)
    delivered_at: str | None = Field(default=None, max_length=40)


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


EVENTS = _table(EventRow)
COMMENTS = _table(CommentRow)
DISPOSITIONS = _table(DispositionRow)
CREDENTIALS = _table(CredentialRow)
API_TOKENS = _table(ApiTokenRow)
WEB_SESSIONS = _table(WebSessionRow)
SECURITY_LOG = _table(SecurityLogRow)
OUTBOX = _table(OutboxRow)

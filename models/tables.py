"""The schema as SQLModel classes (storage only; the domain never sees them). The runtime paths use SQLAlchemy Core
on the same table (models/store.py) because the ORM's bookkeeping cost 7–40× on appends and replays here, and
importing SQLModel costs a command-line call ~0.1 s; models/migrations.py creates the table. A test checks that the
three agree."""

from __future__ import annotations

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class EventRow(SQLModel, table=True):
    """One stored event of the append-only history."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        UniqueConstraint("idempotency_key", name="uq_events_idempotency_key"),
        {"sqlite_autoincrement": True},
    )

    position: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64)
    seq: int
    type: str = Field(index=True, max_length=64)
    schema_version: int
    recorded_at: str = Field(max_length=40)
    actor: str = Field(max_length=300)
    role: str = Field(max_length=32)
    idempotency_key: str = Field(max_length=128)
    body: bytes = Field(sa_type=LargeBinary)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)

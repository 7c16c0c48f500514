"""Credential material and the security log, kept OUT of the event history on purpose.

The hash-chained history is permanent and travels in archives; a password hash, the last five hashes kept to refuse
reuse, API token hashes, failure counters and sessions must not. So they live in their own tables (models/tables.py, revision 0003):
`credentials` and `api_tokens` may be updated (a new password, a revoked token, a failure count), `web_sessions` are
server-side sessions that several `juece web` instances share, and `security_log` is append-only like the history
(a trigger refuses UPDATE and DELETE) — the 等保 2.0 audit trail of sign-ins, failures, lockouts, grants and token use.
Who held which role when is NOT here: that is in the history (models/account_events.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

# SQLAlchemy and the tables are imported in each function, on first use: `juece record` imports this module (through
# the accounts use cases) but never calls it, and SQLAlchemy's import was a third of that command's time (issue 13).


# --- credentials ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """One account's password state."""

    name: str
    password_hash: str
    previous_hashes: tuple[str, ...]
    failed_count: int
    locked_until: str | None


def get_credential(conn: Connection, name: str) -> Credential | None:
    """The account's password state, if it has one."""
    from sqlalchemy import select

    from models.tables import CREDENTIALS

    r = conn.execute(select(CREDENTIALS).where(CREDENTIALS.c.name == name)).first()
    if r is None:
        return None
    return Credential(r.name, r.password_hash, tuple(orjson.loads(r.previous_hashes)), r.failed_count, r.locked_until)


def set_password_hash(conn: Connection, name: str, password_hash: str, previous: tuple[str, ...], at: str) -> None:
    """Store a new password hash, keeping the previous ones (newest first) for the no-reuse check."""
    from sqlalchemy import insert, update

    from models.tables import CREDENTIALS

    values = dict(password_hash=password_hash, previous_hashes=orjson.dumps(list(previous)).decode(), failed_count=0,
                  locked_until=None, password_set_at=at)
    if conn.execute(update(CREDENTIALS).where(CREDENTIALS.c.name == name).values(**values)).rowcount == 0:
        conn.execute(insert(CREDENTIALS).values(name=name, **values))


def set_failures(conn: Connection, name: str, failed_count: int, locked_until: str | None) -> None:
    """Update the failure counter and lock."""
    from sqlalchemy import update

    from models.tables import CREDENTIALS

    conn.execute(update(CREDENTIALS).where(CREDENTIALS.c.name == name).values(failed_count=failed_count, locked_until=locked_until))


# --- tokens -----------------------------------------------------------------------------------------------------


def add_token(conn: Connection, token_hash: str, token_id: str, name: str, at: str) -> None:
    """Keep a new token's hash."""
    from sqlalchemy import insert

    from models.tables import API_TOKENS

    conn.execute(insert(API_TOKENS).values(token_hash=token_hash, token_id=token_id, name=name, issued_at=at, revoked_at=None))


def token_owner(conn: Connection, token_hash: str) -> tuple[str, str] | None:
    """(account name, token id) of a live token, or None (unknown or revoked)."""
    from sqlalchemy import select

    from models.tables import API_TOKENS

    r = conn.execute(select(API_TOKENS.c.name, API_TOKENS.c.token_id).where(
        API_TOKENS.c.token_hash == token_hash, API_TOKENS.c.revoked_at.is_(None))).first()
    return (r[0], r[1]) if r else None


def revoke_tokens(conn: Connection, name: str, at: str) -> int:
    """Revoke every live token of an account; how many."""
    from sqlalchemy import update

    from models.tables import API_TOKENS

    return conn.execute(update(API_TOKENS).where(API_TOKENS.c.name == name, API_TOKENS.c.revoked_at.is_(None)).values(revoked_at=at)).rowcount


# --- sessions ---------------------------------------------------------------------------------------------------


def add_session(conn: Connection, session_hash: str, name: str, csrf: str, at: str, address: str) -> None:
    """Keep a new server-side session."""
    from sqlalchemy import insert

    from models.tables import WEB_SESSIONS

    conn.execute(insert(WEB_SESSIONS).values(session_hash=session_hash, name=name, csrf=csrf, created_at=at, last_seen=at,
                                             ended=False, address=address))


def get_session(conn: Connection, session_hash: str) -> dict[str, Any] | None:
    """A live (not ended) session row."""
    from sqlalchemy import select

    from models.tables import WEB_SESSIONS

    r = conn.execute(select(WEB_SESSIONS).where(WEB_SESSIONS.c.session_hash == session_hash, WEB_SESSIONS.c.ended.is_(False))).first()
    return dict(r._mapping) if r else None


def touch_session(conn: Connection, session_hash: str, at: str) -> None:
    """Note activity on a session (the idle timeout counts from here)."""
    from sqlalchemy import update

    from models.tables import WEB_SESSIONS

    conn.execute(update(WEB_SESSIONS).where(WEB_SESSIONS.c.session_hash == session_hash).values(last_seen=at))


def end_sessions(conn: Connection, *, session_hash: str | None = None, name: str | None = None) -> None:
    """End one session, or every session of an account."""
    from sqlalchemy import and_, update

    from models.tables import WEB_SESSIONS

    cond = WEB_SESSIONS.c.session_hash == session_hash if session_hash else WEB_SESSIONS.c.name == name
    conn.execute(update(WEB_SESSIONS).where(and_(cond, WEB_SESSIONS.c.ended.is_(False))).values(ended=True))


# --- the security log -------------------------------------------------------------------------------------------


def log_security(conn: Connection, at: str, kind: str, account: str, address: str, detail: str = "") -> None:
    """Append one line to the security log."""
    from sqlalchemy import insert

    from models.tables import SECURITY_LOG

    conn.execute(insert(SECURITY_LOG).values(at=at, kind=kind, account=account, address=address, detail=detail))


def count_security(conn: Connection, kind: str, since: str, *, address: str | None = None, account: str | None = None) -> int:
    """How many lines of a kind since a moment, for an address or an account (sign-in throttling)."""
    from sqlalchemy import func, select

    from models.tables import SECURITY_LOG

    q = select(func.count()).select_from(SECURITY_LOG).where(SECURITY_LOG.c.kind == kind, SECURITY_LOG.c.at >= since)
    if address is not None:
        q = q.where(SECURITY_LOG.c.address == address)
    if account is not None:
        q = q.where(SECURITY_LOG.c.account == account)
    return int(conn.execute(q).scalar_one())


def read_security_log(conn: Connection, *, limit: int = 200, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest lines first."""
    from sqlalchemy import select

    from models.tables import SECURITY_LOG

    q = select(SECURITY_LOG).order_by(SECURITY_LOG.c.id.desc()).limit(limit)
    if kind:
        q = q.where(SECURITY_LOG.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(q)]

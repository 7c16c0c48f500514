"""Signing in (口令, 登录失败处理), server-side sessions, API tokens in use, signing out, and the security log
(GB/T 22239-2019 8.1.4.1 and 8.1.4.3). Security state runs on the real clock, never a simulated one."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flows.usecases.accounts import accounts_now
from flows.usecases.clock import system_now
from flows.usecases.passwords import POLICY, PasswordPolicy, hasher, security_stamp, token_hash
from flows.usecases.read_model import read_model_of
from flows.usecases.workspace import Workspace
from models import credentials as cred
from models.db import read_transaction, write_transaction
from models.store import utc_text
from policies.errors import RuleRefusal
from policies.findings import Finding
from policies.rules.auth import Standing


# --- signing in -------------------------------------------------------------------------------------------------

_DUMMY_HASH: str | None = None
SIGN_IN_REFUSED = ("名称或口令不正确，或账号因多次失败暂被锁定 — the name or password is not right, or the account is "
                   "locked for a while after repeated failures")


def _dummy() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hasher().hash(secrets.token_hex(16))
    return _DUMMY_HASH


@dataclass(frozen=True)
class OpenedSession:
    """A new server-side session: the secret for the cookie (kept only as a hash), its CSRF token, the account."""

    secret: str
    csrf: str
    account: Standing


def sign_in(ws: Workspace, name: str, password: str, address: str, policy: PasswordPolicy = POLICY) -> OpenedSession:
    """Check a name and password and open a session. Unknown name, wrong password, locked or disabled account all get
    the same answer (`Unauthenticated`); too many failures from one address get `Throttled`."""
    from argon2.exceptions import InvalidHashError, VerificationError

    from policies.errors import Throttled, Unauthenticated

    name = name.strip()[:300]
    moment = system_now()
    at = utc_text(moment)
    with read_transaction(ws.engine) as conn:
        since = utc_text(moment - timedelta(minutes=policy.address_window_minutes))
        recent = cred.count_security(conn, "signin-failed", since, address=address)
        c = cred.get_credential(conn, name)
        account = (accounts_now(conn) or {}).get(name)
    if recent >= policy.address_failures:
        with write_transaction(ws.engine) as conn:
            cred.log_security(conn, at, "signin-throttled", name, address)
        raise Throttled(f"too many failed sign-ins from this address; wait {policy.address_window_minutes} minutes "
                        "(登录尝试过于频繁，请稍后再试)", retry_after=policy.address_window_minutes * 60)
    try:
        # The hash is verified even for an unknown name, so timing does not tell names apart either.
        ok = hasher().verify(c.password_hash if c else _dummy(), password) and c is not None
    except (VerificationError, InvalidHashError):
        ok = False
    locked = bool(c and c.locked_until and c.locked_until > at)
    if ok and not locked and account is not None and account.active:
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with write_transaction(ws.engine) as conn:
            cred.set_failures(conn, name, 0, None)
            cred.add_session(conn, token_hash(secret), name, csrf, at, address)
            cred.log_security(conn, at, "signin", name, address)
        return OpenedSession(secret, csrf, account)
    with write_transaction(ws.engine) as conn:
        reason = "locked" if locked else ("disabled" if account is not None and not account.active and ok else "bad credentials")
        cred.log_security(conn, at, "signin-failed", name, address, reason)
        if c is not None and not locked:
            failures = c.failed_count + (0 if ok else 1)
            if failures >= policy.max_failures:
                until = utc_text(moment + timedelta(minutes=policy.lock_minutes))
                cred.set_failures(conn, name, 0, until)
                cred.log_security(conn, at, "lockout", name, address, f"after {failures} failures; until {until}")
            else:
                cred.set_failures(conn, name, failures, None)
    raise Unauthenticated(SIGN_IN_REFUSED)


@dataclass(frozen=True)
class SignedIn:
    """Who a request is from: the account as it stands now, the CSRF token of its session (None for a token)."""

    account: Standing
    csrf: str | None
    via: str  # "session" | "token"


def session_account(ws: Workspace, secret: str, idle_minutes: int) -> SignedIn:
    """The account behind a session cookie; an unknown, ended or idle session is `Unauthenticated`."""
    from policies.errors import Unauthenticated

    moment = system_now()
    digest = token_hash(secret)
    with read_transaction(ws.engine) as conn:
        row = cred.get_session(conn, digest)
        account = (read_model_of(ws).accounts(conn) or {}).get(row["name"]) if row else None
    if row is None or account is None:
        raise Unauthenticated("not signed in, or the session ended (请重新登录)")
    idle_since = utc_text(moment - timedelta(minutes=idle_minutes))
    if row["last_seen"] < idle_since:
        with write_transaction(ws.engine) as conn:
            cred.end_sessions(conn, session_hash=digest)
            cred.log_security(conn, utc_text(moment), "session-expired", row["name"], row["address"],
                              f"idle more than {idle_minutes} minutes")
        raise Unauthenticated(f"the session ended after {idle_minutes} minutes without activity (会话超时，请重新登录)")
    if row["last_seen"] < utc_text(moment - timedelta(seconds=30)):  # one write a half-minute, not one per request
        with write_transaction(ws.engine) as conn:
            cred.touch_session(conn, digest, utc_text(moment))
    return SignedIn(account, row["csrf"], "session")


def sign_out(ws: Workspace, secret: str, address: str) -> None:
    """End a session."""
    digest = token_hash(secret)
    with write_transaction(ws.engine) as conn:
        row = cred.get_session(conn, digest)
        if row is not None:
            cred.end_sessions(conn, session_hash=digest)
            cred.log_security(conn, security_stamp(), "signout", row["name"], address)


def token_account(ws: Workspace, token: str, address: str) -> SignedIn:
    """The account behind an API token; an unknown or revoked token is `Unauthenticated`. Each use is logged."""
    from policies.errors import Unauthenticated

    with read_transaction(ws.engine) as conn:
        owner = cred.token_owner(conn, token_hash(token))
        account = (read_model_of(ws).accounts(conn) or {}).get(owner[0]) if owner else None
    if owner is None or account is None:
        raise Unauthenticated("the API token is not valid (unknown or revoked)")
    seen = time.monotonic()
    key = (owner[1], address)
    if seen - _TOKEN_USE_LOGGED.get(key, -1e9) >= TOKEN_USE_LOG_SECONDS:
        _TOKEN_USE_LOGGED[key] = seen
        with write_transaction(ws.engine) as conn:
            cred.log_security(conn, security_stamp(), "token-use", owner[0], address, f"token {owner[1]}")
    return SignedIn(account, None, "token")


# Token use is logged once a minute per token and address in each process: a script polling the API would otherwise
# turn every read into a write (and the security log into noise).
TOKEN_USE_LOG_SECONDS = 60.0
_TOKEN_USE_LOGGED: dict[tuple[str, str], float] = {}


def security_log(ws: Workspace, *, limit: int = 200, kind: str | None = None,
                 reader: Standing | None = None) -> list[dict[str, Any]]:
    """The security log, newest first. Over the web only the auditor and the administrator read it (`reader`); the
    command line is the operator's tool on the server."""
    if reader is not None and not reader.roles & {"auditor", "admin"}:
        f = Finding("ROLE-01", "PROCEDURE.md (d) ROLE-01; GB/T 22239-2019 8.1.4.3 安全审计", "HARD",
                    "the security log (安全审计日志) is read by the auditor (审计) or the administrator.", {})
        raise RuleRefusal(f.sentence(), findings=[f])
    with read_transaction(ws.engine) as conn:
        return cred.read_security_log(conn, limit=limit, kind=kind)

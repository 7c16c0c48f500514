"""Use cases for accounts: add, grant, revoke, disable, issue a token, list — and the checks that an actor is who and
what it claims (AUTH-01).

Who held which role when is history: every account change is an event of the `@workspace` stream (so `audit verify`
can judge each record by the grants as they stood). Credential material — argon2id password hashes, the last five
hashes for the no-reuse rule, token hashes, failure counters — is not: it is kept in its own tables
(models/credentials.py), because the history is permanent and travels in every archive.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping, Sequence

from sqlalchemy import Connection

from flows.usecases.clock import now, system_now
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import credentials as cred
from models import store
from models.account_events import AccountAdded, AccountDisabled, RoleGranted, RoleRevoked, TokenIssued
from models.accounts import AccountsTimeline
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION
from models.store import WORKSPACE_STREAM, NewEvent, utc_text
from models.text import clean_name
from policies.errors import BadInput, RuleRefusal
from policies.findings import Finding
from policies.pack import DEFAULT_PACK, ROLES, PolicyPack, load_pack
from policies.rules import to_finding
from policies.rules.auth import Standing, standing_violation


@dataclass(frozen=True)
class PasswordPolicy:
    """GB/T 22239-2019 (等保 2.0) 8.1.4.1 身份鉴别: 口令具有复杂度要求并定期更换; 登录失败处理 — the defaults here."""

    min_length: int = 12  # 口令长度不少于12位 (common level-3 practice)
    min_classes: int = 3  # of: lower case, upper case, digits, other characters (汉字 and symbols count as other)
    history: int = 5  # the last five passwords may not be used again
    max_failures: int = 5  # 登录失败处理: lock the account after this many failures in a row
    lock_minutes: int = 15
    address_failures: int = 20  # failures from one address within the window before it is throttled
    address_window_minutes: int = 15


POLICY = PasswordPolicy()
_hasher: Any = None


def _ph() -> Any:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher  # argon2id by default

        _hasher = PasswordHasher()
    return _hasher


def _stamp() -> str:
    # Security state (locks, sessions, token use) runs on the real clock even in a simulated workspace: a lockout
    # measured on a training clock that stands still would never end.
    return utc_text(system_now())


def password_problems(password: str, policy: PasswordPolicy = POLICY) -> list[str]:
    """What is wrong with a new password under the policy (empty when it is acceptable)."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"at least {policy.min_length} characters (口令长度不少于{policy.min_length}位)")
    classes = sum((
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c.isdigit() for c in password),
        any(not (c.isascii() and c.isalnum()) for c in password),
    ))
    if classes < policy.min_classes:
        problems.append(f"at least {policy.min_classes} of: lower case, upper case, digits, other characters "
                        "(大小写字母、数字、其他字符中至少三类)")
    if any(c in "\r\n\t" for c in password):
        problems.append("no line breaks or tabs")
    return problems


def generated_password() -> str:
    """A one-time password that meets the policy (shown once)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        p = "".join(secrets.choice(alphabet) for _ in range(14)) + secrets.choice("-_.!@#")
        if not password_problems(p):
            return p


def _token_hash(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a plain sha256 is a safe store (no dictionary to run against it).
    return hashlib.sha256(token.encode()).hexdigest()


# --- who is acting ----------------------------------------------------------------------------------------------


def accounts_now(conn: Connection) -> Mapping[str, Standing] | None:
    """The accounts as they stand (None when the workspace has none)."""
    return AccountsTimeline(read_facts(conn).events).now


def _refuse(pack: PolicyPack, v: Any) -> RuleRefusal:
    f = to_finding(pack, v)
    return RuleRefusal(f.sentence(), findings=[f])


def authorise(conn: Connection, actor: Actor, what: str, pack: PolicyPack | None = None) -> None:
    """AUTH-01 now: once the workspace has accounts, the actor must be an active account holding its role."""
    v = standing_violation(accounts_now(conn), actor.name, actor.role, what)
    if v is not None:
        raise _refuse(pack or load_pack(DEFAULT_PACK), v)


def authorise_actor(ws: Workspace, actor: Actor, what: str = "act") -> None:
    """AUTH-01 for the command line's `--as ROLE:NAME` (exit 3 naming the rule when it does not hold)."""
    with read_transaction(ws.engine) as conn:
        authorise(conn, actor, what)


def _admin_gate(conn: Connection, actor: Actor, event: str) -> PolicyPack:
    pack = load_pack(DEFAULT_PACK)
    roles, article = pack.roles_for(event)
    if actor.role not in roles:
        f = Finding("ROLE-01", article or "PROCEDURE.md (d) ROLE-01", "HARD",
                    f"a {actor.role} cannot manage accounts (`{event}`); an administrator (admin, 系统管理员) does.", {})
        raise RuleRefusal(f.sentence(), findings=[f])
    authorise(conn, actor, "manage accounts", pack)
    return pack


def acting_role(ws: Workspace, account: Standing, event: str, case_id: str | None = None) -> Actor:
    """Over the web the actor is the signed-in account; its role is the one of its roles the pack allows for the
    event (the case's pinned pack, or the newest default pack for a launch). None of them: ROLE-01."""
    if case_id is not None:
        pack = pinned_pack(ws, case_id)
    else:
        pack = load_pack(DEFAULT_PACK)
    roles, article = pack.roles_for(event)
    for role in roles:
        if role in account.roles:
            return Actor(role, account.name)
    held = ", ".join(sorted(account.roles)) or "none"
    f = Finding("ROLE-01", article or "PROCEDURE.md (d) ROLE-01", "HARD",
                f"the account {account.name!r} (roles: {held}) cannot record `{event}`; under the {pack.id} pack it is "
                f"recorded by: {', '.join(roles) or 'nobody (recorded by the engine itself)'}.", {"event": event})
    raise RuleRefusal(f.sentence(), findings=[f])


def pinned_pack(ws: Workspace, case_id: str) -> PolicyPack:
    """The pack a case pinned at launch, read from its first event alone (no replay: a web request asks this before
    the record's own transaction replays the case)."""
    from flows.usecases.cases import pack_of
    from models.state import launch_state
    from policies.errors import UnknownCase

    with read_transaction(ws.engine) as conn:
        first = store.first_event(conn, case_id)
    if first is None or first.type != "case-launched":
        raise UnknownCase(f"there is no case {case_id!r} in this workspace (see `juece case list`)", case_id=case_id)
    return pack_of(launch_state(first))


# --- managing accounts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    """One row of `user list`."""

    name: str
    roles: tuple[str, ...]
    active: bool
    locked: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "roles": list(self.roles), "active": self.active, "locked": self.locked}


def _clean(name: str, field: str = "NAME") -> str:
    try:
        return clean_name(name)
    except ValueError as exc:
        raise BadInput(f"the account name {exc}", field=field) from exc


def _role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"there is no role {role!r}; roles: {', '.join(ROLES)}", field="ROLE")
    return role


def _append(conn: Connection, actor: Actor, pack: PolicyPack, event: str, payload: Any, key: str) -> None:
    facts = read_facts(conn)
    store.append(conn, WORKSPACE_STREAM, list(facts.events),
                 [NewEvent(event, SCHEMA_VERSION, payload.model_dump(mode="json"), actor.label, actor.role, key,
                           pack.id, pack.hash)], now(facts))


def _existing(conn: Connection, name: str) -> Standing:
    accounts = accounts_now(conn) or {}
    if name not in accounts:
        raise BadInput(f"there is no account {name!r} (see `juece user list`)", field="NAME")
    return accounts[name]


def add_account(ws: Workspace, actor: Actor, name: str, roles: Sequence[str], password: str | None = None,
                *, address: str = "cli") -> tuple[AccountView, str | None]:
    """An account for a person; returns it and the one-time password when none was given (shown once)."""
    name = _clean(name)
    roles = tuple(dict.fromkeys(_role(r) for r in roles))
    if not roles:
        raise BadInput("give the account at least one --role", field="--role")
    shown = None
    if password is None:
        password = shown = generated_password()
    elif problems := password_problems(password):
        raise BadInput("the password does not meet the policy (口令复杂度): " + "; ".join(problems), field="--password-stdin")
    digest = _ph().hash(password)  # outside the write lock: argon2id takes tens of milliseconds on purpose
    with write_transaction(ws.engine) as conn:
        pack = _admin_gate(conn, actor, "account-added")
        if name in (accounts_now(conn) or {}):
            raise BadInput(f"there is already an account {name!r}; change its roles with `juece user grant|revoke`",
                           field="NAME")
        _append(conn, actor, pack, "account-added", AccountAdded(name=name, roles=roles), f"account-added:{name}")
        at = _stamp()
        cred.set_password_hash(conn, name, digest, (), at)
        cred.log_security(conn, at, "account-added", name, address, f"by {actor.label}; roles {', '.join(roles)}")
    return AccountView(name, roles, True), shown


def _change(ws: Workspace, actor: Actor, name: str, event: str, payload_of: Any, address: str) -> AccountView:
    name = _clean(name)
    with write_transaction(ws.engine) as conn:
        pack = _admin_gate(conn, actor, event)
        before = _existing(conn, name)
        payload = payload_of(name, before)
        if payload is not None:
            _append(conn, actor, pack, event, payload, f"{event}:{name}:{secrets.token_hex(8)}")
            at = _stamp()
            if event == "account-disabled":
                cred.end_sessions(conn, name=name)
                cred.revoke_tokens(conn, name, at)
            detail = f"by {actor.label}" + (f"; role {payload.role}" if hasattr(payload, "role") else "")
            cred.log_security(conn, at, event, name, address, detail)
        after = (accounts_now(conn) or {})[name]
    return AccountView(after.name, tuple(sorted(after.roles)), after.active)


def grant_role(ws: Workspace, actor: Actor, name: str, role: str, *, address: str = "cli") -> AccountView:
    """Grant a role (recorded; granting a role already held changes nothing)."""
    role = _role(role)
    return _change(ws, actor, name, "role-granted",
                   lambda n, a: None if role in a.roles else RoleGranted(name=n, role=role), address)


def revoke_role(ws: Workspace, actor: Actor, name: str, role: str, *, address: str = "cli") -> AccountView:
    """Revoke a role (recorded; revoking a role not held changes nothing)."""
    role = _role(role)
    return _change(ws, actor, name, "role-revoked",
                   lambda n, a: RoleRevoked(name=n, role=role) if role in a.roles else None, address)


def disable_account(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> AccountView:
    """Disable an account (recorded): its sessions end and its tokens are revoked at once."""
    return _change(ws, actor, name, "account-disabled",
                   lambda n, a: AccountDisabled(name=n) if a.active else None, address)


def issue_token(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> tuple[str, str]:
    """An API token for an account: (token, its public id). The token is shown once and kept only as a hash."""
    name = _clean(name)
    token = "jc_" + secrets.token_urlsafe(32)
    digest = _token_hash(token)
    token_id = digest[:12]
    with write_transaction(ws.engine) as conn:
        pack = _admin_gate(conn, actor, "token-issued")
        account = _existing(conn, name)
        if not account.active:
            raise BadInput(f"the account {name!r} is disabled; it gets no token", field="NAME")
        _append(conn, actor, pack, "token-issued", TokenIssued(name=name, token_id=token_id), f"token-issued:{token_id}")
        at = _stamp()
        cred.add_token(conn, digest, token_id, name, at)
        cred.log_security(conn, at, "token-issued", name, address, f"by {actor.label}; token {token_id}")
    return token, token_id


def revoke_tokens(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> int:
    """Revoke every token of an account (noted in the security log); how many were live."""
    name = _clean(name)
    with write_transaction(ws.engine) as conn:
        _admin_gate(conn, actor, "token-issued")
        _existing(conn, name)
        at = _stamp()
        n = cred.revoke_tokens(conn, name, at)
        cred.log_security(conn, at, "token-revoked", name, address, f"by {actor.label}; {n} token(s)")
    return n


def list_accounts(ws: Workspace) -> list[AccountView]:
    """Every account, with its roles, whether it is active, and whether it is locked after failed sign-ins."""
    with read_transaction(ws.engine) as conn:
        accounts = accounts_now(conn) or {}
        stamp = _stamp()
        out = []
        for a in accounts.values():
            c = cred.get_credential(conn, a.name)
            locked = bool(c and c.locked_until and c.locked_until > stamp)
            out.append(AccountView(a.name, tuple(sorted(a.roles)), a.active, locked))
    return out


def has_accounts(ws: Workspace) -> bool:
    """Whether the workspace has any account (then every actor must be one)."""
    with read_transaction(ws.engine) as conn:
        return bool(accounts_now(conn))


def change_password(ws: Workspace, name: str, old: str, new: str, *, address: str = "web",
                    policy: PasswordPolicy = POLICY) -> None:
    """A signed-in person changes their password: the policy holds and none of the last five may return."""
    from argon2.exceptions import VerificationError

    if problems := password_problems(new, policy):
        raise BadInput("the new password does not meet the policy (口令复杂度): " + "; ".join(problems), field="new_password")
    digest = _ph().hash(new)
    with write_transaction(ws.engine) as conn:
        c = cred.get_credential(conn, name)
        if c is None:
            raise BadInput("this account has no password to change", field="old_password")
        try:
            _ph().verify(c.password_hash, old)
        except VerificationError as exc:
            raise BadInput("the current password is not right", field="old_password") from exc
        for h in (c.password_hash, *c.previous_hashes[: policy.history - 1]):
            try:
                if _ph().verify(h, new):
                    raise BadInput(f"the new password was used before; none of the last {policy.history} may be used "
                                   "again (不得重复使用最近五次口令)", field="new_password")
            except VerificationError:
                pass
        at = _stamp()
        cred.set_password_hash(conn, name, digest, (c.password_hash, *c.previous_hashes)[: policy.history - 1], at)
        cred.log_security(conn, at, "password-changed", name, address)


# --- signing in -------------------------------------------------------------------------------------------------

_DUMMY_HASH: str | None = None
SIGN_IN_REFUSED = ("名称或口令不正确，或账号因多次失败暂被锁定 — the name or password is not right, or the account is "
                   "locked for a while after repeated failures")


def _dummy() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _ph().hash(secrets.token_hex(16))
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
        ok = _ph().verify(c.password_hash if c else _dummy(), password) and c is not None
    except (VerificationError, InvalidHashError):
        ok = False
    locked = bool(c and c.locked_until and c.locked_until > at)
    if ok and not locked and account is not None and account.active:
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with write_transaction(ws.engine) as conn:
            cred.set_failures(conn, name, 0, None)
            cred.add_session(conn, _token_hash(secret), name, csrf, at, address)
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
    digest = _token_hash(secret)
    with read_transaction(ws.engine) as conn:
        row = cred.get_session(conn, digest)
        account = (accounts_now(conn) or {}).get(row["name"]) if row else None
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
    digest = _token_hash(secret)
    with write_transaction(ws.engine) as conn:
        row = cred.get_session(conn, digest)
        if row is not None:
            cred.end_sessions(conn, session_hash=digest)
            cred.log_security(conn, _stamp(), "signout", row["name"], address)


def token_account(ws: Workspace, token: str, address: str) -> SignedIn:
    """The account behind an API token; an unknown or revoked token is `Unauthenticated`. Each use is logged."""
    from policies.errors import Unauthenticated

    with read_transaction(ws.engine) as conn:
        owner = cred.token_owner(conn, _token_hash(token))
        account = (accounts_now(conn) or {}).get(owner[0]) if owner else None
    if owner is None or account is None:
        raise Unauthenticated("the API token is not valid (unknown or revoked)")
    seen = time.monotonic()
    key = (owner[1], address)
    if seen - _TOKEN_USE_LOGGED.get(key, -1e9) >= TOKEN_USE_LOG_SECONDS:
        _TOKEN_USE_LOGGED[key] = seen
        with write_transaction(ws.engine) as conn:
            cred.log_security(conn, _stamp(), "token-use", owner[0], address, f"token {owner[1]}")
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

"""Use cases for accounts: add, grant, revoke, disable, issue a token, list — and the checks that an actor is who and
what it claims (AUTH-01). Signing in and sessions are flows/usecases/sessions.py, passwords flows/usecases/passwords.py.

Who held which role when is history: every account change is an event of the `@workspace` stream (so `audit verify`
can judge each record by the grants as they stood). Credential material — argon2id password hashes, the last five
hashes for the no-reuse rule, token hashes, failure counters — is not: it is kept in its own tables
(models/credentials.py), because the history is permanent and travels in every archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from flows.usecases.clock import now
from flows.usecases.passwords import POLICY, PasswordPolicy, generated_password, hasher, password_problems, security_stamp, token_hash
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import credentials as cred
from models import store
from models.accounts import AccountsTimeline
from models.db import read_transaction, write_transaction
from models.payload_plan import SCHEMA_VERSION
from models.store import WORKSPACE_STREAM, NewEvent
from models.text import clean_name
from policies.errors import BadInput, RuleRefusal
from policies.findings import Finding
from policies.limits import MAX_ACTOR, check_length
from policies.pack import DEFAULT_PACK, ROLES, PolicyPack, load_pack
from policies.rules import to_finding
from policies.rules.auth import Standing, standing_violation

if TYPE_CHECKING:
    from models.db import AnyConnection as Connection


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
    with read_transaction(ws.db) as conn:
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
    from flows.usecases.unit_of_work import pack_of
    from models.state import launch_state
    from policies.errors import UnknownCase

    with read_transaction(ws.db) as conn:
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


# The longest account name that still fits `--as ROLE:NAME` (and the actor column) with the longest role.
MAX_ACCOUNT_NAME = MAX_ACTOR - 1 - max(len(r) for r in ROLES)


def _clean(name: str, field: str = "NAME") -> str:
    try:
        name = clean_name(name)
    except ValueError as exc:
        raise BadInput(f"the account name {exc}", field=field) from exc
    check_length(name, MAX_ACCOUNT_NAME, field, "an account name (so that ROLE:NAME fits)")
    return name


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
    digest = hasher().hash(password)  # outside the write lock: argon2id takes tens of milliseconds on purpose
    with write_transaction(ws.engine) as conn:
        pack = _admin_gate(conn, actor, "account-added")
        if name in (accounts_now(conn) or {}):
            raise BadInput(f"there is already an account {name!r}; change its roles with `juece user grant|revoke`",
                           field="NAME")
        from models.account_events import AccountAdded  # the payload models: only when writing one
        _append(conn, actor, pack, "account-added", AccountAdded(name=name, roles=roles), f"account-added:{name}")
        at = security_stamp()
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
            from secrets import token_hex  # (and the random module it loads) only where a secret is made

            _append(conn, actor, pack, event, payload, f"{event}:{name}:{token_hex(8)}")
            at = security_stamp()
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
    from models.account_events import RoleGranted  # the payload models: only when writing one

    return _change(ws, actor, name, "role-granted",
                   lambda n, a: None if role in a.roles else RoleGranted(name=n, role=role), address)


def revoke_role(ws: Workspace, actor: Actor, name: str, role: str, *, address: str = "cli") -> AccountView:
    """Revoke a role (recorded; revoking a role not held changes nothing)."""
    role = _role(role)
    from models.account_events import RoleRevoked  # the payload models: only when writing one

    return _change(ws, actor, name, "role-revoked",
                   lambda n, a: RoleRevoked(name=n, role=role) if role in a.roles else None, address)


def disable_account(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> AccountView:
    """Disable an account (recorded): its sessions end and its tokens are revoked at once."""
    from models.account_events import AccountDisabled  # the payload models: only when writing one

    return _change(ws, actor, name, "account-disabled",
                   lambda n, a: AccountDisabled(name=n) if a.active else None, address)


def issue_token(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> tuple[str, str]:
    """An API token for an account: (token, its public id). The token is shown once and kept only as a hash."""
    name = _clean(name)
    from secrets import token_urlsafe

    token = "jc_" + token_urlsafe(32)
    digest = token_hash(token)
    token_id = digest[:12]
    with write_transaction(ws.engine) as conn:
        pack = _admin_gate(conn, actor, "token-issued")
        account = _existing(conn, name)
        if not account.active:
            raise BadInput(f"the account {name!r} is disabled; it gets no token", field="NAME")
        from models.account_events import TokenIssued  # the payload models: only when writing one
        _append(conn, actor, pack, "token-issued", TokenIssued(name=name, token_id=token_id), f"token-issued:{token_id}")
        at = security_stamp()
        cred.add_token(conn, digest, token_id, name, at)
        cred.log_security(conn, at, "token-issued", name, address, f"by {actor.label}; token {token_id}")
    return token, token_id


def revoke_tokens(ws: Workspace, actor: Actor, name: str, *, address: str = "cli") -> int:
    """Revoke every token of an account (noted in the security log); how many were live."""
    name = _clean(name)
    with write_transaction(ws.engine) as conn:
        _admin_gate(conn, actor, "token-issued")
        _existing(conn, name)
        at = security_stamp()
        n = cred.revoke_tokens(conn, name, at)
        cred.log_security(conn, at, "token-revoked", name, address, f"by {actor.label}; {n} token(s)")
    return n


def list_accounts(ws: Workspace) -> list[AccountView]:
    """Every account, with its roles, whether it is active, and whether it is locked after failed sign-ins."""
    with read_transaction(ws.engine) as conn:
        accounts = accounts_now(conn) or {}
        stamp = security_stamp()
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
    digest = hasher().hash(new)
    with write_transaction(ws.engine) as conn:
        c = cred.get_credential(conn, name)
        if c is None:
            raise BadInput("this account has no password to change", field="old_password")
        try:
            hasher().verify(c.password_hash, old)
        except VerificationError as exc:
            raise BadInput("the current password is not right", field="old_password") from exc
        for h in (c.password_hash, *c.previous_hashes[: policy.history - 1]):
            try:
                if hasher().verify(h, new):
                    raise BadInput(f"the new password was used before; none of the last {policy.history} may be used "
                                   "again (不得重复使用最近五次口令)", field="new_password")
            except VerificationError:
                pass
        at = security_stamp()
        cred.set_password_hash(conn, name, digest, (c.password_hash, *c.previous_hashes)[: policy.history - 1], at)
        cred.log_security(conn, at, "password-changed", name, address)

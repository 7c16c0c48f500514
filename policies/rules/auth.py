"""AUTH-01: in a workspace with accounts, the actor of every record is an active account that held the event's role
at the moment of recording (PROCEDURE.md (d)).

Pure: the accounts as they stood come in the context (`ctx.standing["accounts"]`, folded from the workspace history
by flows/usecases/moments.py for the live check and the audit alike); `standing_violation` is also what the command line
asks of `--as ROLE:NAME` and what the audit asks of the workspace stream's own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from policies.rules import RuleContext, Violation, gate


@dataclass(frozen=True)
class Standing:
    """One account as it stood at a moment: its name, the roles it held, whether it was active (not disabled)."""

    name: str
    roles: frozenset[str]
    active: bool


def standing_violation(accounts: Mapping[str, Standing] | None, name: str, role: str, what: str) -> Violation | None:
    """AUTH-01 for one actor: None when the workspace had no accounts yet or the account held the role, else why not."""
    if not accounts:
        return None  # a workspace without accounts works as before (PRODUCT.md)
    account = accounts.get(name)
    values = {"actor": f"{role}:{name}", "role": role}
    if account is None:
        return Violation(
            "AUTH-01",
            f"{name!r} is not an account of this workspace, so it cannot {what} as {role} (身份未经登记); "
            "an administrator adds accounts with `juece user add`.",
            {**values, "account": None},
        )
    if not account.active:
        return Violation(
            "AUTH-01",
            f"the account {name!r} was disabled (账号已停用), so it cannot {what}.",
            {**values, "account": name, "active": False},
        )
    if role not in account.roles:
        held = ", ".join(sorted(account.roles)) or "none"
        return Violation(
            "AUTH-01",
            f"the account {name!r} did not hold the role {role} (未被授予该角色) when it tried to {what}; "
            f"its roles then: {held}.",
            {**values, "account": name, "held": sorted(account.roles)},
        )
    return None


@gate("AUTH-01")
def auth_check(ctx: RuleContext) -> Iterator[Violation]:
    """AUTH-01 before every other gate, over the accounts as they stood when the event was recorded."""
    accounts = ctx.standing.get("accounts")
    if not accounts:
        return  # a workspace without accounts works as before (standing_violation's first answer, without its words)
    name = ctx.actor.split(":", 1)[1] if ":" in ctx.actor else ctx.actor
    v = standing_violation(accounts, name, ctx.role, f"record `{ctx.event}`")
    if v is not None:
        yield v

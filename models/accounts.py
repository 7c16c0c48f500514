"""Accounts as a fold over the account events of the `@workspace` stream, and as they stood at any position of the
history (what AUTH-01 judges a record by)."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Iterable, Mapping

from models.store import StoredEvent
from policies.rules.auth import Standing

ACCOUNT_EVENT_TYPES = frozenset({"account-added", "role-granted", "role-revoked", "account-disabled", "token-issued"})


def evolve_accounts(accounts: dict[str, Standing], type_: str, payload: Mapping[str, Any]) -> None:
    """Apply one account event to the accounts (in place)."""
    name = payload.get("name")
    if not isinstance(name, str):
        return  # every account event names its account (models/account_events.py); nothing to apply
    if type_ == "account-added":
        accounts[name] = Standing(name, frozenset(payload["roles"]), True)
    elif name in accounts:
        a = accounts[name]
        if type_ == "role-granted":
            accounts[name] = Standing(name, a.roles | {payload["role"]}, a.active)
        elif type_ == "role-revoked":
            accounts[name] = Standing(name, a.roles - {payload["role"]}, a.active)
        elif type_ == "account-disabled":
            accounts[name] = Standing(name, a.roles, False)


def fold_accounts(events: Iterable[StoredEvent]) -> dict[str, Standing] | None:
    """The accounts after these account events, in history order (None when there are none)."""
    accounts: dict[str, Standing] = {}
    for ev in events:
        evolve_accounts(accounts, ev.type, ev.payload)
    return accounts or None


class AccountsTimeline:
    """The accounts after each account event, searchable by position in the store: `at(p)` is the accounts as they
    stood when the event at position p was being recorded (every account event before it applied, none after)."""

    def __init__(self, workspace_events: Iterable[StoredEvent]) -> None:
        self._positions: list[int] = []
        self._states: list[dict[str, Standing]] = []
        current: dict[str, Standing] = {}
        for ev in workspace_events:
            if ev.type in ACCOUNT_EVENT_TYPES and ev.type != "token-issued":
                current = dict(current)
                evolve_accounts(current, ev.type, ev.payload)
                self._positions.append(ev.position)
                self._states.append(current)

    def at(self, position: int | None) -> Mapping[str, Standing] | None:
        """The accounts as they stood before `position` (None: now); None when there were none yet."""
        i = len(self._positions) if position is None else bisect_left(self._positions, position)
        return self._states[i - 1] if i else None

    @property
    def now(self) -> Mapping[str, Standing] | None:
        """The accounts as they stand now (None when the workspace has none)."""
        return self.at(None)

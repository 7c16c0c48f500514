"""What a rule reads beside the case itself, as it stood when an event was recorded: the workspace's working-day
calendar (CAL-08: the shipped notices and every `calendar-loaded` recorded before the event), the other workspace
facts (`standing`: a fact registered with `standing_fact`, e.g. account grants for AUTH-01 or a decision catalog in
force, folded from its @workspace events), and the cases the event names (an adjustment's child case, ORD-03 /
ADJ-01).

The use case that records an event and the auditor who re-checks it both call `rule_context` with the same stored
data, so the live check and the audit are one code path. "Before" is the order of the history: (recorded_at,
position) — `recorded_at` is hashed into every event, and the position breaks ties on a simulated clock that did not
move. The workspace stream is folded once (`WorkspaceTimeline`), and a context costs a binary search over the loads.
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from types import MappingProxyType
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from flows.usecases.calendars import shipped_notices
from flows.usecases.workspace import WorkspaceFacts
from models.store import StoredEvent, utc_text
from policies.calendar import WorkingDayCalendar, parse_notice
from policies.pack import PolicyPack
from policies.procedure import CaseFacts, LinkedCase

if TYPE_CHECKING:
    from policies.rules import RuleContext

Key = tuple[str, int]  # (recorded_at as stored, position)
_NOTHING: Mapping[str, Any] = MappingProxyType({})


def key_of(ev: StoredEvent) -> Key:
    """Where a stored event stands in the history."""
    return (ev.recorded_at, ev.position)


def live_key(moment: datetime) -> Key:
    """Where an event being recorded now will stand: after everything recorded up to this moment."""
    return (utc_text(moment), sys.maxsize)


# Workspace facts a rule may read as they stood, beside the calendar: name -> (the @workspace event types that make
# them, the fold of those events, in history order, into the value rules read as `ctx.standing[name]`). AUTH-01's
# grants, a decision catalog in force, … register here, and both paths see them as of the event being judged.
StandingFold = Callable[[Sequence[StoredEvent]], Any]
_STANDING: dict[str, tuple[frozenset[str], StandingFold]] = {}


def standing_fact(name: str, *event_types: str) -> Callable[[StandingFold], StandingFold]:
    """Register a workspace fact for `ctx.standing`, folded from these @workspace events recorded before the event."""

    def register(fold: StandingFold) -> StandingFold:
        _STANDING[name] = (frozenset(event_types), fold)
        return fold

    return register


class WorkspaceTimeline:
    """The `@workspace` stream folded once: the calendar loads and the registered standing facts' events in history
    order; the calendar and the facts as they stood before any moment (each built on first use and kept)."""

    def __init__(self, facts: WorkspaceFacts) -> None:
        wanted = {"calendar-loaded"}.union(*(types for types, _ in _STANDING.values()))
        relevant = sorted((key_of(ev), ev) for ev in facts.events if ev.type in wanted)
        self._keys = [k for k, _ in relevant]
        self._events = [ev for _, ev in relevant]
        loads = [ev for ev in self._events if ev.type == "calendar-loaded"]
        self._notices = [parse_notice(ev.payload["notice"]) for ev in loads]
        # how many calendar loads stand among the first n relevant events
        self._loads_in = [0]
        for ev in self._events:
            self._loads_in.append(self._loads_in[-1] + (ev.type == "calendar-loaded"))
        self._shipped = [parse_notice(n) for n in shipped_notices()]
        self._calendars: dict[tuple[int, bool], WorkingDayCalendar] = {}
        self._standing: dict[int, Mapping[str, Any]] = {}

    @property
    def latest(self) -> int:
        """The version of today's calendar: every load counted."""
        return self._loads_in[-1]

    def position_at(self, key: Key) -> int:
        """How many relevant workspace events stood before `key`."""
        return bisect_left(self._keys, key)

    def version_at(self, key: Key) -> int:
        """How many calendar loads stood before `key` (the calendar's version then)."""
        return self._loads_in[self.position_at(key)]

    def version_of(self, position: int) -> int:
        """How many calendar loads are among the first `position` relevant workspace events."""
        return self._loads_in[position]

    def calendar(self, version: int, count_makeup_days: bool) -> WorkingDayCalendar:
        """The calendar after `version` loads (a later notice for a year replaces the earlier one)."""
        cal = self._calendars.get((version, count_makeup_days))
        if cal is None:
            cal = self._calendars[(version, count_makeup_days)] = WorkingDayCalendar.from_notices(
                self._shipped + self._notices[:version], count_makeup_days=count_makeup_days
            )
        return cal

    def standing(self, position: int) -> Mapping[str, Any]:
        """The registered workspace facts as they stood after `position` relevant events."""
        if not _STANDING:
            return _NOTHING
        got = self._standing.get(position)
        if got is None:
            before = self._events[:position]
            got = self._standing[position] = {
                name: fold([ev for ev in before if ev.type in types]) for name, (types, fold) in _STANDING.items()
            }
        return got


def linked_facts(case_id: str, events: Sequence[StoredEvent], before: Key) -> LinkedCase:
    """A named case's facts from its stored events recorded before `before` (nothing stored then: it did not exist)."""
    seen = [ev for ev in events if key_of(ev) < before]
    if not seen or seen[0].type != "case-launched":
        return LinkedCase(case_id, exists=False)
    launch = seen[0].payload
    decision = decided_on = None
    for ev in seen:
        if ev.type == "meeting-held":
            decision = ev.payload["decision"]
            if decision in ("approved", "approved-with-changes"):
                decided_on = date.fromisoformat(ev.payload["held_on"])
    return LinkedCase(case_id, True, launch.get("parent_case"), launch.get("adjustment"), decision, decided_on)


CaseLoader = Callable[[str], Sequence[StoredEvent]]
_RULES: Any = None  # policies.rules, imported on the first judgement only (`case show` judges nothing)


def _rule_engine() -> Any:
    global _RULES
    import policies.rules

    _RULES = policies.rules
    return _RULES


def rule_context(
    *,
    event: str,
    payload: Mapping[str, Any],
    state: CaseFacts,
    pack: PolicyPack,
    role: str,
    actor: str,
    today: date,
    key: Key,
    timeline: WorkspaceTimeline,
    load_case: CaseLoader,
    statuses: Mapping[str, Any] | None = None,
) -> tuple[RuleContext, int]:
    """The context to judge `event` by, as the history stood at `key`, and the calendar version it used."""
    rules = _RULES or _rule_engine()
    position = timeline.position_at(key)
    version = timeline.version_of(position)
    ctx = rules.new_context(
        event,
        payload,
        state,
        pack,
        timeline.calendar(version, pack.param("count_makeup_days")),
        role,
        today,
        statuses if statuses is not None else state.status_view(pack),  # type: ignore[attr-defined]
        actor,
        {cid: linked_facts(cid, load_case(cid), key) for cid in ids} if (ids := rules.linked_ids(event, payload)) else _NOTHING,
        timeline.standing(position),
    )
    return ctx, version


@standing_fact("accounts", "account-added", "role-granted", "role-revoked", "account-disabled")
def _accounts(events: Sequence[StoredEvent]) -> Any:
    """AUTH-01's accounts as they stood (None while the workspace had none)."""
    from models.accounts import fold_accounts

    return fold_accounts(events)


# Standing facts registered elsewhere, imported here so every timeline folds them (they import `standing_fact`).
from flows.usecases import catalog_book  # noqa: E402,F401  the decision catalogs in force (SCP-05)

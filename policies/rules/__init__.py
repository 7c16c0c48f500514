"""Rule checks with ids and article citations.

A check is a small generator registered for one rule id and the event types it reads; it yields `Violation`s in a
clerk's words with the values it compared. `check_event` runs, in order, the gates (who may record the step, ROLE-01;
the stage order, SEQ-01 and the stage gate rules; the sequence inside a stage) and then the event's own rules, and
turns violations into `Finding`s with the article and enforcement level the case's policy pack gives the rule.

The same code serves the refusal, the WARN acknowledgement and the auditor's re-check: the use case that records an
event and the auditor who re-checks it each build a `RuleContext` from the same stored data (the case before the
event, the facts of the cases it names as they stood, the workspace's calendar as it stood) and call `check_event`.
`case-launched` goes through the same registry: its checks see the case the launch creates.

Every rule lives in one module: `check`, `gate` and `declare` remember where each rule id is implemented and refuse a
second module (tests/test_rule_registry.py holds every HARD and WARN rule of every shipped pack to an implementation,
or to the pack's own `capture_only` note with its article).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Iterator, Mapping

from policies.calendar import WorkingDayCalendar
from policies.findings import Finding
from policies.pack import PolicyPack
from policies.procedure import CaseFacts, LinkedCase, StageStatus


@dataclass(frozen=True)
class Violation:
    """What a check found: the rule, a sentence for a clerk, the values compared, and which part of the rule."""

    rule: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    part: str = "default"
    article: str | None = None  # only where the article depends on the event (ROLE-01)


@dataclass(frozen=True)
class RuleContext:
    """Everything a check may read, as it stood when the event was (or is being) recorded.

    The event and payload being recorded; the case before it (for `case-launched`: the case the launch creates);
    the pack the case pinned; the working-day calendar as it stood (CAL-08: the shipped notices and the loads recorded
    before the event); the actor and role; the local date of recording (passed in; rules never read a clock); the
    stage statuses; the cases the payload names (`linked`, as they stood); and `standing`, the other workspace facts
    as they stood (empty today; account grants for AUTH-01 go here)."""

    event: str
    payload: Mapping[str, Any]
    case: CaseFacts
    pack: PolicyPack
    calendar: WorkingDayCalendar
    role: str
    today: date
    statuses: Mapping[str, StageStatus]
    actor: str = ""
    linked: Mapping[str, LinkedCase] = field(default_factory=dict)
    standing: Mapping[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> Any:
        """A CFG parameter of the case's pack."""
        return self.pack.param(name)

    def linked_case(self, case_id: str) -> LinkedCase:
        """The facts of a case the payload names, as they stood (a case that did not exist then: `exists=False`)."""
        return self.linked.get(case_id) or LinkedCase(case_id, exists=False)


_new = object.__new__
_set = object.__setattr__


def new_context(event: str, payload: Mapping[str, Any], case: CaseFacts, pack: PolicyPack,
                calendar: WorkingDayCalendar, role: str, today: date, statuses: Mapping[str, StageStatus], actor: str,
                linked: Mapping[str, LinkedCase], standing: Mapping[str, Any]) -> RuleContext:
    """`RuleContext(...)` with every field given, built without the frozen dataclass's per-field `__setattr__` (the
    audit builds one per event); equal to the constructor's (tests/test_verify_fast_paths.py holds the two together)."""
    ctx = _new(RuleContext)
    _set(ctx, "__dict__", {
        "event": event, "payload": payload, "case": case, "pack": pack, "calendar": calendar, "role": role,
        "today": today, "statuses": statuses, "actor": actor, "linked": linked, "standing": standing,
    })
    return ctx


Check = Callable[[RuleContext], Iterable[Violation]]
_CHECKS: dict[str, list[tuple[str, Check]]] = {}
_GATES: list[tuple[str, Check, frozenset[str] | None]] = []
# (pack hash, event type) -> the gates and the event's own checks, in order, that the pack enforces: what
# `check_event` runs, settled once per pack content and event type (registering a check starts them afresh)
_Plan = tuple[tuple[tuple[str, Check], ...], tuple[tuple[str, Check], ...]]
_PLANS: dict[tuple[str, str], _Plan] = {}
_HOMES: dict[str, str] = {}  # rule id -> the module that implements it
NamedCases = Callable[[Mapping[str, Any]], Iterable[str | None]]  # an absent optional field names no case
_NAMED_CASES: dict[str, NamedCases] = {}


def _home(rule: str, module: str) -> None:
    where = _HOMES.setdefault(rule, module)
    if where != module:
        raise RuntimeError(f"{rule} is implemented in {where} and again in {module}: a rule lives in one place")


def check(rule: str, *events: str) -> Callable[[Check], Check]:
    """Register a check for a rule id on the given event types."""

    def register(fn: Check) -> Check:
        _home(rule, fn.__module__)
        for e in events:
            _CHECKS.setdefault(e, []).append((rule, fn))
        _PLANS.clear()
        return fn

    return register


def gate(rule: str, *events: str) -> Callable[[Check], Check]:
    """Register a gate: run before the event's own checks (on every event when none are named); a gate that refuses
    stops the evaluation — a step that may not be taken is not judged on its content."""

    def register(fn: Check) -> Check:
        _home(rule, fn.__module__)
        _GATES.append((rule, fn, frozenset(events) if events else None))
        _PLANS.clear()
        return fn

    return register


def declare(rule: str, module: str) -> None:
    """Record where a rule is enforced outside the event checks (input limits, the calendar, the deadline sweep)."""
    _home(rule, module)


def implemented_rules() -> dict[str, str]:
    """Every rule id with an implementation, and the module it lives in."""
    return dict(_HOMES)


def unimplemented_rules(pack: PolicyPack) -> list[str]:
    """The HARD and WARN rules of a pack that the code does not implement and the pack does not mark `capture_only`
    (with its reason and article). A stage's gate rule is implemented by the stage gate (order.py)."""
    gates = {s.gate_rule for s in pack.stages}
    out = []
    for rid, info in pack.rules.items():
        if not set(info.enforcement.values()) & {"HARD", "WARN"}:
            continue
        if rid in _HOMES or rid in gates or pack.data["rules"][rid].get("capture_only"):
            continue
        out.append(rid)
    return sorted(out)


def names_cases(*events: str) -> Callable[[NamedCases], NamedCases]:
    """Register which other cases an event's payload names, so their facts are put in the context."""

    def register(fn: NamedCases) -> NamedCases:
        for e in events:
            _NAMED_CASES[e] = fn
        return fn

    return register


def linked_ids(event: str, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids of the cases whose facts a check of this event reads (in order, no repeats)."""
    fn = _NAMED_CASES.get(event)
    return tuple(dict.fromkeys(i for i in fn(payload) if i)) if fn else ()


def to_finding(pack: PolicyPack, v: Violation) -> Finding:
    """A violation with its article and enforcement level from the pack."""
    info = pack.rules[v.rule]
    level = info.level(v.part)
    if level == "REC":  # a REC part only records its data: no check may report it
        raise ValueError(f"{v.rule} ({pack.id}@{pack.version}): part {v.part!r} is {level}, not HARD or WARN")
    return Finding(
        rule=v.rule,
        article=v.article or info.article,
        enforcement=level,
        message=v.message,
        values=v.values,
    )


def enforced(pack: PolicyPack, rule: str) -> bool:
    """True when the pack carries the rule at HARD or WARN (a REC rule only records its data)."""
    info = pack.rules.get(rule)
    return info is not None and info.level() != "REC"


def _gates_for(event: str) -> list[tuple[str, Check]]:
    return [(rule, fn) for rule, fn, events in _GATES if events is None or event in events]


def _plan(pack: PolicyPack, event: str) -> _Plan:
    """The gates and the event's own checks that run for `event` under `pack`: a pack that does not carry a rule,
    or only records its data (REC), does not run its check."""
    key = (pack.hash, event)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = (
            tuple((rule, fn) for rule, fn in _gates_for(event) if enforced(pack, rule)),
            tuple((rule, fn) for rule, fn in _CHECKS.get(event, ()) if enforced(pack, rule)),
        )
    return plan


def check_event(ctx: RuleContext) -> list[Finding]:
    """All findings for recording `ctx.event`: the gates first (role, stage order, the sequence inside a stage),
    then the event's own rules. A gate's refusal stops the evaluation: the content of a step that may not be taken
    is not judged."""
    pack = ctx.pack
    gates, checks = _PLANS.get((pack.hash, ctx.event)) or _plan(pack, ctx.event)
    carried = pack.rules  # a pack that does not carry a rule does not enforce it
    found: list[Finding] = []
    for _, fn in gates:
        for v in fn(ctx):
            if v.rule in carried:
                found.append(to_finding(pack, v))
        if found:
            return found
    for _, fn in checks:
        for v in fn(ctx):
            if v.rule in carried:
                found.append(to_finding(pack, v))
    return found


def checks_for(event: str, pack: PolicyPack | None = None) -> list[str]:
    """The rule ids checked when this event is recorded (only those the pack enforces, when a pack is given)."""
    if pack is not None:
        gates, checks = _plan(pack, event)
        return list(dict.fromkeys(rule for rule, _ in gates + checks))
    return list(dict.fromkeys([rule for rule, _ in _gates_for(event)] + [rule for rule, _ in _CHECKS.get(event, ())]))


# Rules enforced outside the event checks, where they live.
declare("EXE-02", "policies.deadlines")  # overdue execution reports: the sweep and `case show`, never at recording
declare("CAL-05", "policies.calendar")  # a year without its holiday notice is refused by the calendar itself
declare("LIM-01", "policies.limits")  # a payload's size and depth, before it is parsed (bad input, exit 2)
declare("CAL-08", "flows.usecases.moments")  # the calendar as it stood: the context both paths build, and the audit's list
declare("SCP-06", "policies.rules.catalog")  # the year-end report of catalog items not archived (year_end_findings)

# Importing the rule modules registers their checks; `auth` first: who is acting (AUTH-01) is settled before anything
# else; then `order`: its gates (ROLE-01, then the stage order) run before any other; the dates last: ORD-01 gates
# after the sequence inside a stage (LEG-03, LEG-07).
from policies.rules import auth  # noqa: E402,F401  isort: skip
from policies.rules import order  # noqa: E402,F401  isort: skip
from policies.rules import (  # noqa: E402,F401
    adjustment,
    after_decision,
    archiving,
    catalog,
    discussion,
    dossier,
    drafting,
    expert,
    launch,
    legality,
    participation,
    risk,
    sanya,
)
from policies.rules import dates  # noqa: E402,F401  isort: skip

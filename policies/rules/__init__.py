"""Rule checks with ids and article citations.

A check is a small generator registered for one rule id and the event types it reads; it yields `Violation`s in a
clerk's words with the values it compared. `check_event` runs, in order, the role check, the stage-order gate and
the event's own rules, and turns violations into `Finding`s with the article and enforcement level the case's
policy pack gives the rule. The same code serves the refusal, the WARN acknowledgement and the auditor's re-check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Iterator, Mapping

from policies.calendar import WorkingDayCalendar
from policies.findings import Finding
from policies.pack import PolicyPack
from policies.procedure import CaseView, StageStatus


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
    """Everything a check may read: the event and payload being recorded, the case before it, the pack, the
    calendar, the actor's role and today's local date (passed in; rules never read a clock)."""

    event: str
    payload: Mapping[str, Any]
    case: CaseView
    pack: PolicyPack
    calendar: WorkingDayCalendar
    role: str
    today: date
    statuses: Mapping[str, StageStatus]

    def param(self, name: str) -> Any:
        """A CFG parameter of the case's pack."""
        return self.pack.param(name)


Check = Callable[[RuleContext], Iterable[Violation]]
_CHECKS: dict[str, list[tuple[str, Check]]] = {}


def check(rule: str, *events: str) -> Callable[[Check], Check]:
    """Register a check for a rule id on the given event types."""

    def register(fn: Check) -> Check:
        for e in events:
            _CHECKS.setdefault(e, []).append((rule, fn))
        return fn

    return register


def to_finding(pack: PolicyPack, v: Violation) -> Finding:
    """A violation with its article and enforcement level from the pack."""
    info = pack.rules[v.rule]
    return Finding(
        rule=v.rule,
        article=v.article or info.article,
        enforcement=info.level(v.part),  # type: ignore[arg-type]
        message=v.message,
        values=v.values,
    )


def _run(ctx: RuleContext, checks: Iterable[tuple[str, Check]]) -> Iterator[Finding]:
    for rule, fn in checks:
        if rule not in ctx.pack.rules or ctx.pack.rules[rule].level() == "REC":
            continue  # a pack that does not carry a rule, or only records its data (REC), does not run its check
        for v in fn(ctx):
            if v.rule in ctx.pack.rules:  # a pack that does not carry a rule does not enforce it
                yield to_finding(ctx.pack, v)


def check_event(ctx: RuleContext) -> list[Finding]:
    """All findings for recording `ctx.event`: role first, then stage order, then the event's own rules.

    Role and order refusals stop the evaluation: the event's content is not judged for a step that may not be taken.
    """
    gate = list(_run(ctx, order.GATES))
    if gate:
        return gate
    return list(_run(ctx, _CHECKS.get(ctx.event, ())))


def checks_for(event: str) -> list[str]:
    """The rule ids checked when this event is recorded (for documentation and tests)."""
    return [rule for rule, _ in _CHECKS.get(event, ())]


# Importing the rule modules registers their checks.
from policies.rules import after_decision, discussion, expert, legality, order, participation, risk, sanya  # noqa: E402,F401
from policies.rules import archiving, catalog, drafting  # noqa: E402,F401

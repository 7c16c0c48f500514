"""The dates a record states follow the procedure's order (ORD-01), and a date before the organ's launch decision is
acknowledged as entered after the fact (ORD-02). PROCEDURE.md (d).

Each event has one date that says when its step happened (`DATE_OF`). A step is not dated before any step of an
earlier stage (participation → expert review → risk assessment → legality review → meeting → party report →
publication → execution, evaluation and adjustment, the last three as one group); a stage's conclusion is not dated
before its own activities; inside the legality review and the meeting every step follows the
one before (an opinion not before its submission, an answer not before the opinion); a hearing is not held before
its announcement; an adjustment does not take effect before its child case's decision, nor a suspension before the
problem it rests on. The same day is always allowed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator, Mapping

from policies.pack import Stage
from policies.rules import RuleContext, Violation, check, gate

# The date on which each step happened, by event type.
DATE_OF: Mapping[str, str] = {
    "consultation-opened": "published_on",
    "hearing-announced": "notice_published_on",
    "hearing-held": "held_on",
    "participation-activity-held": "held_on",
    "participation-concluded": "concluded_on",
    "participation-exempted": "decided_on",
    "expert-panel-drawn": "drawn_on",
    "expert-review-concluded": "held_on",
    "expert-review-waived": "decided_on",
    "risk-assessed": "assessed_on",
    "risk-assessment-reused": "decided_on",
    "risk-assessment-waived": "decided_on",
    "legality-review-submitted": "submitted_on",
    "legality-review-returned": "returned_on",
    "legality-opinion-issued": "issued_on",
    "legality-opinion-answered": "answered_on",
    "meeting-held": "held_on",
    "party-reported": "reported_on",
    "npc-reported": "reported_on",
    "decision-published": "published_on",
    "publication-exempted": "decided_on",
    "execution-reported": "reported_on",
    "execution-problem-reported": "reported_on",
    "public-feedback-received": "received_on",
    "post-evaluation-done": "evaluated_on",
    "adjustment-decided": "decided_on",
    "adjustment-completed": "completed_on",
}
# Stages whose every step follows the one before (条例 arts. 26–28, 30).
SEQUENTIAL = frozenset({"legality_review", "collective_discussion"})
DATED = tuple(DATE_OF)


def date_of(event: str, payload: Mapping[str, Any]) -> date | None:
    """The date a record says its step happened (None for an engine record without one)."""
    field = DATE_OF.get(event)
    value = payload.get(field) if field else None
    return value if isinstance(value, date) else None


# (pack hash, event type) -> what ORD-01 compares a step of that type with, settled once per pack version: the date
# field, the (event type, date field) pairs of the earlier stages it may not precede (the ongoing stages count as
# one group), and those of its own stage when it must follow them too (a sequential stage, or a stage's conclusion);
# None for an event with no date or no stage.
_Plan = tuple[str, tuple[tuple[str, str], ...], "tuple[tuple[str, str], ...] | None"]
_PLANS: dict[tuple[str, str], _Plan | None] = {}


def _dated(events: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((e, DATE_OF[e]) for e in dict.fromkeys(events) if e in DATE_OF)


def _one(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """One tuple object for equal pairs: `CaseFacts.latest` keeps its running answer per tuple, so the event types of
    one stage share it."""
    return _SHARED.setdefault(pairs, pairs)


_SHARED: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}


def _plan(ctx: RuleContext) -> _Plan | None:
    key = (ctx.pack.hash, ctx.event)
    stage = ctx.pack.stage_of(ctx.event)
    plan: _Plan | None = None
    if stage is not None and ctx.event in DATE_OF:
        events: list[str] = []
        for s in ctx.pack.stages:
            if s.id == stage.id or (stage.ongoing and s.ongoing):
                break
            events.extend(s.events)
        own = _one(_dated(stage.events)) if stage.id in SEQUENTIAL or ctx.event in stage.conclusion else None
        plan = (DATE_OF[ctx.event], _one(_dated(tuple(events))), own)
    _PLANS[key] = plan
    return plan


def _why_backwards(ctx: RuleContext, day: date, before: tuple[tuple[str, str], ...],
                   own: tuple[tuple[str, str], ...] | None) -> tuple[str, date] | None:
    """The earlier step this date runs behind, or None."""
    bound = ctx.case.latest(before)
    if bound is not None and day < bound[1]:
        return bound
    if own is not None:
        bound = ctx.case.latest(own)
        if bound is not None and day < bound[1]:
            return bound
    event = ctx.event
    if event == "hearing-held":
        notices = [p["notice_published_on"] for p in ctx.case.records("hearing-announced")]
        if notices and day < min(notices):
            return ("hearing-announced", min(notices))
    elif event == "adjustment-decided":
        if ctx.payload["kind"] == "suspend":
            problems = [p["reported_on"] for p in ctx.case.records("execution-problem-reported")]
            if problems and day < min(problems):
                return ("execution-problem-reported", min(problems))
    elif event == "adjustment-completed":
        child = ctx.linked_case(ctx.payload["child_case"])
        if child.decided_on is not None and day < child.decided_on:
            return (f"meeting-held of {child.case_id}", child.decided_on)
    return None


@gate("ORD-01", *DATED)
def dates_follow_the_procedure(ctx: RuleContext) -> Iterator[Violation]:
    """No step is dated before a step it follows in the procedure (the same day is allowed). A gate: the content of
    a step dated out of order is not judged."""
    try:
        plan = _PLANS[(ctx.pack.hash, ctx.event)]
    except KeyError:
        plan = _plan(ctx)
    if plan is None:
        return
    field, before, own = plan
    day = ctx.payload.get(field)
    if not isinstance(day, date):
        return
    behind = _why_backwards(ctx, day, before, own)
    if behind is not None:
        earlier, on = behind
        yield Violation(
            "ORD-01",
            f"`{ctx.event}` is dated {day} ({field}), before the `{earlier}` of {on} that precedes it in "
            "the procedure; the dates in the records follow the procedure's order (the same day is allowed). "
            "Correct the date, or record the earlier step's correction first.",
            {"date": day, "field": field, "earlier_event": earlier, "earlier_date": on},
        )


@check("ORD-02", *DATED)
def dates_before_the_launch_decision_are_acknowledged(ctx: RuleContext) -> Iterator[Violation]:
    """A step dated before the organ decided to launch the procedure was entered after the fact: acknowledge it."""
    launched = ctx.case.launch_decided_on
    day = date_of(ctx.event, ctx.payload)
    if launched is None or day is None or day >= launched:
        return
    yield Violation(
        "ORD-02",
        f"`{ctx.event}` is dated {day}, before the decision organ decided to launch the procedure on {launched} "
        "(决策机关决定启动决策程序, INI-02); acknowledge ORD-02 with a reason if this step happened before the launch "
        "decision and is entered after the fact (事后补录).",
        {"date": day, "launch_decided_on": launched},
    )

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


# (pack hash, stage id) -> the (event type, date field) pairs a step of that stage may not precede, and those of
# its own stage; computed once per pack version.
_BEFORE: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
_OWN: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}


def _dated(events: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((e, DATE_OF[e]) for e in dict.fromkeys(events) if e in DATE_OF)


def _before(ctx: RuleContext, stage: Stage) -> tuple[tuple[str, str], ...]:
    """The dated event types of the stages this stage's steps may not precede (the ongoing stages count as one
    group)."""
    key = (ctx.pack.hash, stage.id)
    got = _BEFORE.get(key)
    if got is None:
        events: list[str] = []
        for s in ctx.pack.stages:
            if s.id == stage.id or (stage.ongoing and s.ongoing):
                break
            events.extend(s.events)
        got = _BEFORE[key] = _dated(tuple(events))
    return got


def _own(ctx: RuleContext, stage: Stage) -> tuple[tuple[str, str], ...]:
    key = (ctx.pack.hash, stage.id)
    got = _OWN.get(key)
    if got is None:
        got = _OWN[key] = _dated(stage.events)
    return got


def _why_backwards(ctx: RuleContext, stage: Stage, day: date) -> tuple[str, date] | None:
    """The earlier step this date runs behind, or None."""
    bound = ctx.case.latest(_before(ctx, stage))
    if bound is not None and day < bound[1]:
        return bound
    event = ctx.event
    if stage.id in SEQUENTIAL or event in stage.conclusion:
        own = ctx.case.latest(_own(ctx, stage))
        if own is not None and day < own[1]:
            return own
    if event == "hearing-held":
        notices = [p["notice_published_on"] for p in ctx.case.records("hearing-announced")]
        if notices and day < min(notices):
            return ("hearing-announced", min(notices))
    if event == "adjustment-decided" and ctx.payload["kind"] == "suspend":
        problems = [p["reported_on"] for p in ctx.case.records("execution-problem-reported")]
        if problems and day < min(problems):
            return ("execution-problem-reported", min(problems))
    if event == "adjustment-completed":
        child = ctx.linked_case(ctx.payload["child_case"])
        if child.decided_on is not None and day < child.decided_on:
            return (f"meeting-held of {child.case_id}", child.decided_on)
    return None


@gate("ORD-01", *DATED)
def dates_follow_the_procedure(ctx: RuleContext) -> Iterator[Violation]:
    """No step is dated before a step it follows in the procedure (the same day is allowed). A gate: the content of
    a step dated out of order is not judged."""
    stage = ctx.pack.stage_of(ctx.event)
    day = date_of(ctx.event, ctx.payload)
    if stage is None or day is None:
        return
    behind = _why_backwards(ctx, stage, day)
    if behind is not None:
        earlier, on = behind
        yield Violation(
            "ORD-01",
            f"`{ctx.event}` is dated {day} ({DATE_OF[ctx.event]}), before the `{earlier}` of {on} that precedes it in "
            "the procedure; the dates in the records follow the procedure's order (the same day is allowed). "
            "Correct the date, or record the earlier step's correction first.",
            {"date": day, "field": DATE_OF[ctx.event], "earlier_event": earlier, "earlier_date": on},
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

"""Who may record a step (ROLE-01), and the stage order: no stage is entered until the one before it is recorded."""

from __future__ import annotations

from typing import Iterator

from policies.pack import Stage
from policies.procedure import RECORDED, StageStatus
from policies.rules import Check, RuleContext, Violation


def _ways_to_record(ctx: RuleContext, stage: Stage) -> str:
    """'record risk-assessed or risk-assessment-reused (…)': what would settle a stage, given the case's flags."""
    options = list(stage.conclusion)
    blocked = []
    waivers = ctx.param("waivers")
    for event in stage.waiver + stage.exemption:
        spec = waivers.get(event, {})
        refused_with = spec.get("refused_with_flag")
        required = spec.get("requires_flag")
        if refused_with and refused_with in ctx.case.flags:
            blocked.append(f"{event} is not open to a case flagged {refused_with}")
        elif required and required not in ctx.case.flags:
            blocked.append(f"{event} needs the flag {required}")
        else:
            options.append(event)
    text = " or ".join(f"`{o}`" for o in options) or "its records"
    return f"record {text} first" + (f" ({'; '.join(blocked)})" if blocked else "")


def role_check(ctx: RuleContext) -> Iterator[Violation]:
    """ROLE-01: each step is recorded by the body the regulation charges with it."""
    roles, article = ctx.pack.roles_for(ctx.event)
    if ctx.role not in roles:
        who = ", ".join(roles) or "nobody (recorded by the engine itself)"
        yield Violation(
            "ROLE-01",
            f"a {ctx.role} cannot record `{ctx.event}`; under the {ctx.pack.id} pack it is recorded by: {who}.",
            {"role": ctx.role, "allowed": list(roles), "event": ctx.event},
            article=article or None,
        )


def _gate(ctx: RuleContext, stage: Stage, status: StageStatus, entering: Stage) -> Violation:
    """The refusal for entering `entering` while the earlier `stage` is not recorded."""
    rule = stage.gate_rule
    why = f"{stage.label} is not recorded yet ({status.status}{': ' + status.detail if status.detail else ''})"
    if stage.id == "legality_review":
        if status.waiting_for == "legality-opinion-answered":
            rule = "LEG-07"
            why = "the legality opinion asked for changes that the undertaking unit has not yet answered (根据审查意见调整或者补充)"
        elif "unlawful" in status.detail:
            rule = "LEG-02"
            why = "the legality opinion found the draft unlawful (经审查不合法); revise and resubmit it for review"
        else:
            why = "the draft has not been through legality review (未经合法性审查); soliciting opinions cannot replace it"
    return Violation(
        rule,
        f"cannot record `{ctx.event}` ({entering.label}): {why}; {_ways_to_record(ctx, stage)}.",
        {"blocking_stage": stage.id, "blocking_status": status.status, "event": ctx.event},
    )


def order_check(ctx: RuleContext) -> Iterator[Violation]:
    """Stage order, and the sequence of steps inside the legality review and the meeting."""
    stage = ctx.pack.stage_of(ctx.event)
    if stage is None:
        return
    if any(s.status == "closed" for s in ctx.statuses.values()):
        yield Violation(
            "SEQ-01",
            f"cannot record `{ctx.event}`: the case ended without a decision (the meeting rejected the draft, 不予通过); "
            "a new proposal starts a new case.",
            {"event": ctx.event},
        )
        return
    if stage.concurrent_until:
        return  # drafting runs beside the ordered stages: its own rule says until when (DRF-04, rules/drafting.py)
    for earlier in ctx.pack.stages[: ctx.pack.stages.index(stage)]:
        if earlier.concurrent_until:
            continue  # … and never gates them
        st = ctx.statuses[earlier.id]
        if st.status not in RECORDED and not (earlier.ongoing and st.status == "in-progress"):
            yield _gate(ctx, earlier, st, stage)
            return
    own = ctx.statuses[stage.id]
    reopened = own.status == "concluded" and own.waiting_for and ctx.event in stage.conclusion
    if own.status in RECORDED and not reopened:
        yield Violation(
            "SEQ-01",
            f"cannot record `{ctx.event}`: {stage.label} is already {own.status} ({own.detail}); a recorded stage is "
            "not recorded again — corrections are new events, never rewrites.",
            {"stage": stage.id, "status": own.status, "event": ctx.event},
        )
        return
    if stage.id == "legality_review":
        yield from _legality_sequence(ctx, own)


def _legality_sequence(ctx: RuleContext, own: StageStatus) -> Iterator[Violation]:
    expected = own.waiting_for
    event = ctx.event
    if event == "legality-review-submitted" and expected != "legality-review-submitted":
        yield Violation(
            "SEQ-01",
            "cannot submit the draft for legality review again: a submission is already with the reviewer "
            f"({own.detail}).",
            {"status": own.detail},
        )
    elif event in ("legality-opinion-issued", "legality-review-returned") and expected != "legality-opinion-issued":
        yield Violation(
            "LEG-03",
            f"cannot record `{event}`: no complete submission is with the reviewer ({own.detail or 'nothing submitted'}); "
            "the review works on the draft and materials the undertaking unit submits (送请合法性审查).",
            {"status": own.detail},
        )
    elif event == "legality-opinion-answered" and expected != "legality-opinion-answered":
        yield Violation(
            "LEG-07",
            "cannot record `legality-opinion-answered`: no legality opinion is waiting for the unit's response "
            f"({own.detail or 'no opinion yet'}).",
            {"status": own.detail},
        )


GATES: list[tuple[str, Check]] = [("ROLE-01", role_check), ("SEQ-01", order_check)]

"""Legality review (合法性审查): the sequence inside the review (submitted → returned or opinion → answered; LEG-03,
LEG-07), why the meeting waits on it (LEG-01 is the stage's gate rule; LEG-02, LEG-07 name the reason), and the
content of each step: LEG-03, LEG-05, LEG-06, LEG-07. (LEG-04 is judged at the meeting, in discussion.py.)"""

from __future__ import annotations

from typing import Iterator

from policies.procedure import StageStatus
from policies.rules import RuleContext, Violation, check, gate
from policies.rules.order import explains_gate


@explains_gate("legality_review", "LEG-02", "LEG-07")
def legality_not_recorded(ctx: RuleContext, status: StageStatus) -> tuple[str, str, str]:
    """Why a later stage waits on the legality review: unanswered changes (LEG-07), an unlawful opinion (LEG-02), or
    no review at all (LEG-01, the stage's gate rule)."""
    if status.waiting_for == "legality-opinion-answered":
        return ("LEG-07",
                "the legality opinion asked for changes that the undertaking unit has not yet answered "
                "(根据审查意见调整或者补充)",
                "record `legality-opinion-answered` first, with a response to each required change")
    if "unlawful" in status.detail:
        return ("LEG-02",
                "the legality opinion found the draft unlawful (经审查不合法); revise and resubmit it for review",
                "record `legality-review-submitted` with the revised draft first")
    return (ctx.pack.stage("legality_review").gate_rule,
            "the draft has not been through legality review (未经合法性审查); soliciting opinions cannot replace it", "")


def _review_state(ctx: RuleContext) -> StageStatus:
    return ctx.statuses["legality_review"]


@gate("LEG-03", "legality-review-submitted", "legality-review-returned", "legality-opinion-issued")
def review_works_on_a_submission(ctx: RuleContext) -> Iterator[Violation]:
    """The reviewer returns or gives an opinion on a submission that is with it; a new submission follows a return
    or an opinion that the draft is unlawful (条例 art. 26(1))."""
    own = _review_state(ctx)
    expected = own.waiting_for
    if ctx.event == "legality-review-submitted" and expected != "legality-review-submitted":
        yield Violation(
            "LEG-03",
            "cannot submit the draft for legality review again: a submission is already with the reviewer "
            f"({own.detail}); a new submission follows a return (退回) or an unlawful opinion.",
            {"status": own.detail},
        )
    elif ctx.event != "legality-review-submitted" and expected != "legality-opinion-issued":
        yield Violation(
            "LEG-03",
            f"cannot record `{ctx.event}`: no complete submission is with the reviewer "
            f"({own.detail or 'nothing submitted'}); the review works on the draft and materials the undertaking unit "
            "submits (送请合法性审查).",
            {"status": own.detail},
        )


@gate("LEG-07", "legality-opinion-answered")
def an_opinion_waits_for_the_answer(ctx: RuleContext) -> Iterator[Violation]:
    """The unit answers an opinion that asked for changes, and only such an opinion."""
    own = _review_state(ctx)
    if own.waiting_for != "legality-opinion-answered":
        yield Violation(
            "LEG-07",
            "cannot record `legality-opinion-answered`: no legality opinion is waiting for the unit's response "
            f"({own.detail or 'no opinion yet'}).",
            {"status": own.detail},
        )

REQUIRED_MATERIALS = {
    "draft": "the draft (决策草案)",
    "procedure-statement": "the statement of the statutory procedures performed (履行决策法定程序的说明)",
}


@check("LEG-03", "legality-review-submitted")
def submission_is_complete(ctx: RuleContext) -> Iterator[Violation]:
    """The draft, the legal basis and the statement of procedures performed."""
    kinds = {m["kind"] for m in ctx.payload.get("materials", ())}
    missing = [label for kind, label in REQUIRED_MATERIALS.items() if kind not in kinds]
    if not ctx.payload.get("legal_basis"):
        missing.append("the legal basis: laws, regulations and rules (有关法律、法规、规章等依据, legal_basis)")
    if missing:
        yield Violation(
            "LEG-03",
            "the submission for legality review must include " + "; ".join(missing) + ".",
            {"missing": missing},
        )


@check("LEG-05", "legality-opinion-issued")
def opinion_finds_on_three_points(ctx: RuleContext) -> Iterator[Violation]:
    """Authority, procedure and content (条例 art. 27 (一)(二)(三))."""
    f = ctx.payload.get("findings") or {}
    labels = {"authority": "法定权限 authority", "procedure": "法定程序 procedure", "content": "内容合法 content"}
    missing = [label for key, label in labels.items() if not f.get(key, "").strip()]
    if missing:
        yield Violation(
            "LEG-05",
            "the legality opinion must give a finding on " + ", ".join(missing) + " (findings).",
            {"missing": missing},
        )


@check("LEG-06", "legality-opinion-issued")
def advisers_heard(ctx: RuleContext) -> Iterator[Violation]:
    """At least one legal adviser or public-sector lawyer opinion."""
    if not ctx.payload.get("adviser_opinions"):
        yield Violation(
            "LEG-06",
            "the review must organise legal advisers or public-sector lawyers (法律顾问、公职律师) to give legal opinions; "
            "none is recorded (adviser_opinions).",
        )


@check("LEG-07", "legality-opinion-issued")
def changes_are_itemised(ctx: RuleContext) -> Iterator[Violation]:
    """An opinion of 'lawful with changes' lists the changes, so that each can be answered."""
    p = ctx.payload
    if p["conclusion"] == "lawful-with-changes" and not p.get("required_changes"):
        yield Violation(
            "LEG-07",
            "an opinion of lawful-with-changes (修改后合法) must list the changes required (required_changes), so the "
            "undertaking unit can answer each.",
        )


@check("LEG-07", "legality-opinion-answered")
def every_change_answered(ctx: RuleContext) -> Iterator[Violation]:
    """Every change the last opinion requires has a response."""
    opinions = ctx.case.records("legality-opinion-issued")
    required = [c["item"] for c in opinions[-1].get("required_changes", ())] if opinions else []
    answered = {r["item"] for r in ctx.payload["responses"]}
    missing = [item for item in required if item not in answered]
    if missing:
        yield Violation(
            "LEG-07",
            "every change the legality opinion requires needs a response (根据合法性审查意见进行必要的调整或者补充); "
            "not answered: " + "; ".join(missing) + ".",
            {"unanswered": missing},
        )

"""Collective discussion (集体讨论决定): CD-01 to CD-05, and what the meeting must respect from earlier stages:
the risk gate (RSK-08) and the legality reviewer's seven working days (LEG-04)."""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Mapping, Sequence

from policies.deadlines import ADOPTING, legality_review_window
from policies.rules import RuleContext, Violation, check
from policies.wording import a

DECISION_OF_POSITION = {
    "approve": "approved",
    "approve-with-changes": "approved-with-changes",
    "oppose": "rejected",
    "defer": "deferred",
}


def majority_position(opinions: Sequence[Mapping[str, str]], head: str) -> str | None:
    """The position held by more than half of the members other than the head, or None (a tie is no majority)."""
    members = [o for o in opinions if o["member"] != head]
    if not members:
        return None
    position, count = Counter(o["position"] for o in members).most_common(1)[0]
    return position if count * 2 > len(members) else None


@check("CD-02", "meeting-held")
def executive_or_plenary_meeting(ctx: RuleContext) -> Iterator[Violation]:
    """Only the executive (常务会议) or plenary (全体会议) meeting may discuss the draft."""
    allowed = ctx.param("meeting_types")
    if ctx.payload["meeting_type"] not in allowed:
        yield Violation(
            "CD-02",
            f"{a(ctx.payload['meeting_type'])} meeting cannot decide a major administrative decision; the draft must be "
            "discussed at the government's executive or plenary meeting (常务会议或者全体会议; 市长办公会、专题会 do not count).",
            {"meeting_type": ctx.payload["meeting_type"], "allowed": list(allowed)},
        )


@check("CD-05", "meeting-held")
def every_member_opinion_recorded(ctx: RuleContext) -> Iterator[Violation]:
    """Each member present has exactly one recorded opinion; dissent is recorded as it was."""
    p = ctx.payload
    spoken = [o["member"] for o in p["opinions"]]
    repeated = sorted({m for m in spoken if spoken.count(m) > 1})
    silent = [m for m in p["members_present"] if m not in spoken]
    strangers = [m for m in spoken if p["members_present"] and m not in p["members_present"] and m != p["head"]]
    others = [m for m in spoken if m != p["head"]]
    problems = []
    if not others:
        problems.append("no member's opinion besides the head's is recorded")
    if repeated:
        problems.append("more than one entry for " + ", ".join(repeated))
    if silent:
        problems.append("no opinion recorded for " + ", ".join(silent) + " (present at the meeting)")
    if strangers:
        problems.append("opinions recorded for " + ", ".join(strangers) + ", who are not among the members present")
    if problems:
        yield Violation(
            "CD-05",
            "the discussion must be recorded truthfully, each member's opinion and any dissent "
            "(集体讨论决定情况应当如实记录，不同意见应当如实载明): " + "; ".join(problems) + ".",
            {"problems": problems},
        )


@check("CD-03", "meeting-held")
def head_speaks_last(ctx: RuleContext) -> Iterator[Violation]:
    """The head's opinion is the last in speaking order."""
    p = ctx.payload
    order = [o["member"] for o in p["opinions"]]
    if not order or order[-1] != p["head"]:
        where = "is not recorded" if p["head"] not in order else f"is number {order.index(p['head']) + 1} of {len(order)}"
        yield Violation(
            "CD-03",
            f"the head ({p['head']}) must speak last (行政首长最后发表意见); the head's opinion {where}.",
            {"order": order, "head": p["head"]},
        )


@check("CD-04", "meeting-held")
def head_explains_overruling_the_majority(ctx: RuleContext) -> Iterator[Violation]:
    """A decision other than the majority's (or with no majority) needs the head's reasons given at the meeting."""
    p = ctx.payload
    majority = majority_position(p["opinions"], p["head"])
    majority_decision = DECISION_OF_POSITION.get(majority) if majority else None
    if majority_decision == p["decision"] or (p.get("head_reasons") or "").strip():
        return
    counts = dict(Counter(o["position"] for o in p["opinions"] if o["member"] != p["head"]))
    situation = (
        f"the majority of members held '{majority}'" if majority else f"no position was held by a majority ({counts})"
    )
    yield Violation(
        "CD-04",
        f"{situation}, and the head decided '{p['decision']}'; the head must state the reasons at the meeting and they "
        "must be recorded (应当在会上说明理由; head_reasons).",
        {"majority": majority, "decision": p["decision"], "positions": counts},
    )


@check("CD-01", "meeting-held")
def meeting_package_complete(ctx: RuleContext) -> Iterator[Violation]:
    """The package lists the draft, the reports of the stages performed, the legality opinion (and fair competition)."""
    kinds = {m["kind"] for m in ctx.payload.get("package", ())}
    required = {"draft": "the draft (决策草案)", "legality-opinion": "the legality opinion (合法性审查意见)"}
    if ctx.case.records("participation-concluded"):
        required["participation-report"] = "the public-opinion adoption report (公众意见研究采纳情况)"
    if ctx.case.records("expert-review-concluded"):
        required["expert-report"] = "the expert-opinion adoption report (专家论证意见研究采纳情况)"
    if ctx.case.records("risk-assessed") or ctx.case.records("risk-assessment-reused"):
        required["risk-report"] = "the risk assessment report (风险评估报告)"
    if "market-activity" in ctx.case.flags:
        required["fair-competition-review"] = "the fair-competition review (公平竞争审查情况)"
    opinions = ctx.case.records("legality-opinion-issued")
    if opinions and opinions[-1]["conclusion"] == "unlawful":
        required["legal-risk-statement"] = "the statement of the legal risk of this exploratory item (明示法律风险, LEG-02)"
    missing = [label for kind, label in required.items() if kind not in kinds]
    if missing:
        yield Violation(
            "CD-01",
            "the materials submitted to the meeting (报送下列材料) must include " + "; ".join(missing) + " (package).",
            {"missing": missing},
        )


@check("RSK-08", "meeting-held")
def adoption_needs_controllable_risk(ctx: RuleContext) -> Iterator[Violation]:
    """Adopting the draft needs the risk found controllable: once an assessment found it not controllable, a new
    `risk-assessed` dated after that assessment (PROCEDURE.md (d), the reading of RSK-08; the risk stage's status,
    policies/procedure.py `risk_status`, folds it)."""
    if ctx.payload["decision"] not in ADOPTING:
        return
    risk = ctx.statuses.get("risk_assessment")
    if risk is None or risk.since is None or risk.waiting_for != "risk-assessed":
        return
    yield Violation(
        "RSK-08",
        f"{risk.detail}; the draft can be adopted only after it is adjusted and a new assessment, dated after "
        f"{risk.since}, finds the risk controllable (采取调整决策草案等措施确保风险可控后，可以作出决策). A reused report "
        "(`risk-assessment-reused`) does not clear it.",
        {"decision": ctx.payload["decision"], "not_controllable_on": risk.since},
    )


@check("LEG-04", "meeting-held")
def reviewer_had_seven_working_days(ctx: RuleContext) -> Iterator[Violation]:
    """WARN when the meeting is held on or before the 7th working day after the complete submission (CAL-01)."""
    w = legality_review_window(ctx.pack, ctx.calendar, ctx.case.records("legality-review-submitted"))
    if w is None:
        return
    held = ctx.payload["held_on"]
    if held <= w.last_day:
        yield Violation(
            "LEG-04",
            f"the draft was submitted for legality review on {w.submitted_on}; the reviewer's {w.working_days} working "
            f"days (一般不少于7个工作日) run to {w.last_day}, and the meeting on {held} falls inside them. "
            f"The first clean date is {w.first_clean_day}; "
            "or acknowledge LEG-04 with a reason (e.g. the reviewing department confirms its review was complete).",
            {"submitted_on": w.submitted_on, "seventh_working_day": w.last_day, "held_on": held},
        )


"""Expert review (专家论证): EXP-01, EXP-02, EXP-04, EXP-06. (EXP-03, the method, is captured by the schema.)"""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check


@check("EXP-01", "expert-review-waived")
def technical_items_need_experts(ctx: RuleContext) -> Iterator[Violation]:
    """A case flagged technical cannot waive expert review."""
    if "technical" in ctx.case.flags:
        yield Violation(
            "EXP-01",
            "this case is flagged technical (专业性、技术性较强), so experts or professional institutions must argue "
            "its necessity, feasibility and soundness; expert review cannot be waived — record `expert-review-concluded`.",
            {"flags": sorted(ctx.case.flags)},
        )


@check("EXP-02", "expert-review-concluded")
def written_opinions_signed_and_sealed(ctx: RuleContext) -> Iterator[Violation]:
    """Every written opinion is signed (署名) and sealed (盖章)."""
    bad = [
        f"{o['author']} ({'not signed' if not o['signed'] else ''}{' and ' if not o['signed'] and not o['sealed'] else ''}{'not sealed' if not o['sealed'] else ''})"
        for o in ctx.payload["opinions"]
        if not (o["signed"] and o["sealed"])
    ]
    if bad:
        yield Violation(
            "EXP-02",
            "a written expert opinion must be signed and sealed (提供书面论证意见的，应当署名、盖章): " + "; ".join(bad) + ".",
            {"opinions": bad},
        )


@check("EXP-04", "expert-review-concluded")
def experts_neutral_and_diverse(ctx: RuleContext) -> Iterator[Violation]:
    """No expert with a direct interest (HARD); a panel of one affiliation or one view is a warning."""
    experts = ctx.payload["experts"]
    conflicted = [f"{e['name']} ({e['conflict_of_interest']})" for e in experts if e.get("conflict_of_interest")]
    if conflicted:
        yield Violation(
            "EXP-04",
            "experts with a direct interest in the decision may not be chosen (不得选择与决策事项有直接利害关系的专家): "
            + "; ".join(conflicted) + ".",
            {"conflicted": conflicted},
        )
    if len(experts) >= 2:
        affiliations = {e["affiliation"] for e in experts}
        stances = [e.get("stance", "").strip() for e in experts]
        same_view = all(stances) and len(set(stances)) == 1
        if len(affiliations) == 1 or same_view:
            what = f"all from {next(iter(affiliations))}" if len(affiliations) == 1 else f"all of one view ({stances[0]})"
            yield Violation(
                "EXP-04",
                f"the panel is {what}; the regulation asks for representativeness and experts of differing views "
                "(注重选择持不同意见的专家、专业机构).",
                {"affiliations": sorted(affiliations), "stances": stances},
                part="homogeneous",
            )


@check("EXP-06", "expert-review-concluded")
def expert_adoption_reported(ctx: RuleContext) -> Iterator[Violation]:
    """The study and adoption of expert opinions goes to the meeting (专家论证意见的研究采纳情况)."""
    if not ctx.payload.get("adoption_report", "").strip():
        yield Violation(
            "EXP-06",
            "the report on how expert opinions were studied and adopted (专家论证意见的研究采纳情况, adoption_report) "
            "is missing.",
        )

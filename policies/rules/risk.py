"""Risk assessment (风险评估): RSK-01, RSK-02, RSK-04, RSK-07. (RSK-08 is judged at the meeting, in discussion.py.)"""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check

LEVEL_ZH = {"high": "高", "medium": "中", "low": "低"}


@check("RSK-01", "risk-assessment-waived")
def risk_relevant_cases_are_assessed(ctx: RuleContext) -> Iterator[Violation]:
    """A case flagged risk-relevant cannot waive its risk assessment."""
    if "risk-relevant" in ctx.case.flags:
        yield Violation(
            "RSK-01",
            "this case is flagged risk-relevant (可能对社会稳定、公共安全等方面造成不利影响), so the risk of the draft must "
            "be assessed; it cannot be waived — record `risk-assessed`, or `risk-assessment-reused` for an existing report.",
            {"flags": sorted(ctx.case.flags)},
        )


@check("RSK-02", "risk-assessment-reused")
def reuse_names_the_prior_report(ctx: RuleContext) -> Iterator[Violation]:
    """Not assessing again needs the earlier report linked: reference, issuer, date and scope."""
    prior = ctx.payload.get("prior_report") or {}
    missing = [
        label
        for key, label in (
            ("ref", "its reference (ref)"),
            ("issuer", "who issued it (issuer)"),
            ("issued_on", "when (issued_on)"),
            ("scope", "what it covers (scope)"),
        )
        if not str(prior.get(key) or "").strip()
    ]
    if missing:
        yield Violation(
            "RSK-02",
            "a risk assessment is reused only when the earlier report is identified (已对有关风险进行评价、评估的，不作重复评估): "
            "give " + ", ".join(missing) + ".",
            {"missing": missing},
        )


@check("RSK-07", "risk-assessed")
def high_or_medium_risk_declared_controllable(ctx: RuleContext) -> Iterator[Violation]:
    """A high or medium risk level (after mitigation) declared controllable needs an acknowledged reason (WARN)."""
    p = ctx.payload
    levels = ctx.param("risk_levels_not_controllable")
    if p["controllable"] and p["level"] in levels:
        zh = LEVEL_ZH.get(p["level"], "")
        yield Violation(
            "RSK-07",
            f"the assessment rates the risk {p['level']} ({zh}风险) "
            "and still declares it controllable; by the NDRC scale a high or medium risk is not approved (存在高风险或者中风险的"
            "…不予审批). Lower the level after the measures, declare it not controllable, or acknowledge RSK-07 with "
            "the reason the risk is controllable.",
            {"level": p["level"], "controllable": True, "levels_not_controllable": list(levels)},
        )


@check("RSK-04", "risk-assessed")
def risk_report_complete(ctx: RuleContext) -> Iterator[Violation]:
    """The report hears departments, names risk points, measures and a contingency plan."""
    p = ctx.payload
    missing = []
    if not p.get("departments_consulted"):
        missing.append("the departments heard (听取有关部门的意见, departments_consulted)")
    if not p.get("risk_points"):
        missing.append("the risk points (风险点, risk_points)")
    if not p.get("measures"):
        missing.append("prevention measures (风险防范措施, measures)")
    if not p.get("contingency_plan", "").strip():
        missing.append("a contingency plan (处置预案, contingency_plan)")
    if missing:
        yield Violation("RSK-04", "the risk assessment report must state " + "; ".join(missing) + ".", {"missing": missing})

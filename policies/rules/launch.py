"""Launching a case (`case-launched`): SCP-02 (one of the five categories), SCP-03 (types outside the procedure),
INI-01 (the proposal's content by who proposed it), INI-02 (the organ's launch decision) and INI-03 (the lead
undertaking unit). Judged like every other event, live at launch and again in audit; the checks see the case the
launch creates."""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check
from policies.wording import a

CATEGORIES = {
    "public-policy": "重大公共政策和措施 (art. 3(1)(一))",
    "plan": "经济和社会发展等方面的重要规划 (art. 3(1)(二))",
    "resources": "开发利用、保护重要自然资源和文化资源的重大公共政策和措施 (art. 3(1)(三))",
    "public-construction": "重大公共建设项目 (art. 3(1)(四))",
    "other": "对经济社会发展有重大影响、涉及重大公共利益或者社会公众切身利益的其他重大事项 (art. 3(1)(五))",
}
EXCLUDED = {
    "macro-control": "财政政策、货币政策等宏观调控决策 (macro-control decisions)",
    "fiscal-policy": "财政政策 (fiscal policy, a macro-control decision)",
    "monetary-policy": "货币政策 (monetary policy, a macro-control decision)",
    "legislation": "政府立法决策 (government legislation decisions)",
    "emergency": "突发事件应急处置决策 (emergency-response decisions)",
}


@check("SCP-03", "case-launched")
def outside_the_procedure(ctx: RuleContext) -> Iterator[Violation]:
    """Macro-control, legislation and emergency-response decisions are not major administrative decisions."""
    category = ctx.payload["category"]
    if category in EXCLUDED:
        yield Violation(
            "SCP-03",
            f"{EXCLUDED[category]} are outside the major-administrative-decision procedure (不适用本条例); "
            "handle this matter in its own workflow.",
            {"category": category},
        )


@check("SCP-02", "case-launched")
def one_of_the_five_categories(ctx: RuleContext) -> Iterator[Violation]:
    """Every case is classified into one of the five categories of art. 3(1)."""
    category = ctx.payload["category"]
    if category not in CATEGORIES and category not in EXCLUDED:
        yield Violation(
            "SCP-02",
            f"{category!r} is not one of the five categories of major administrative decisions (决策事项范围): "
            + "; ".join(f"{k} = {v}" for k, v in CATEGORIES.items()) + ".",
            {"category": category, "categories": list(CATEGORIES)},
        )


PROPOSER_ZH = {
    "leader": "决策机关领导人员", "department": "决策机关所属部门", "lower-government": "下一级人民政府",
    "npc-deputy": "人大代表", "cppcc-member": "政协委员", "citizen": "公民", "organisation": "法人或者其他组织",
}
FIELD_ZH = {
    "problem": "the main problem it is to solve (拟解决的主要问题, problem)",
    "reasons_basis": "the reasons and basis (建议理由和依据, reasons_basis)",
    "preliminary_plan": "a preliminary plan (解决问题的初步方案, preliminary_plan)",
    "necessity": "its necessity (必要性, necessity)",
    "feasibility": "its feasibility (可行性, feasibility)",
    "study_unit": "the unit that studied it (交有关单位研究论证, study_unit)",
}


@check("INI-01", "case-launched")
def proposal_states_what_its_proposer_must(ctx: RuleContext) -> Iterator[Violation]:
    """A department's or lower government's proposal argues five things; the others name the unit that studied it.
    A launch without a proposal is the organ's own initiative (the pack's documented default)."""
    proposal = ctx.payload.get("proposal")
    if proposal is None:
        if ctx.param("launch_without_proposal") != "organ-initiative":
            yield Violation("INI-01", "the launch must record the proposal it answers (决策事项建议, --proposal FILE).")
        return
    kind = proposal["proposer_type"]
    required = ctx.param("proposal_fields").get(kind, ())
    missing = [FIELD_ZH.get(f, f) for f in required if not str(proposal.get(f) or "").strip()]
    if missing:
        yield Violation(
            "INI-01",
            f"a proposal by {a(kind)} ({PROPOSER_ZH.get(kind, kind)}) must state " + "; ".join(missing) + " (proposal).",
            {"proposer_type": kind, "missing": missing},
        )


@check("INI-02", "case-launched")
def the_organ_decided_to_launch(ctx: RuleContext) -> Iterator[Violation]:
    """The launch records the day the decision organ decided to launch the procedure, not after the launch."""
    decided, launched = ctx.payload.get("decided_on"), ctx.payload["launched_on"]
    if decided is None:
        yield Violation(
            "INI-02",
            "the launch does not record the decision organ's decision to launch the procedure (决策机关决定启动决策程序; "
            "--decided-on DATE).",
        )
    elif decided > launched:
        yield Violation(
            "INI-02",
            f"the organ's launch decision is dated {decided}, after the case was launched on {launched}; the case is "
            "launched once the organ has decided.",
            {"decided_on": decided, "launched_on": launched},
        )


@check("INI-03", "case-launched")
def lead_undertaking_unit_named(ctx: RuleContext) -> Iterator[Violation]:
    """The launch names the lead undertaking unit (承办单位; 牵头单位 when there are several)."""
    if not (ctx.payload.get("lead_unit") or "").strip():
        several = bool(ctx.payload.get("co_units"))
        yield Violation(
            "INI-03",
            "the launch must name the " + ("lead " if several else "") + "undertaking unit (决策承办单位"
            + ("，两个以上的应当明确牵头单位" if several else "") + "; --lead-unit).",
            {"co_units": list(ctx.payload.get("co_units") or ())},
        )

"""Launching a case: SCP-02 (one of the five categories) and SCP-03 (types outside the procedure)."""

from __future__ import annotations

from policies.findings import Finding
from policies.pack import PolicyPack
from policies.rules import Violation, to_finding

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


def check_launch(pack: PolicyPack, category: str) -> list[Finding]:
    """Findings against launching a case of this category under this pack."""
    if category in EXCLUDED:
        v = Violation(
            "SCP-03",
            f"{EXCLUDED[category]} are outside the major-administrative-decision procedure (不适用本条例); "
            "handle this matter in its own workflow.",
            {"category": category},
        )
    elif category not in CATEGORIES:
        v = Violation(
            "SCP-02",
            f"{category!r} is not one of the five categories of major administrative decisions (决策事项范围): "
            + "; ".join(f"{k} = {v}" for k, v in CATEGORIES.items()) + ".",
            {"category": category, "categories": list(CATEGORIES)},
        )
    else:
        return []
    return [to_finding(pack, v)]

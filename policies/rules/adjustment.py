"""Adjusting a decision in execution (条例 art. 37): the head's urgent suspension (ADJ-02); a stop, amendment or
repeal only through a child case opened by `case adjust` (ADJ-03), which is the only case such a record may name
(ORD-03); and the adjustment takes effect only once that child case was decided (ADJ-01).

The child case's facts (its parent, the kind of adjustment it was opened for, its decision) come from the context's
`linked` cases, as they stood when the parent's event was recorded — the same for the live check and the audit."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from policies.rules import RuleContext, Violation, check, names_cases
from policies.wording import a

KIND_ZH = {"suspend": "中止执行", "stop": "停止执行", "amend": "变更", "repeal": "废止"}


@names_cases("adjustment-decided", "adjustment-completed")
def _child_named(payload: Mapping[str, Any]) -> Iterable[str | None]:
    return (payload.get("child_case"),)


def _opened_children(ctx: RuleContext) -> list[str]:
    """The child cases this case's earlier adjustment decisions opened (stop, amend, repeal)."""
    return [a["child_case"] for a in ctx.case.records("adjustment-decided") if a["kind"] != "suspend" and a.get("child_case")]


@check("ADJ-02", "adjustment-decided")
def only_the_head_suspends_urgently_on_an_article_35_ground(ctx: RuleContext) -> Iterator[Violation]:
    """中止执行: the head alone, urgent, after an art. 35 situation was reported."""
    p = ctx.payload
    if p["kind"] != "suspend":
        return
    problems = []
    if ctx.role != "head":
        problems.append(f"only the head (行政首长) may suspend execution; this is recorded by {a(ctx.role)}")
    if not ctx.case.records("execution-problem-reported"):
        problems.append("no art. 35 situation (a problem, major change or force majeure) has been reported "
                        "(record `execution-problem-reported` first)")
    if not (p.get("urgency_reason") or "").strip():
        problems.append("the urgency is not stated (情况紧急, urgency_reason)")
    if problems:
        yield Violation("ADJ-02", "execution cannot be suspended: " + "; ".join(problems) + ".", {"problems": problems})


@check("ADJ-03", "adjustment-decided")
def major_adjustments_open_a_child_case(ctx: RuleContext) -> Iterator[Violation]:
    """Stop, amend and repeal are opened by the legal office as a child case, never recorded bare."""
    p = ctx.payload
    if p["kind"] == "suspend":
        return
    if ctx.role != "legal-office" or not p.get("child_case"):
        yield Violation(
            "ADJ-03",
            f"a {p['kind']} of the decision must go through the statutory procedure again (依照本条例履行相关法定程序): the "
            "legal office opens it with `juece case adjust`, which launches a child case that must pass legality review "
            "and collective discussion before the adjustment takes effect.",
            {"kind": p["kind"], "role": ctx.role},
        )


def _foreign_child(ctx: RuleContext, child_id: str, kind: str | None) -> str | None:
    """Why `child_id` is not a child case `case adjust` opened from this case (for `kind`), or None."""
    child = ctx.linked_case(child_id)
    if not child.exists:
        return f"there is no case {child_id}"
    if child.parent_case != ctx.case.case_id:
        opened = f"it was opened from {child.parent_case}" if child.parent_case else "it is a case of its own, not an adjustment"
        return f"{child_id} was not opened from {ctx.case.case_id} by `juece case adjust` ({opened})"
    if kind is not None and child.adjustment != kind:
        return (f"{child_id} was opened for a {child.adjustment} ({KIND_ZH.get(child.adjustment or '', '')}), "
                f"not a {kind} ({KIND_ZH.get(kind, '')})")
    return None


@check("ORD-03", "adjustment-decided", "adjustment-completed")
def the_child_case_is_this_cases_own(ctx: RuleContext) -> Iterator[Violation]:
    """An adjustment names only the child case `case adjust` opened from this case, for that kind of adjustment."""
    child_id = ctx.payload.get("child_case")
    if not child_id:
        return
    if ctx.event == "adjustment-decided":
        why = _foreign_child(ctx, child_id, ctx.payload["kind"])
        if why is None and child_id in _opened_children(ctx):
            why = f"{child_id} is already the child case of an earlier adjustment of {ctx.case.case_id}"
    else:
        why = _foreign_child(ctx, child_id, None)
        if why is None and child_id not in _opened_children(ctx):
            why = f"no adjustment recorded on {ctx.case.case_id} opened {child_id}"
    if why:
        yield Violation(
            "ORD-03",
            f"{why}; an adjustment names the child case `juece case adjust` opened from this case, and no other "
            "(未经法定程序不得随意变更或者停止执行).",
            {"child_case": child_id, "case": ctx.case.case_id},
        )


@check("ADJ-01", "adjustment-completed")
def adjustment_takes_effect_only_once_its_child_case_is_decided(ctx: RuleContext) -> Iterator[Violation]:
    """The adjustment completes only for a child case it opened, once a meeting adopted the child's draft."""
    child_id = ctx.payload["child_case"]
    opened = _opened_children(ctx)
    if child_id not in opened:
        yield Violation(
            "ADJ-01",
            f"{child_id} is not an adjustment case opened for this decision; a decision is not changed or stopped "
            "without the statutory procedure (未经法定程序不得随意变更或者停止执行).",
            {"child_case": child_id, "opened": opened},
        )
        return
    child = ctx.linked_case(child_id)
    if not child.adopted:
        state = f"its last meeting decided '{child.decision}'" if child.decision else "it has not been to a meeting"
        yield Violation(
            "ADJ-01",
            f"the adjustment case {child_id} has not been decided at a meeting yet ({state}); the decision is not changed "
            "or stopped before the statutory procedure is complete (未经法定程序不得随意变更或者停止执行).",
            {"child_case": child_id, "decision": child.decision},
        )

"""After the decision: publication (PUB-01 to PUB-04), execution (EXE-01, EXE-03), post-evaluation (PDE-02, PDE-03)
and adjustment (ADJ-01 to ADJ-03). (PTY-01 gates publication, in order.py; EXE-02 is judged by the deadline sweep.)"""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check
from policies.rules.participation import cites_non_disclosure_law

OFFICIAL_CHANNELS = {"gazette", "website", "newspaper"}


@check("PUB-01", "decision-published")
def published_through_official_channels(ctx: RuleContext) -> Iterator[Violation]:
    """At least one of the gazette, the government website or a local newspaper, each with its issue or address."""
    channels = ctx.payload.get("channels") or ()
    official = [c for c in channels if c["kind"] in OFFICIAL_CHANNELS and str(c.get("ref", "")).strip()]
    if not official:
        yield Violation(
            "PUB-01",
            "the decision must be published through the government gazette (政府公报), the government website "
            "(政府网站) or a local newspaper (报纸), with the issue or address of each (channels[].ref).",
            {"channels": [c["kind"] for c in channels]},
        )


@check("PUB-02", "decision-published")
def concern_and_technical_decisions_explained(ctx: RuleContext) -> Iterator[Violation]:
    """A decision of public concern or a technical one explains the adoption of opinions and is interpreted."""
    flags = {"public-concern", "technical"} & ctx.case.flags
    if not flags:
        return
    missing = []
    if not (ctx.payload.get("adoption_explanation") or "").strip():
        missing.append("how public and expert opinions were adopted (采纳情况, adoption_explanation)")
    if not ctx.payload.get("interpretation"):
        missing.append("its public interpretation: a press conference, interview or policy reading (宣传解读, interpretation)")
    if missing:
        yield Violation(
            "PUB-02",
            f"this case is flagged {', '.join(sorted(flags))}, so the publication must state " + "; ".join(missing) + ".",
            {"flags": sorted(flags), "missing": missing},
        )


@check("PUB-03", "publication-exempted")
def only_non_disclosed_matters_are_withheld(ctx: RuleContext) -> Iterator[Violation]:
    """Withholding publication needs the non-disclosure flag and its legal basis."""
    if not cites_non_disclosure_law(ctx.payload["basis"]):
        yield Violation(
            "PUB-03",
            f"the basis {ctx.payload['basis']!r} does not cite 《政府信息公开条例》第十四条至第十六条 or 《保守国家秘密法》.",
            {"basis": ctx.payload["basis"]},
        )
    if "non-disclosure" not in ctx.case.flags:
        yield Violation(
            "PUB-03",
            "only a matter lawfully not disclosed (依法不予公开) may be withheld from publication; this case is not flagged "
            "non-disclosure, so the decision must be published.",
            {"flags": sorted(ctx.case.flags)},
        )


@check("PUB-04", "decision-published")
def published_within_twenty_working_days(ctx: RuleContext) -> Iterator[Violation]:
    """Published within 20 working days of the meeting that decided it (the date it was 'formed')."""
    meetings = [m for m in ctx.case.records("meeting-held") if m["decision"] in ("approved", "approved-with-changes")]
    if not meetings:
        return
    limit = ctx.param("disclosure_limit_working_days")
    due = ctx.calendar.add_working_days(meetings[-1]["held_on"], limit)
    if ctx.payload["published_on"] > due:
        yield Violation(
            "PUB-04",
            f"the decision of {meetings[-1]['held_on']} should have been published within {limit} working days, by "
            f"{due} (20个工作日内及时公开); it was published on {ctx.payload['published_on']}.",
            {"decided_on": meetings[-1]["held_on"], "due": due, "published_on": ctx.payload["published_on"]},
        )


@check("EXE-01", "decision-published")
def decision_names_its_execution(ctx: RuleContext) -> Iterator[Violation]:
    """The decision names its executing units, goals, procedure, time limit and feedback."""
    plan = ctx.payload.get("execution") or {}
    labels = {
        "units": "执行主体 executing units",
        "goals": "执行目标 goals",
        "procedure": "执行程序 procedure",
        "time_limit": "执行时限 time limit",
        "feedback": "执行反馈 feedback",
    }
    missing = [label for key, label in labels.items() if not plan.get(key)]
    if missing:
        yield Violation(
            "EXE-01",
            "the decision must state how it is executed — missing: " + ", ".join(missing) + " (execution).",
            {"missing": missing},
        )


@check("PDE-02", "post-evaluation-done")
def evaluator_is_independent(ctx: RuleContext) -> Iterator[Violation]:
    """Not the unit that did the main argumentation or assessment before the decision (experts' units, the assessor)."""
    evaluator = ctx.payload["evaluator"]
    performers: dict[str, str] = {}
    for review in ctx.case.records("expert-review-concluded"):
        for e in review["experts"]:
            performers.setdefault(e["affiliation"], "expert review (专家论证)")
    for risk in ctx.case.records("risk-assessed"):
        if risk.get("assessor"):
            performers.setdefault(risk["assessor"], "risk assessment (风险评估)")
    clash = [f"{unit} ({stage})" for unit, stage in performers.items() if unit and (unit in evaluator or evaluator in unit)]
    if clash:
        yield Violation(
            "PDE-02",
            f"the evaluator {evaluator} did the main argumentation or assessment before the decision: "
            + "; ".join(clash) + " (决策作出前承担主要论证评估工作的单位除外).",
            {"evaluator": evaluator, "performers": clash},
        )


@check("PDE-03", "post-evaluation-done")
def evaluation_hears_the_public_and_deputies(ctx: RuleContext) -> Iterator[Violation]:
    """The evaluation hears the public and involves NPC deputies, CPPCC members and organisations."""
    missing = []
    if not (ctx.payload.get("public_input") or "").strip():
        missing.append("the public's opinions (听取社会公众的意见, public_input)")
    if not ctx.payload.get("participant_groups"):
        missing.append("deputies, members or organisations taking part (人大代表、政协委员…参与评估, participant_groups)")
    if missing:
        yield Violation("PDE-03", "the evaluation should record " + "; ".join(missing) + ".", {"missing": missing})


@check("ADJ-02", "adjustment-decided")
def only_the_head_suspends_urgently_on_an_article_35_ground(ctx: RuleContext) -> Iterator[Violation]:
    """中止执行: the head alone, urgent, after an art. 35 situation was reported."""
    p = ctx.payload
    if p["kind"] != "suspend":
        return
    problems = []
    if ctx.role != "head":
        problems.append(f"only the head (行政首长) may suspend execution; this is recorded by a {ctx.role}")
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


@check("ADJ-01", "adjustment-completed")
def adjustment_takes_effect_only_through_its_child_case(ctx: RuleContext) -> Iterator[Violation]:
    """The adjustment completes only for an opened child case (its decision is checked by the use case)."""
    opened = [a.get("child_case") for a in ctx.case.records("adjustment-decided") if a["kind"] != "suspend"]
    if ctx.payload["child_case"] not in opened:
        yield Violation(
            "ADJ-01",
            f"{ctx.payload['child_case']} is not an adjustment case opened for this decision; a decision is not changed "
            "or stopped without the statutory procedure (未经法定程序不得随意变更或者停止执行).",
            {"child_case": ctx.payload["child_case"], "opened": opened},
        )

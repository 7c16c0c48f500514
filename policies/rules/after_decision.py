"""After the decision: publication (SCP-07, PUB-01 to PUB-04), execution (EXE-01, EXE-03), post-evaluation (PDE-02,
PDE-03).
(PTY-01 gates publication, in order.py; EXE-02 is judged by the deadline sweep; adjustment is in adjustment.py.)"""

from __future__ import annotations

from typing import Iterator

from policies.deadlines import adopting_meeting, disclosure_limit
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


@check("SCP-07", "decision-published")
def reported_to_the_npc_before_issuance(ctx: RuleContext) -> Iterator[Violation]:
    """Flagged npc-report: publication waits for a recorded `npc-reported` (HARD, 条例 art. 8). A pack whose SCP-07
    has an `unflagged` part (the Sanya plan: report and hear the CPPCC before issuance) asks it of every case (WARN)."""
    if ctx.case.records("npc-reported"):
        return
    flagged = "npc-report" in ctx.case.flags
    if not flagged and "unflagged" not in ctx.pack.rules["SCP-07"].enforcement:
        return
    yield Violation(
        "SCP-07",
        "the decision has not been reported to the people's congress standing committee (向人大常委会报告)"
        + ("" if flagged else " nor the CPPCC heard (听取政协意见)")
        + " before issuance; record `npc-reported` first"
        + ("" if flagged else ", or acknowledge why this decision needs no report") + ".",
        {"flagged": flagged},
        part="default" if flagged else "unflagged",
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
    meeting = adopting_meeting(ctx.case)
    if meeting is None:
        return
    lim = disclosure_limit(ctx.pack, ctx.calendar, meeting["held_on"])
    if ctx.payload["published_on"] > lim.due:
        yield Violation(
            "PUB-04",
            f"the decision of {lim.formed_on} should have been published within {lim.limit} working days, by "
            f"{lim.due} (20个工作日内及时公开); it was published on {ctx.payload['published_on']}.",
            {"decided_on": lim.formed_on, "due": lim.due, "published_on": ctx.payload["published_on"]},
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


@check("EXE-03", "execution-problem-reported")
def problem_reported_to_the_organ_with_what_and_when(ctx: RuleContext) -> Iterator[Violation]:
    """The structured report of a problem, a major change or force majeure (条例 art. 35(1)): what happened (the kind
    and the description, by the schema), when it happened (occurred_on, not after the report), and to whom — the
    decision organ (应当及时向决策机关报告)."""
    p = ctx.payload
    problems = []
    organ = ctx.case.organ
    to = p["reported_to"].strip()
    if not (organ in to or to in organ):
        problems.append(f"it is addressed to {to}, not to the decision organ {organ} (向决策机关报告, reported_to)")
    if p.get("occurred_on") is None:
        problems.append("it does not say when the problem arose or was found (occurred_on)")
    elif p["occurred_on"] > p["reported_on"]:
        problems.append(f"it happened on {p['occurred_on']}, after the report of {p['reported_on']} (occurred_on)")
    if problems:
        yield Violation(
            "EXE-03",
            "a problem in execution is reported to the decision organ, saying what happened and when: "
            + "; ".join(problems) + ".",
            {"problems": problems, "organ": organ},
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

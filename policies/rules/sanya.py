"""Rules that rest on the Sanya plan (三亚方案, sections 十七–二十), active only in the `sanya-2022` overlay: PP-08,
PP-09, HRG-06, EXP-05, RSK-05. A pack that does not carry a rule does not enforce it. (SCP-07, national since
cn-2019@2, is in after_decision.py; the Sanya pack adds its unflagged WARN part.)"""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check

HEARD_GROUPS = {"npc-deputy", "cppcc-member", "people-organisation", "grassroots", "social-organisation"}
GROUP_ZH = "人大代表、政协委员、人民团体、基层组织、社会组织"


@check("PP-08", "participation-concluded")
def weighty_decisions_hear_deputies_and_organisations(ctx: RuleContext) -> Iterator[Violation]:
    """Livelihood cases and important plans, policies and construction projects hear the groups the plan names."""
    if "livelihood" not in ctx.case.flags and ctx.case.category not in ctx.param("livelihood_categories"):
        return
    heard = {g for e in ("participation-activity-held", "hearing-held") for r in ctx.case.records(e)
             for g in r.get("participant_groups", ())}
    if not heard & HEARD_GROUPS:
        yield Violation(
            "PP-08",
            f"no participation activity recorded hearing {GROUP_ZH} (participant_groups); the Sanya plan asks that "
            "decisions of this weight hear them (注重听取有关人大代表、政协委员…的意见).",
            {"heard": sorted(heard)},
        )


@check("PP-09", "participation-concluded")
def livelihood_decisions_carry_a_survey(ctx: RuleContext) -> Iterator[Violation]:
    """A livelihood decision (重大民生决策) carries an opinion survey or questionnaire."""
    if "livelihood" not in ctx.case.flags:
        return
    methods = {r["method"] for r in ctx.case.records("participation-activity-held")}
    if not methods & {"opinion-poll", "questionnaire"}:
        yield Violation(
            "PP-09",
            "a livelihood decision (重大民生决策事项) should carry an opinion survey (民意调查制度): record a "
            "`participation-activity-held` with method opinion-poll or questionnaire.",
            {"methods": sorted(methods)},
        )


@check("HRG-06", "participation-concluded")
def hearing_feedback_published(ctx: RuleContext) -> Iterator[Violation]:
    """After a hearing, the feedback on its opinions is published (及时向社会公布意见反馈情况)."""
    if ctx.case.records("hearing-held") and not ctx.payload.get("hearing_feedback_published_on"):
        yield Violation(
            "HRG-06",
            "a hearing was held, and the feedback on how its opinions were handled has not been published "
            "(hearing_feedback_published_on).",
        )


@check("EXP-05", "expert-review-concluded")
def expert_opinions_published(ctx: RuleContext) -> Iterator[Violation]:
    """Expert information and opinions are published, unless the matter is not disclosed."""
    if "non-disclosure" not in ctx.case.flags and not (ctx.payload.get("publication_ref") or "").strip():
        yield Violation(
            "EXP-05",
            "the Sanya plan publishes expert information and opinions (实行专家信息和论证意见公开); give where "
            "(publication_ref), or acknowledge with the reason they are withheld.",
        )


@check("RSK-05", "risk-assessed")
def risk_report_published(ctx: RuleContext) -> Iterator[Violation]:
    """The risk report is published, unless the matter is not disclosed."""
    if "non-disclosure" not in ctx.case.flags and not (ctx.payload.get("publication_ref") or "").strip():
        yield Violation(
            "RSK-05",
            "the Sanya plan publishes the risk assessment report (形成风险评估报告并向社会公布); give where "
            "(publication_ref), or acknowledge with the reason it is withheld.",
        )

"""Expert review (EXP-01, EXP-02, EXP-04, EXP-06) and risk assessment (RSK-01, RSK-02, RSK-04, RSK-08) — through the
use cases on a real SQLite workspace."""

from __future__ import annotations

from typing import Any

import pytest

from policies.errors import BadInput
from support import Driver, payload
from rule_assertions import assert_acknowledged_warning, assert_refused

# --- helpers --------------------------------------------------------------------------------------------------


PARTICIPATION = ("participation-activity-held", "participation-concluded")
TO_RISK = PARTICIPATION + ("expert-review-concluded",)
TO_LEGALITY = TO_RISK + ("risk-assessed",)

EXPERTS = payload("expert-review-concluded")["experts"]
OPINIONS = payload("expert-review-concluded")["opinions"]


def with_expert(i: int, **changes: Any) -> list[dict[str, Any]]:
    experts = [dict(e) for e in EXPERTS]
    experts[i].update(changes)
    return experts


def with_opinion(i: int, **changes: Any) -> list[dict[str, Any]]:
    opinions = [dict(o) for o in OPINIONS]
    opinions[i].update(changes)
    return opinions


# --- EXP-01: technical items need experts -----------------------------------------------------------------------


def test_a_technical_case_cannot_waive_expert_review_exp_01(case):
    case.walk(PARTICIPATION)
    assert_refused(case, "expert-review-waived", rule="EXP-01", article="第十九条")


def test_a_case_not_flagged_technical_may_waive_expert_review(ws):
    d = Driver(ws)
    d.launch("risk-relevant")
    d.walk(PARTICIPATION)
    d.record("expert-review-waived")
    assert d.status("expert_review") == "waived"
    d.record("risk-assessed")
    assert d.status("risk_assessment") == "concluded"


def test_risk_assessment_cannot_start_before_expert_review_is_recorded_exp_01(case):
    case.walk(PARTICIPATION)
    assert_refused(case, "risk-assessed", rule="EXP-01", article="第十九条")
    case.record("expert-review-concluded")
    case.record("risk-assessed")
    assert case.status("risk_assessment") == "concluded"


# --- EXP-02: signed and sealed ----------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"signed": False}, {"sealed": False}, {"signed": False, "sealed": False}],
                         ids=["unsigned", "unsealed", "neither"])
def test_an_expert_opinion_not_signed_and_sealed_is_refused_with_exp_02(case, changes):
    case.walk(PARTICIPATION)
    assert_refused(case, "expert-review-concluded", rule="EXP-02", article="第十九条第二款",
                   opinions=with_opinion(1, **changes))


def test_signed_and_sealed_expert_opinions_are_recorded(case):
    case.walk(PARTICIPATION)
    case.record("expert-review-concluded")
    assert case.status("expert_review") == "concluded"


# --- EXP-04: neutral and diverse panel --------------------------------------------------------------------------


def test_an_expert_with_a_direct_interest_is_refused_with_exp_04(case):
    case.walk(PARTICIPATION)
    err = assert_refused(case, "expert-review-concluded", rule="EXP-04", article="第二十条",
                         experts=with_expert(1, conflict_of_interest="所在设计院承担本项目施工图设计"))
    assert next(f for f in err.findings if f.rule == "EXP-04").enforcement == "HARD"


def test_a_conflict_of_interest_cannot_be_acknowledged_away(case):
    case.walk(PARTICIPATION)
    assert_refused(case, "expert-review-concluded", rule="EXP-04", article="第二十条",
                   experts=with_expert(1, conflict_of_interest="承担本项目设计"),
                   acknowledge=(("EXP-04", "专家库人数不足"),))


@pytest.mark.parametrize(
    "experts",
    [with_expert(1, affiliation="海南大学"), with_expert(1, stance="支持分期")],
    ids=["one-affiliation", "one-view"],
)
def test_a_homogeneous_panel_is_a_warning_recorded_only_when_acknowledged(case, experts):
    case.walk(PARTICIPATION)
    assert_refused(case, "expert-review-concluded", rule="EXP-04", article="第二十条", enforcement="WARN",
                   experts=experts)
    assert_acknowledged_warning(case, "expert-review-concluded", "EXP-04", "省专家库该专业仅两名专家可选",
                                experts=experts)
    assert case.status("expert_review") == "concluded"


def test_acknowledging_exp_04_for_a_diverse_panel_is_bad_input(case):
    case.walk(PARTICIPATION)
    with pytest.raises(BadInput) as exc:
        case.record("expert-review-concluded", acknowledge=(("EXP-04", "预防性确认"),))
    assert exc.value.exit_code == 2
    assert case.status("expert_review") == "pending"


# --- EXP-06: the adoption report --------------------------------------------------------------------------------


@pytest.mark.parametrize("report", ["", "   "], ids=["empty", "blank"])
def test_expert_review_without_an_adoption_report_is_refused_with_exp_06(case, report):
    case.walk(PARTICIPATION)
    assert_refused(case, "expert-review-concluded", rule="EXP-06", article="第二十九条", adoption_report=report)


# --- RSK-01: risk-relevant cases are assessed -------------------------------------------------------------------


def test_a_risk_relevant_case_cannot_waive_risk_assessment_rsk_01(case):
    case.walk(TO_RISK)
    assert_refused(case, "risk-assessment-waived", rule="RSK-01", article="第二十二条")


def test_a_case_not_flagged_risk_relevant_may_waive_risk_assessment(ws):
    d = Driver(ws)
    d.launch("technical")
    d.walk(TO_RISK)
    d.record("risk-assessment-waived")
    assert d.status("risk_assessment") == "waived"
    d.record("legality-review-submitted")
    assert d.status("legality_review") == "in-progress"


def test_legality_review_cannot_start_before_risk_is_recorded_rsk_01(case):
    case.walk(TO_RISK)
    assert_refused(case, "legality-review-submitted", rule="RSK-01", article="第二十二条")
    case.record("risk-assessed")
    case.record("legality-review-submitted")
    assert case.status("legality_review") == "in-progress"


# --- RSK-02: reuse names the prior report -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["ref", "issuer", "issued_on", "scope"])
def test_reusing_an_assessment_without_identifying_it_is_refused_with_rsk_02(case, missing):
    case.walk(TO_RISK)
    prior = dict(payload("risk-assessment-reused")["prior_report"])
    prior[missing] = None if missing == "issued_on" else ""
    assert_refused(case, "risk-assessment-reused", rule="RSK-02", article="第二十二条第二款", prior_report=prior)


def test_reusing_an_identified_prior_assessment_concludes_the_risk_stage(case):
    case.walk(TO_RISK)
    case.record("risk-assessment-reused")
    assert case.status("risk_assessment") == "concluded"


# --- RSK-04: the report is complete -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"departments_consulted": []}, {"risk_points": []}, {"measures": []}, {"contingency_plan": " "}],
    ids=["no-departments", "no-risk-points", "no-measures", "no-contingency-plan"],
)
def test_an_incomplete_risk_report_is_refused_with_rsk_04(case, changes):
    case.walk(TO_RISK)
    assert_refused(case, "risk-assessed", rule="RSK-04", article="第二十三条", **changes)


def test_a_complete_risk_report_concludes_the_risk_stage(case):
    case.walk(TO_RISK)
    case.record("risk-assessed")
    assert case.status("risk_assessment") == "concluded"


# --- RSK-08: adopting needs controllable risk -------------------------------------------------------------------


def uncontrollable_case(case: Driver) -> Driver:
    case.walk(TO_RISK)
    case.record("risk-assessed", level="high", controllable=False)
    case.walk(("legality-review-submitted", "legality-opinion-issued"))
    return case


def test_a_meeting_cannot_adopt_a_draft_whose_risk_is_not_controllable_rsk_08(case):
    uncontrollable_case(case)
    assert_refused(case, "meeting-held", rule="RSK-08", article="第二十四条")
    assert_refused(case, "meeting-held", rule="RSK-08", article="第二十四条", decision="approved-with-changes",
                   opinions=[{"member": m, "position": "approve-with-changes"} for m in ("刘副市长", "陈副市长", "李市长")])


def test_a_meeting_may_reject_a_draft_whose_risk_is_not_controllable(case):
    uncontrollable_case(case)
    case.record("meeting-held", decision="rejected",
                opinions=[{"member": m, "position": "oppose"} for m in ("刘副市长", "陈副市长", "李市长")])
    assert case.status("collective_discussion") == "concluded"


def test_a_meeting_adopts_a_draft_whose_risk_was_found_controllable(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted", "legality-opinion-issued"))
    case.record("meeting-held")
    assert case.status("collective_discussion") == "concluded"


def test_after_the_draft_is_adjusted_a_new_assessment_finding_the_risk_controllable_lets_the_meeting_adopt(case):
    # 条例 art. 24 and RSK-08: 在采取调整决策草案等措施确保风险可控后，可以作出决策 — the engine's own refusal says
    # "a new assessment finds the risk controllable", so a re-assessment of the adjusted draft must be recordable.
    case.walk(TO_RISK)
    case.record("risk-assessed", level="high", controllable=False)
    case.record("risk-assessed", assessed_on="2025-10-24", level="low", controllable=True)
    case.record("legality-review-submitted", submitted_on="2025-10-24")
    case.record("legality-opinion-issued", issued_on="2025-10-31")
    case.record("meeting-held", held_on="2025-11-05")
    assert case.status("collective_discussion") == "concluded"

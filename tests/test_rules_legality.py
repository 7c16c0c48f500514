"""Legality review (LEG-01 to LEG-07): the review before the meeting, its materials and time, its opinion and the
unit's answer — through the use cases on a real SQLite workspace. W1 pins down the reviewer's 7 working days."""

from __future__ import annotations


import pytest

from flows.usecases.audit import verify_cases
from policies.errors import BadInput, RuleRefusal
from support import Driver, payload
from rule_assertions import assert_refused

# --- helpers --------------------------------------------------------------------------------------------------


def finding(err: RuleRefusal, rule: str):
    return next(f for f in err.findings if f.rule == rule)


TO_LEGALITY = ("consultation-opened", "participation-concluded", "expert-review-concluded", "risk-assessed")
REVIEWED = TO_LEGALITY + ("legality-review-submitted", "legality-opinion-issued")
UNLAWFUL = {"conclusion": "unlawful", "findings": {"authority": "属于市政府职权", "procedure": "程序完备",
                                                   "content": "补偿方式与上位法不一致"}}
CHANGES = [{"item": "明确过渡期限"}, {"item": "补充资金来源说明"}]


# --- LEG-01: no meeting before the review -----------------------------------------------------------------------


def test_a_meeting_before_the_draft_is_submitted_for_legality_review_is_refused_with_leg_01(case):
    case.walk(TO_LEGALITY)
    assert_refused(case, "meeting-held", rule="LEG-01", article="第二十五条")


def test_a_meeting_while_the_review_is_still_running_is_refused_with_leg_01(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    assert_refused(case, "meeting-held", rule="LEG-01", article="第二十五条")


def test_a_meeting_after_a_lawful_opinion_is_recorded(case):
    case.walk(REVIEWED)
    assert case.status("legality_review") == "concluded"
    case.record("meeting-held")
    assert case.status("collective_discussion") == "concluded"


# --- LEG-02: an unlawful draft does not go to the meeting -------------------------------------------------------


def test_a_meeting_on_a_draft_found_unlawful_is_refused_with_leg_02(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    case.record("legality-opinion-issued", **UNLAWFUL)
    assert case.status("legality_review") == "in-progress"
    assert_refused(case, "meeting-held", rule="LEG-02", article="第二十五条第二款")


def test_a_legal_risk_statement_does_not_open_the_meeting_for_a_case_not_flagged_exploratory(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    case.record("legality-opinion-issued", **UNLAWFUL, legal_risk_statement="上位法未作规定，存在被撤销风险")
    assert_refused(case, "meeting-held", rule="LEG-02", article="第二十五条第二款")


def test_an_unlawful_draft_revised_and_found_lawful_goes_to_the_meeting(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    case.record("legality-opinion-issued", **UNLAWFUL)
    case.record("legality-review-submitted", submitted_on="2025-10-28")
    case.record("legality-opinion-issued", issued_on="2025-11-05")
    case.record("meeting-held", held_on="2025-11-07")  # 7th working day after 10-28 is 11-06
    assert case.status("collective_discussion") == "concluded"


@pytest.fixture
def exploratory(ws):
    d = Driver(ws)
    d.launch("exploratory", "risk-relevant", "technical")
    d.walk(TO_LEGALITY + ("legality-review-submitted",))
    return d


def test_an_exploratory_item_goes_to_the_meeting_with_its_legal_risk_stated(exploratory):
    exploratory.record("legality-opinion-issued", **UNLAWFUL,
                       legal_risk_statement="国家尚无明确规定；存在被上级机关纠正的法律风险，已在草案说明中明示")
    assert exploratory.status("legality_review") == "concluded"
    # The legal-risk statement is carried into the meeting package (LEG-02, CD-01).
    assert_refused(exploratory, "meeting-held", rule="CD-01", article="第二十九条")
    package = payload("meeting-held")["package"] + [{"kind": "legal-risk-statement", "title": "法律风险说明"}]
    exploratory.record("meeting-held", package=package)
    assert exploratory.status("collective_discussion") == "concluded"
    assert verify_cases(exploratory.ws).exit_code == 0


def test_an_exploratory_item_found_unlawful_without_a_legal_risk_statement_is_refused_with_leg_02(exploratory):
    exploratory.record("legality-opinion-issued", **UNLAWFUL)
    assert_refused(exploratory, "meeting-held", rule="LEG-02", article="第二十五条第二款")


# --- LEG-03: the submission and the reviewer's working material -------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"materials": [{"kind": "draft", "title": "实施方案（送审稿）"}]},
        {"materials": [{"kind": "procedure-statement", "title": "履行法定程序的说明"}]},
        {"legal_basis": []},
    ],
    ids=["no-procedure-statement", "no-draft", "no-legal-basis"],
)
def test_an_incomplete_submission_is_refused_with_leg_03(case, changes):
    case.walk(TO_LEGALITY)
    assert_refused(case, "legality-review-submitted", rule="LEG-03", article="第二十六条第一款", **changes)


def test_an_opinion_without_a_submission_is_refused_with_leg_03(case):
    case.walk(TO_LEGALITY)
    assert_refused(case, "legality-opinion-issued", rule="LEG-03", article="第二十六条")
    assert_refused(case, "legality-review-returned", rule="LEG-03", article="第二十六条")


def test_after_a_return_the_opinion_waits_for_the_complete_resubmission_leg_03(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted", "legality-review-returned"))
    assert_refused(case, "legality-opinion-issued", rule="LEG-03", article="第二十六条")
    case.record("legality-review-submitted", submitted_on="2025-10-24")
    case.record("legality-opinion-issued", issued_on="2025-10-31")
    assert case.status("legality_review") == "concluded"


def test_a_second_submission_while_the_first_is_with_the_reviewer_is_refused_with_leg_03(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    err = assert_refused(case, "legality-review-submitted", rule="LEG-03", article="第二十六条", submitted_on="2025-10-22")
    assert "already with the reviewer" in err.message


# --- LEG-04: seven working days (W1) ----------------------------------------------------------------------------


@pytest.fixture
def w1(case):
    """The case walked on an earlier timeline: complete materials received 2025-09-29 (Mon), opinion 2025-10-09."""
    case.record("participation-activity-held", held_on="2025-08-26")
    case.record("participation-concluded", concluded_on="2025-09-24")
    case.record("expert-review-concluded", held_on="2025-09-25")
    case.record("risk-assessed", assessed_on="2025-09-26")
    case.record("legality-review-submitted", submitted_on="2025-09-29")
    case.record("legality-opinion-issued", issued_on="2025-10-09")
    return case


def test_w1_a_meeting_on_the_seventh_working_day_2025_10_15_is_refused_with_a_leg_04_warning(w1):
    err = assert_refused(w1, "meeting-held", rule="LEG-04", article="第二十六条第二款", enforcement="WARN",
                         held_on="2025-10-15")
    assert str(finding(err, "LEG-04").values["seventh_working_day"]) == "2025-10-15"
    assert w1.show().refused_attempts[-1]["rules"] == ["LEG-04"]


def test_w1_a_meeting_on_the_seventh_working_day_is_recorded_when_leg_04_is_acknowledged(w1):
    reason = "市司法局书面确认审查已完成"
    result = w1.record("meeting-held", held_on="2025-10-15", acknowledge=(("LEG-04", reason),))
    assert [f.rule for f in result.acknowledged] == ["LEG-04"]
    assert w1.status("collective_discussion") == "concluded"
    (ack,) = w1.show().acknowledged
    assert (ack["rule"], ack["event"], ack["reason"]) == ("LEG-04", "meeting-held", reason)
    report = verify_cases(w1.ws)
    assert report.exit_code == 0
    verdict = next(v for v in report.cases if v.case_id == w1.case_id)
    assert verdict.findings == ()
    assert [(a["rule"], a["reason"]) for a in verdict.acknowledged] == [("LEG-04", reason)]


def test_w1_a_meeting_before_the_seventh_working_day_is_also_a_leg_04_warning(w1):
    assert_refused(w1, "meeting-held", rule="LEG-04", article="第二十六条", enforcement="WARN", held_on="2025-10-13")


def test_w1_a_meeting_on_2025_10_16_is_clean(w1):
    result = w1.record("meeting-held", held_on="2025-10-16")
    assert result.acknowledged == ()
    assert w1.show().acknowledged == ()
    assert verify_cases(w1.ws).exit_code == 0


def test_acknowledging_leg_04_for_a_clean_meeting_date_is_bad_input(w1):
    with pytest.raises(BadInput) as exc:
        w1.record("meeting-held", held_on="2025-10-16", acknowledge=(("LEG-04", "预防性确认"),))
    assert exc.value.exit_code == 2
    assert w1.status("collective_discussion") == "pending"


def test_a_resubmission_after_a_return_restarts_the_seven_working_days(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted", "legality-review-returned"))  # submitted 10-21, returned 10-22
    case.record("legality-review-submitted", submitted_on="2025-10-24")
    case.record("legality-opinion-issued", issued_on="2025-10-31")
    # 11-03 is clean counted from 10-21 (its 7th working day is 10-30), but not from the resubmission on 10-24.
    err = assert_refused(case, "meeting-held", rule="LEG-04", article="第二十六条第二款", enforcement="WARN",
                         held_on="2025-11-03")
    assert str(finding(err, "LEG-04").values["submitted_on"]) == "2025-10-24"
    assert str(finding(err, "LEG-04").values["seventh_working_day"]) == "2025-11-04"
    case.record("meeting-held", held_on="2025-11-05")
    assert case.status("collective_discussion") == "concluded"


# --- LEG-05, LEG-06: the opinion ------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["authority", "procedure", "content"])
def test_an_opinion_without_a_finding_on_each_of_the_three_points_is_refused_with_leg_05(case, missing):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    findings = dict(payload("legality-opinion-issued")["findings"])
    findings[missing] = ""
    assert_refused(case, "legality-opinion-issued", rule="LEG-05", article="第二十七条", findings=findings)


def test_an_opinion_without_a_legal_adviser_is_refused_with_leg_06(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    assert_refused(case, "legality-opinion-issued", rule="LEG-06", article="第二十八条", adviser_opinions=[])


def test_an_opinion_with_a_public_lawyer_and_three_findings_concludes_the_review(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    case.record("legality-opinion-issued", adviser_opinions=[{"name": "孙丽", "role": "public-lawyer"}])
    assert case.status("legality_review") == "concluded"


# --- LEG-07: lawful with changes --------------------------------------------------------------------------------


def test_an_opinion_of_lawful_with_changes_that_lists_no_change_is_refused_with_leg_07(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    assert_refused(case, "legality-opinion-issued", rule="LEG-07", article="第二十八条", conclusion="lawful-with-changes")


@pytest.fixture
def with_changes(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    case.record("legality-opinion-issued", conclusion="lawful-with-changes", required_changes=CHANGES)
    return case


def test_a_meeting_is_refused_with_leg_07_until_the_required_changes_are_answered(with_changes):
    assert with_changes.status("legality_review") == "in-progress"
    assert_refused(with_changes, "meeting-held", rule="LEG-07", article="第二十八条")


def test_an_answer_that_leaves_a_required_change_unanswered_is_refused_with_leg_07(with_changes):
    err = assert_refused(with_changes, "legality-opinion-answered", rule="LEG-07", article="第二十八条",
                         responses=[{"item": "明确过渡期限", "change": "增加第五条"}])
    assert finding(err, "LEG-07").values["unanswered"] == ["补充资金来源说明"]


def test_answering_every_required_change_concludes_the_review_and_opens_the_meeting(with_changes):
    with_changes.record("legality-opinion-answered", responses=[
        {"item": "明确过渡期限", "change": "增加第五条"},
        {"item": "补充资金来源说明", "change": "附件三列明市财政专项资金"},
    ])
    assert with_changes.status("legality_review") == "concluded"
    with_changes.record("meeting-held")
    assert with_changes.status("collective_discussion") == "concluded"


def test_an_answer_with_no_opinion_waiting_for_it_is_refused_with_leg_07(case):
    case.walk(TO_LEGALITY + ("legality-review-submitted",))
    assert_refused(case, "legality-opinion-answered", rule="LEG-07", article="第二十八条")

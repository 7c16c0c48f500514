"""Launching a case (SCP-02, SCP-03), public participation (PP-01, PP-04, PP-05, PP-07), hearings (HRG-02 to
HRG-05), who may record a step (ROLE-01), and what a refused attempt leaves in the history — through the use cases
on a real SQLite workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from flows.usecases.audit import replay_case, verify_cases
from flows.usecases.show import list_cases
from flows.usecases.clock import LOCAL
from policies.errors import BadInput, RuleRefusal
from support import CLERK, LEGAL, REVIEWER, Driver, new_workspace, payload
from rule_assertions import assert_acknowledged_warning, assert_refused, stage_statuses

# --- helpers --------------------------------------------------------------------------------------------------


def status(case: Driver, stage: str) -> str:
    return case.status(stage)


# --- SCP-02, SCP-03: launching ----------------------------------------------------------------------------------


def test_a_case_outside_the_five_categories_is_refused_with_scp_02(ws):
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch(category="sports-event")
    assert exc.value.code == "SCP-02"
    assert exc.value.exit_code == 3
    assert "第三条第一款" in exc.value.findings[0].article
    assert list_cases(ws) == []


@pytest.mark.parametrize("category", ["emergency", "legislation", "macro-control", "monetary-policy"])
def test_a_decision_type_excluded_from_the_procedure_is_refused_with_scp_03(ws, category: str):
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch(category=category)
    assert exc.value.code == "SCP-03"
    assert exc.value.exit_code == 3
    assert "第三条第二款" in exc.value.findings[0].article
    assert list_cases(ws) == []


def test_a_case_in_one_of_the_five_categories_is_launched(ws):
    d = Driver(ws)
    d.launch(category="public-policy")
    assert [c.case_id for c in list_cases(ws)] == [d.case_id]
    assert status(d, "public_participation") == "pending"


# --- ROLE-01 and refused attempts -------------------------------------------------------------------------------


def test_a_step_recorded_by_the_wrong_role_is_refused_with_role_01_and_leaves_nothing(case):
    events_before = case.show().events
    err = assert_refused(case, "participation-exempted", actor=CLERK, rule="ROLE-01", article="第十四条第一款")
    assert err.code == "ROLE-01"
    view = case.show()
    assert view.refused_attempts == ()
    assert view.events == events_before


def test_a_consultation_recorded_by_the_reviewer_is_refused_with_role_01(case):
    assert_refused(case, "consultation-opened", actor=REVIEWER, rule="ROLE-01", article="第十五条")
    assert case.show().refused_attempts == ()


def test_a_refused_attempt_by_the_right_role_is_kept_naming_the_rule(case):
    assert_refused(case, "expert-review-concluded", rule="PP-01", article="第十四条")
    (attempt,) = case.show().refused_attempts
    assert attempt["attempted"] == "expert-review-concluded"
    assert attempt["rules"] == ["PP-01"]
    assert attempt["actor"] == CLERK.label
    report = verify_cases(case.ws)
    assert report.exit_code == 0
    assert next(v for v in report.cases if v.case_id == case.case_id).refused_attempts == 1


# --- PP-01: the public must be heard ----------------------------------------------------------------------------


def test_participation_cannot_be_concluded_before_any_activity_pp_01(case):
    assert_refused(case, "participation-concluded", rule="PP-01", article="第十四条")


def test_participation_is_concluded_after_a_forum(case):
    case.record("participation-activity-held")
    case.record("participation-concluded")
    assert status(case, "public_participation") == "concluded"


def test_participation_cannot_be_exempted_without_the_non_disclosure_flag_pp_01(case):
    assert_refused(case, "participation-exempted", rule="PP-01", article="第十四条第一款")


def test_participation_is_exempted_for_a_case_flagged_non_disclosure(ws):
    d = Driver(ws)
    d.launch("non-disclosure")
    d.record("participation-exempted")
    assert status(d, "public_participation") == "exempted"
    d.record("expert-review-waived")
    assert status(d, "expert_review") == "waived"


def test_expert_review_cannot_start_before_participation_is_recorded_pp_01(case):
    case.record("consultation-opened")
    assert_refused(case, "expert-review-concluded", rule="PP-01", article="第十四条")
    case.record("participation-concluded")
    case.record("expert-review-concluded")
    assert status(case, "expert_review") == "concluded"


# --- PP-04: what the consultation notice publishes --------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"channels": []},
        {"channels": [{"kind": "website", "ref": ""}]},
        {"explanation_sha256": None},
        {"draft_sha256": None},
        {"comment_methods": []},
    ],
    ids=["no-channel", "channel-without-address", "no-explanation", "no-draft", "no-comment-method"],
)
def test_a_consultation_notice_missing_what_the_public_needs_is_refused_with_pp_04(case, changes):
    assert_refused(case, "consultation-opened", rule="PP-04", article="第十五条", **changes)


def test_a_complete_consultation_notice_is_recorded(case):
    case.record("consultation-opened")
    assert status(case, "public_participation") == "in-progress"


# --- PP-05: thirty days (W2) ------------------------------------------------------------------------------------


def test_w2_a_deadline_before_day_thirty_without_a_shortening_reason_is_refused_with_pp_05(case):
    err = assert_refused(case, "consultation-opened", rule="PP-05", article="第十五条", deadline="2025-09-30")
    finding = next(f for f in err.findings if f.rule == "PP-05")
    assert str(finding.values["nominal_last_day"]) == "2025-10-01"


def test_w2_a_shortened_consultation_explained_in_the_notice_is_recorded(case):
    case.record("consultation-opened", deadline="2025-09-30", shortened_reason="台风灾后重建，情况紧急")
    case.record("participation-concluded")
    assert status(case, "public_participation") == "concluded"


def test_w2_a_deadline_inside_the_holiday_extension_is_a_warning_recorded_only_when_acknowledged(case):
    err = assert_refused(
        case, "consultation-opened", rule="PP-05", article="第十五条", enforcement="WARN", deadline="2025-10-05"
    )
    assert str(next(f for f in err.findings if f.rule == "PP-05").values["last_day"]) == "2025-10-09"
    assert_acknowledged_warning(case, "consultation-opened", "PP-05", "国庆假期内不安排集中收集意见，已在公告中说明",
                                deadline="2025-10-05")


def test_w2_a_deadline_on_2025_10_09_is_clean(case):
    result = case.record("consultation-opened", deadline="2025-10-09")
    assert result.acknowledged == ()
    assert case.show().acknowledged == ()


def test_acknowledging_pp_05_when_the_deadline_raised_no_warning_is_bad_input(case):
    before = case.show().events
    with pytest.raises(BadInput) as exc:
        case.record("consultation-opened", deadline="2025-10-09", acknowledge=(("PP-05", "以防万一"),))
    assert exc.value.exit_code == 2
    assert case.show().events == before


def test_a_deadline_not_after_the_publication_day_is_refused_with_pp_05(case):
    assert_refused(case, "consultation-opened", rule="PP-05", article="第十五条", deadline="2025-09-01",
                   shortened_reason="紧急")


def test_participation_cannot_be_concluded_while_the_consultation_is_open_pp_05(case):
    case.record("consultation-opened")
    assert_refused(case, "participation-concluded", rule="PP-05", article="第十五条", concluded_on="2025-10-09")
    case.record("participation-concluded", concluded_on="2025-10-10")
    assert status(case, "public_participation") == "concluded"


def test_a_consultation_whose_thirty_days_run_into_2027_is_refused_with_cal_05(tmp_path):
    d = Driver(new_workspace(tmp_path / "ws", start=datetime(2026, 12, 10, 9, 0, tzinfo=LOCAL)))
    d.launch("risk-relevant")
    before = stage_statuses(d)
    with pytest.raises(RuleRefusal) as exc:
        d.record("consultation-opened", published_on="2026-12-15", deadline="2027-01-15")
    assert exc.value.code == "CAL-05"
    assert exc.value.exit_code == 3
    assert stage_statuses(d) == before
    assert [r["rules"] for r in d.show().refused_attempts] == [["CAL-05"]]  # kept like any refused attempt


# --- PP-07: the handling report ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "report",
    [
        None,
        {"main_opinions": "", "adopted": "提高补偿系数", "not_adopted": "", "reasons": ""},
        {"main_opinions": "补偿标准偏低", "adopted": "", "not_adopted": "", "reasons": ""},
        {"main_opinions": "补偿标准偏低", "adopted": "", "not_adopted": "原地回迁", "reasons": ""},
    ],
    ids=["no-report", "no-main-opinions", "nothing-adopted-or-not", "not-adopted-without-reasons"],
)
def test_participation_without_a_complete_handling_report_is_refused_with_pp_07(case, report):
    case.record("participation-activity-held")
    assert_refused(case, "participation-concluded", rule="PP-07", article="第十八条", handling_report=report)


def test_participation_with_a_complete_handling_report_is_concluded(case):
    case.record("participation-activity-held")
    case.record("participation-concluded")
    assert status(case, "public_participation") == "concluded"


# --- HRG-02: the notice comes first -----------------------------------------------------------------------------


def test_a_hearing_announced_on_its_own_day_is_refused_with_hrg_02(case):
    assert_refused(case, "hearing-announced", rule="HRG-02", article="第十六条", notice_published_on="2025-09-26")


def test_a_hearing_held_before_its_notice_is_refused_with_hrg_02(case):
    assert_refused(case, "hearing-held", rule="HRG-02", article="第十六条", notice_published_on="2025-09-27")


def test_a_hearing_announced_in_advance_and_held_is_recorded(case):
    case.record("hearing-announced")
    case.record("hearing-held")
    assert status(case, "public_participation") == "in-progress"
    assert "hearing-held" in [e.type for e in replay_case(case.ws, case.case_id).events]


# --- HRG-03: selection and representation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"selection_method_published_on": "2025-09-12"},
        {"selection_method_published_on": None},
        {"list_published_on": "2025-09-26"},
        {"list_published_on": None},
    ],
    ids=["method-published-on-selection-day", "method-never-published", "list-published-on-hearing-day", "list-never-published"],
)
def test_a_hearing_without_an_openly_published_selection_is_refused_with_hrg_03(case, changes):
    assert_refused(case, "hearing-held", rule="HRG-03", article="第十六条第三款", **changes)


def test_a_hearing_with_method_and_list_published_in_advance_and_every_side_represented_is_recorded(case):
    result = case.record("hearing-held")
    assert result.acknowledged == ()
    assert verify_cases(case.ws).exit_code == 0


def test_a_hearing_with_an_unrepresented_side_is_a_warning_recorded_only_when_acknowledged(case):
    sides = ["被征收户", "周边居民", "建设单位"]
    assert_refused(case, "hearing-held", rule="HRG-03", article="第十六条第三款", enforcement="WARN", sides=sides)
    assert_acknowledged_warning(case, "hearing-held", "HRG-03", "建设单位经两次邀请未派员参加", sides=sides)


def test_acknowledging_hrg_03_when_every_side_is_represented_is_bad_input(case):
    with pytest.raises(BadInput):
        case.record("hearing-held", acknowledge=(("HRG-03", "无"),))
    assert "hearing-held" not in [e.type for e in replay_case(case.ws, case.case_id).events]


# --- HRG-04: materials seven days before (W3) -------------------------------------------------------------------

W3_HEARING = {
    "notice_published_on": "2026-02-05",
    "held_on": "2026-02-26",
    "selection_method_published_on": "2026-02-05",
    "selected_on": "2026-02-10",
    "list_published_on": "2026-02-12",
    "sides": ["被征收户", "周边居民"],
}


def w3_participants(*delivered: str) -> list[dict[str, Any]]:
    people = [("王海生", "被征收户"), ("陈美玲", "周边居民")]
    return [
        {"name": n, "side": s, "materials_delivered_on": d, "confirmed": True} for (n, s), d in zip(people, delivered)
    ]


@pytest.fixture
def case_2026(tmp_path):
    """A case in a workspace whose clock starts 2026-02-02, with the W3 hearing announced for 2026-02-26."""
    d = Driver(new_workspace(tmp_path / "ws2026", start=datetime(2026, 2, 2, 9, 0, tzinfo=LOCAL)))
    d.launch("risk-relevant", "technical")
    d.record("hearing-announced", notice_published_on="2026-02-05", scheduled_on="2026-02-26")
    return d


def test_w3_the_materials_deadline_falls_in_the_spring_festival_and_the_last_working_day_before_it_is_suggested(case_2026):
    (deadline,) = [d for d in case_2026.show().deadlines if d.rule == "HRG-04"]
    assert deadline.due == "2026-02-19"
    assert "2026-02-14" in deadline.note


def test_w3_materials_delivered_on_2026_02_24_are_refused_with_hrg_04(case_2026):
    err = assert_refused(case_2026, "hearing-held", rule="HRG-04", article="第十六条第三款",
                         **W3_HEARING, participants=w3_participants("2026-02-14", "2026-02-24"))
    late = next(f for f in err.findings if f.rule == "HRG-04").values["late"]
    assert len(late) == 1 and "陈美玲" in late[0]


def test_w3_materials_delivered_on_the_make_up_saturday_2026_02_14_are_in_time(case_2026):
    case_2026.record("hearing-held", **W3_HEARING, participants=w3_participants("2026-02-14", "2026-02-14"))
    assert "hearing-held" in [e.type for e in replay_case(case_2026.ws, case_2026.case_id).events]
    assert verify_cases(case_2026.ws).exit_code == 0


def test_materials_delivered_exactly_seven_days_before_the_hearing_are_in_time(case):
    case.record("hearing-held", participants=[
        {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-19", "confirmed": True},
        {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-19", "confirmed": True},
    ])
    assert "hearing-held" in [e.type for e in replay_case(case.ws, case.case_id).events]


def test_materials_delivered_six_days_before_the_hearing_are_refused_with_hrg_04(case):
    assert_refused(case, "hearing-held", rule="HRG-04", article="第十六条第三款", participants=[
        {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-20", "confirmed": True},
        {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-16", "confirmed": True},
    ])


# --- HRG-05: the signed record ----------------------------------------------------------------------------------


def test_a_hearing_record_a_participant_neither_signed_nor_refused_is_refused_with_hrg_05(case):
    assert_refused(case, "hearing-held", rule="HRG-05", article="第十七条", participants=[
        {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-16", "confirmed": True},
        {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-16", "confirmed": False},
    ])


def test_a_hearing_record_with_a_recorded_refusal_to_sign_is_recorded(case):
    case.record("hearing-held", participants=[
        {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-16", "confirmed": True},
        {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-16", "confirmed": False,
         "refusal_note": "拒绝签字，理由：对补偿标准有异议；已由两名工作人员见证"},
    ])
    assert "hearing-held" in [e.type for e in replay_case(case.ws, case.case_id).events]


# --- SEQ-01 inside participation --------------------------------------------------------------------------------


def test_participation_once_concluded_is_not_concluded_again_seq_01(case):
    case.record("participation-activity-held")
    case.record("participation-concluded")
    assert_refused(case, "participation-concluded", rule="SEQ-01", article="第三十三条", concluded_on="2025-10-11")
    assert_refused(case, "consultation-opened", rule="SEQ-01", article="第三十三条", actor=CLERK)


def test_the_legal_office_may_record_an_exemption_but_not_a_consultation(ws):
    d = Driver(ws)
    d.launch("non-disclosure")
    assert_refused(d, "consultation-opened", actor=LEGAL, rule="ROLE-01", article="第十四条")
    d.record("participation-exempted", payload("participation-exempted"))
    assert status(d, "public_participation") == "exempted"

"""DRF-04 (条例 art. 13): the departments whose duties the draft touches are consulted; when one does not agree, the
organ receives a dispute statement before it discusses the draft. Drafting runs beside the ordered stages from launch
until the meeting and never gates them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from flows.usecases.audit import verify_cases
from flows.usecases.launch import launch_case
from flows.usecases.record import record_event
from models import store
from models.db import write_transaction
from models.events import SCHEMA_VERSION, MeetingHeld
from models.store import NewEvent
from policies.errors import BadInput, RuleRefusal
from rule_assertions import assert_refused
from support import CLERK, LEGAL, MANDATORY_PATH, Driver, payload
from test_cli import juece, one_line, write_json

ART = "第十三条"
BEFORE_MEETING = MANDATORY_PATH[:-1]


def agreed(unit: str, on: str = "2025-09-28") -> dict:  # type: ignore[type-arg]
    return {"consulted_on": on, "consultations": [{"unit": unit, "opinion": "经协调，同意", "agreed": True}]}


def test_drafting_records_do_not_gate_the_stages_and_are_shown_beside_them(case: Driver):
    case.record("departments-consulted", agreed("三亚市财政局", "2025-09-20"))
    view = case.show()
    assert [(s.stage, s.status) for s in view.stages if s.stage in ("public_participation", "drafting")] == [
        ("public_participation", "pending"), ("drafting", "in-progress")]
    assert "consultation-opened" in [n["event"] for n in view.next]
    case.walk(MANDATORY_PATH)  # every stage is recorded with the drafting stage left open
    assert case.status("collective_discussion") == "concluded"


def test_a_case_without_consultations_reaches_the_meeting_as_before(case: Driver):
    case.walk(MANDATORY_PATH)
    assert case.status("drafting") == "pending"
    assert verify_cases(case.ws).exit_code == 0


def test_the_meeting_is_refused_while_a_unit_disagrees_and_no_dispute_is_stated(case: Driver):
    case.record("departments-consulted")
    case.walk(BEFORE_MEETING)
    err = assert_refused(case, "meeting-held", rule="DRF-04", article=ART)
    assert "三亚市自然资源和规划局" in err.message and "dispute-stated" in err.message


def test_a_dispute_statement_lets_the_meeting_discuss_the_draft(case: Driver):
    case.record("departments-consulted")
    case.record("dispute-stated")
    case.walk(MANDATORY_PATH)
    assert case.status("collective_discussion") == "concluded"
    report = verify_cases(case.ws)
    assert report.exit_code == 0, report.to_json()


def test_a_unit_that_agrees_later_settles_its_disagreement(case: Driver):
    case.record("departments-consulted")
    case.record("departments-consulted", agreed("三亚市自然资源和规划局"))
    case.walk(MANDATORY_PATH)
    assert case.status("collective_discussion") == "concluded"


def test_each_unit_in_dispute_needs_the_statement(case: Driver):
    case.record("departments-consulted", payload("departments-consulted", consultations=[
        {"unit": "三亚市自然资源和规划局", "opinion": "建议另选址", "agreed": False},
        {"unit": "三亚市生态环境局", "opinion": "须补做环评", "agreed": False},
    ]))
    case.record("dispute-stated")  # names only 自然资源和规划局
    case.walk(BEFORE_MEETING)
    err = assert_refused(case, "meeting-held", rule="DRF-04", article=ART)
    assert "三亚市生态环境局" in err.message and "三亚市自然资源和规划局" not in err.message


def test_a_dispute_statement_without_a_recorded_disagreement_is_refused(case: Driver):
    case.record("departments-consulted", agreed("三亚市财政局", "2025-09-20"))
    err = assert_refused(case, "dispute-stated", rule="DRF-04", article=ART)
    assert "no consulted unit is recorded as not agreeing" in err.message


def test_a_dispute_statement_naming_a_unit_that_did_not_disagree_is_refused(case: Driver):
    case.record("departments-consulted")
    statement = payload("dispute-stated", unit_opinions=[{"unit": "三亚市财政局", "opinion": "同意"}])
    err = assert_refused(case, "dispute-stated", statement, rule="DRF-04", article=ART)
    assert "三亚市财政局" in err.message


def test_a_dispute_statement_dated_before_the_disagreement_is_refused(case: Driver):
    case.record("departments-consulted")
    assert_refused(case, "dispute-stated", rule="DRF-04", article=ART, stated_on="2025-09-19")


def test_a_statement_dated_the_same_day_as_the_disagreement_is_accepted(case: Driver):
    case.record("departments-consulted")
    case.record("dispute-stated", stated_on="2025-09-20")


def test_a_unit_listed_twice_in_one_record_is_refused(case: Driver):
    twice = [{"unit": "三亚市财政局", "opinion": "同意", "agreed": True},
             {"unit": "三亚市财政局", "opinion": "不同意", "agreed": False}]
    assert_refused(case, "departments-consulted", payload("departments-consulted", consultations=twice),
                   rule="DRF-04", article=ART)


def test_a_reply_dated_after_the_consultation_record_is_refused(case: Driver):
    late = [{"unit": "三亚市财政局", "replied_on": "2025-09-21", "opinion": "同意", "agreed": True}]
    assert_refused(case, "departments-consulted", payload("departments-consulted", consultations=late),
                   rule="DRF-04", article=ART)


def test_drafting_records_after_the_meeting_decided_are_refused(case: Driver):
    case.walk(MANDATORY_PATH)
    assert_refused(case, "departments-consulted", rule="DRF-04", article=ART, consulted_on="2025-11-04")


def test_a_deferred_meeting_leaves_room_for_more_consultation(case: Driver):
    case.walk(BEFORE_MEETING)
    case.record("meeting-held", decision="deferred", head_reasons="须征求自然资源部门意见")
    case.record("departments-consulted", consulted_on="2025-11-04")
    case.record("dispute-stated", stated_on="2025-11-05")
    case.record("meeting-held", held_on="2025-11-10")
    assert case.status("collective_discussion") == "concluded"


def test_only_the_undertaking_units_clerk_records_consultations(case: Driver):
    assert_refused(case, "departments-consulted", actor=LEGAL, rule="ROLE-01", article=ART)


def test_a_case_under_the_first_pack_version_has_no_drafting_records(ws):
    case_id, _ = launch_case(ws, LEGAL, title="旧版本规则包下的案件", category="plan", organ="三亚市人民政府",
                             lead_unit="三亚市发展和改革委员会", policy="cn-2019@1")
    Driver(ws, case_id).clock_to(date(2025, 9, 20))
    with pytest.raises(RuleRefusal) as exc:
        record_event(ws, CLERK, case_id, "departments-consulted", payload("departments-consulted"))
    assert exc.value.code == "ROLE-01"


def test_a_dispute_statement_without_the_undertaking_units_reasons_is_bad_input(case: Driver):
    bad = payload("dispute-stated")
    del bad["undertaking_unit_opinion"]["reasons"]
    case.record("departments-consulted")
    with pytest.raises(BadInput) as exc:
        case.record("dispute-stated", bad)
    assert exc.value.details["field"] == "undertaking_unit_opinion.reasons"


# --- the auditor's re-check ------------------------------------------------------------------------------------


def test_a_meeting_appended_behind_the_rules_back_while_a_unit_disagrees_is_an_audit_finding(case: Driver):
    case.record("departments-consulted")
    case.walk(BEFORE_MEETING)
    case.clock_to(date(2025, 11, 3))
    with write_transaction(case.ws.engine) as conn:
        history = store.load_stream(conn, case.case_id)
        body = MeetingHeld.model_validate(payload("meeting-held")).model_dump(mode="json", by_alias=True)
        store.append(conn, case.case_id, history, [NewEvent("meeting-held", SCHEMA_VERSION, body, "secretary:陈静",
                                                            "secretary", "forged-meeting", "cn-2019")],
                     history[-1].moment)
    report = verify_cases(case.ws)
    assert report.exit_code == 5
    (verdict,) = report.cases
    assert verdict.intact
    assert [(f["rule"], f["event"]) for f in verdict.findings] == [("DRF-04", "meeting-held")]


# --- the command line ------------------------------------------------------------------------------------------


def test_the_command_line_refuses_the_meeting_naming_DRF_04_and_records_it_after_the_statement(case: Driver, tmp_path: Path):
    home = case.ws.home
    case.clock_to(date(2025, 9, 25))
    f = write_json(tmp_path / "consulted.json", payload("departments-consulted"))
    code, out, err = juece(home, "record", case.case_id, "departments-consulted", "--file", str(f), "--json",
                           actor="clerk:李明")
    assert code == 0, err
    assert json.loads(out)["event"] == "departments-consulted"
    case.walk(BEFORE_MEETING)
    case.clock_to(date(2025, 11, 3))
    meeting = write_json(tmp_path / "meeting.json", payload("meeting-held"))
    code, out, err = juece(home, "record", case.case_id, "meeting-held", "--file", str(meeting), actor="secretary:陈静")
    assert code == 3, (out, err)
    assert "DRF-04" in err and ART in err and "Traceback" not in err
    code, out, _ = juece(home, "record", case.case_id, "meeting-held", "--file", str(meeting), "--json",
                         actor="secretary:陈静")
    assert code == 3 and json.loads(out)["error"]["code"] == "DRF-04"
    statement = write_json(tmp_path / "statement.json", payload("dispute-stated"))
    code, _, err = juece(home, "record", case.case_id, "dispute-stated", "--file", str(statement), actor="clerk:李明")
    assert code == 0, err
    code, _, err = juece(home, "record", case.case_id, "meeting-held", "--file", str(meeting), actor="secretary:陈静")
    assert code == 0, err


def test_the_command_line_names_a_missing_field_of_the_dispute_statement(case: Driver, tmp_path: Path):
    case.record("departments-consulted")
    bad = payload("dispute-stated")
    del bad["points"]
    f = write_json(tmp_path / "statement.json", bad)
    code, out, err = juece(case.ws.home, "record", case.case_id, "dispute-stated", "--file", str(f), actor="clerk:李明")
    assert code == 2, (out, err)
    assert "points" in one_line(err) and "Traceback" not in err


def test_case_show_says_which_units_still_need_a_dispute_statement_until_the_meeting(case: Driver):
    case.record("departments-consulted")
    (note,) = case.show().notes
    assert note.startswith("DRF-04: 三亚市自然资源和规划局 (since 2025-09-20)") and "dispute-stated" in note
    code, out, err = juece(case.ws.home, "case", "show", case.case_id)
    assert code == 0 and "DRF-04: 三亚市自然资源和规划局" in one_line(out)
    case.record("dispute-stated")
    assert case.show().notes == ()

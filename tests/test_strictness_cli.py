"""Issue 9 through the real command line: every backwards date, bypass and merge the issue lists is refused naming
its rule and article (exit 3), the same day is accepted, bad input is exit 2 naming the field, and the audit lists
what it must. Cases are set up through the use cases (tests/support.py); the decisive command runs as the `juece`
executable, as a clerk or a script would run it.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models import store
from models.db import read_transaction
from models.events import EVENT_TYPES
from support import GOOD, MANDATORY_PATH, ROLE_OF, Driver, _dates, payload
from test_cli import juece, one_line, write_json

UP_TO_OPINION = MANDATORY_PATH[:-1]


def stored(d: Driver) -> list[str]:
    """The case's recorded event types, refused attempts left out."""
    with read_transaction(d.ws.engine) as conn:
        return [e.type for e in store.load_stream(conn, d.case_id) if e.type != "attempt-refused"]


def record(d: Driver, event: str, body: dict[str, Any], *extra: str, actor: str | None = None) -> tuple[int, dict[str, Any], str]:
    """`juece record CASE EVENT --file F --json …` with the clock moved to the payload's latest date."""
    days = [x for k, v in body.items() for x in _dates(v) if k not in ("deadline", "scheduled_on")]
    if days:
        d.clock_to(max(days))
    f = write_json(d.ws.home.parent / f"{event}.json", body)
    who = actor or ROLE_OF[event].label
    code, out, err = juece(d.ws.home, "record", d.case_id, event, "--file", str(f), "--json", *extra, actor=who)
    assert "Traceback" not in err
    return code, json.loads(out) if out.strip() else {}, err


def refused(d: Driver, event: str, body: dict[str, Any], rule: str, article: str, *extra: str,
            actor: str | None = None) -> dict[str, Any]:
    """Refused with exit 3 naming `rule` and `article`; nothing recorded."""
    before = stored(d)
    code, out, err = record(d, event, body, *extra, actor=actor)
    assert code == 3, (out, err)
    error = out["error"]
    assert error["code"] == rule, error
    assert article in error["article"], error
    assert stored(d) == before
    return error


# --- ORD-01: dates in the procedure's order ------------------------------------------------------------------------


@pytest.mark.parametrize(("walk", "event", "backwards", "same_day"), [
    (MANDATORY_PATH[:-2], "legality-opinion-issued", {"issued_on": "2025-10-20"}, {"issued_on": "2025-10-21"}),
    (UP_TO_OPINION, "meeting-held", {"held_on": "2025-10-24"}, None),  # before the opinion of 10-27
    (UP_TO_OPINION, "meeting-held", {"held_on": "2025-10-16"}, None),  # before the submission of 10-21
    (MANDATORY_PATH, "party-reported", {"reported_on": "2025-11-02"}, {"reported_on": "2025-11-03"}),
    (MANDATORY_PATH + ("party-reported",), "decision-published", {"published_on": "2025-11-04"}, {"published_on": "2025-11-05"}),
    (MANDATORY_PATH + ("party-reported",), "decision-published", {"published_on": "2025-08-31"}, None),  # before everything
])
def test_a_backwards_date_is_refused_under_ord_01_and_the_same_day_is_accepted(case, walk, event, backwards, same_day):
    case.walk(walk)
    error = refused(case, event, payload(event, **backwards), "ORD-01", "条例第二十五条")
    earlier = error["findings"][0]["values"]["earlier_date"]
    assert earlier in error["message"] and next(iter(backwards.values())) in error["message"]
    if same_day is not None:
        code, out, err = record(case, event, payload(event, **same_day))
        assert code == 0, (out, err)


def test_a_hearing_held_before_its_announcement_is_refused_under_ord_01(case):
    case.record("hearing-announced", notice_published_on="2025-09-10", scheduled_on="2025-09-30")
    body = payload("hearing-held", held_on="2025-09-08", notice_published_on="2025-09-01", selected_on=None,
                   selection_method_published_on=None, list_published_on=None)
    body["participants"] = [dict(p, materials_delivered_on="2025-08-30") for p in body["participants"]]
    refused(case, "hearing-held", body, "ORD-01", "条例第二十五条")


def test_a_date_before_the_launch_decision_needs_the_ord_02_acknowledgement_which_the_audit_lists(ws):
    code, out, err = juece(ws.home, "case", "launch", "--title", "事后补录的决策事项", "--category", "plan",
                           "--organ", "三亚市人民政府", "--lead-unit", "三亚市发展和改革委员会", "--decided-on", "2025-08-20",
                           "--json", actor="legal-office:张伟")
    assert code == 0, err
    d = Driver(ws, json.loads(out)["case_id"])
    body = payload("participation-activity-held", held_on="2025-08-18")
    error = refused(d, "participation-activity-held", body, "ORD-02", "第十条")
    assert error["findings"][0]["enforcement"] == "WARN" and "2025-08-20" in error["message"]
    code, out, err = record(d, "participation-activity-held", body, "--acknowledge", "ORD-02", "--reason",
                            "座谈会先于立项决定召开，立项后补录")
    assert code == 0, (out, err)
    assert [a["rule"] for a in out["acknowledged"]] == ["ORD-02"]
    code, out, err = juece(ws.home, "audit", "verify", d.case_id, "--json")
    assert code == 0, err
    acks = json.loads(out)["cases"][0]["acknowledged"]
    assert [(a["rule"], a["event"], a["reason"]) for a in acks] == [
        ("ORD-02", "participation-activity-held", "座谈会先于立项决定召开，立项后补录")]


# --- RSK-08: a reused report does not clear an uncontrollable risk -------------------------------------------------


def test_reusing_an_older_report_after_an_uncontrollable_assessment_does_not_let_the_meeting_adopt(case):
    case.walk(MANDATORY_PATH[:3])
    case.record("risk-assessed", level="high", controllable=False)
    case.record("risk-assessment-reused", decided_on="2025-10-20",
                prior_report={"ref": "三发改投资〔2024〕12号", "issuer": "市发展改革委", "issued_on": "2024-06-30",
                              "scope": "全部建设内容"})
    assert case.status("risk_assessment") == "concluded" and "reused report does not clear" in next(
        s.detail for s in case.show().stages if s.stage == "risk_assessment")
    case.walk(("legality-review-submitted", "legality-opinion-issued"))
    error = refused(case, "meeting-held", payload("meeting-held"), "RSK-08", "第二十四条")
    assert "risk-assessment-reused" in error["message"]
    # a new assessment of the same day as the uncontrollable one does not clear it either; one dated after it does
    case.record("risk-assessed", assessed_on="2025-10-20", level="low", controllable=True)
    refused(case, "meeting-held", payload("meeting-held"), "RSK-08", "第二十四条")
    case.record("risk-assessed", assessed_on="2025-10-28", level="low", controllable=True)
    code, out, err = record(case, "meeting-held", payload("meeting-held"))
    assert code == 0, (out, err)


# --- ORD-03 / ADJ-01: an adjustment names only its own child case --------------------------------------------------


def published(d: Driver, title: str = "三亚市河西片区棚户区改造项目") -> Driver:
    d.launch(title=title, decided_on="2025-08-25")
    d.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    return d


def in_execution(d: Driver, title: str = "三亚市河西片区棚户区改造项目") -> Driver:
    """A published case whose execution has begun (a report of 2025-12-15)."""
    published(d, title)
    d.record("execution-reported")
    return d


def test_an_adjustment_naming_an_unrelated_decided_case_or_none_at_all_is_refused_under_ord_03(ws):
    other = published(Driver(ws), "另一项已决策事项")
    d = in_execution(Driver(ws))
    for child in (other.case_id, "JC-2099-0001"):
        body = payload("adjustment-decided", kind="repeal", child_case=child)
        error = refused(d, "adjustment-decided", body, "ORD-03", "第三十七条", actor="legal-office:张伟")
        assert child in error["message"]
    error = refused(d, "adjustment-completed", payload("adjustment-completed", child_case=other.case_id), "ORD-03",
                    "第三十七条")
    assert "not opened from" in error["message"]


def test_an_adjustment_completes_only_once_its_own_child_case_is_decided(ws):
    d = in_execution(Driver(ws))
    d.clock_to(date(2026, 1, 21))
    code, out, err = juece(ws.home, "case", "adjust", d.case_id, "--kind", "amend", "--ground", "后评估建议调整补偿标准",
                           "--decided-on", "2026-01-21", "--json", actor="legal-office:张伟")
    assert code == 0, err
    child = json.loads(out)["child_case"]
    refused(d, "adjustment-completed", payload("adjustment-completed", child_case=child), "ADJ-01", "第三十七条")
    c = Driver(ws, child)  # the child case runs the procedure again, after the adjustment was decided
    c.record("participation-activity-held", held_on="2026-02-02")
    c.record("participation-concluded", concluded_on="2026-02-03")
    c.record("expert-review-concluded", held_on="2026-02-04")
    c.record("risk-assessed", assessed_on="2026-02-05")
    c.record("legality-review-submitted", submitted_on="2026-02-06")
    c.record("legality-opinion-issued", issued_on="2026-03-02")
    c.record("meeting-held", held_on="2026-03-05")
    refused(d, "adjustment-completed", payload("adjustment-completed", child_case=child, completed_on="2026-03-04"),
            "ORD-01", "条例第二十五条")  # before the child's decision of 03-05
    code, out, err = record(d, "adjustment-completed", payload("adjustment-completed", child_case=child,
                                                               completed_on="2026-03-05"))
    assert code == 0, (out, err)


# --- launch: no merging, a rule for each refusal ------------------------------------------------------------------

LAUNCH = ("case", "launch", "--title", "2026年度市本级财政预算安排", "--category", "public-policy", "--organ", "三亚市人民政府")


def test_two_identical_launches_are_two_cases_and_a_retry_with_the_same_key_is_the_first(ws):
    ids = []
    for _ in range(2):
        code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--json", actor="legal-office:张伟")
        assert code == 0, err
        ids.append(json.loads(out)["case_id"])
    assert ids[0] != ids[1]
    keyed = [juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--idempotency-key", "budget-2026", "--json",
                   actor="legal-office:张伟") for _ in range(2)]
    assert [c for c, _, _ in keyed] == [0, 0]
    first, second = (json.loads(o) for _, o, _ in keyed)
    assert first["case_id"] == second["case_id"] and (first["created"], second["created"]) == (True, False)
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市审计局", "--idempotency-key", "budget-2026", "--json",
                           actor="legal-office:张伟")
    assert code == 2 and json.loads(out)["error"]["code"] == "idempotency-conflict"


def test_a_proposal_rejected_at_the_meeting_can_be_launched_again(case):
    case.walk(UP_TO_OPINION)
    case.record("meeting-held", decision="rejected",
                opinions=[{"member": m, "position": "oppose"} for m in ("刘副市长", "陈副市长", "李市长")])
    assert case.show().status == "ended"
    code, out, err = juece(case.ws.home, "case", "launch", "--title", "三亚市河西片区棚户区改造项目", "--category",
                           "public-construction", "--organ", "三亚市人民政府", "--lead-unit", "三亚市住房和城乡建设局",
                           "--flag", "risk-relevant", "--flag", "technical", "--json", actor="legal-office:张伟")
    assert code == 0, err
    again = json.loads(out)["case_id"]
    assert again != case.case_id
    assert juece(case.ws.home, "case", "show", again, "--json")[0] == 0


@pytest.mark.parametrize(("args", "actor", "rule", "article"), [
    (("--lead-unit", "三亚市财政局"), "clerk:李明", "ROLE-01", "第十条"),
    (("--lead-unit", ""), "legal-office:张伟", "INI-03", "第十一条"),
    (("--lead-unit", "   "), "legal-office:张伟", "INI-03", "第十一条"),
    ((), "legal-office:张伟", "INI-03", "第十一条"),
    (("--lead-unit", "三亚市财政局", "--category", "emergency"), "legal-office:张伟", "SCP-03", "第三条"),
])
def test_a_launch_the_rules_refuse_is_exit_3_naming_the_rule_and_writes_nothing(ws, args, actor, rule, article):
    code, out, err = juece(ws.home, *LAUNCH, *args, "--json", actor=actor)
    assert code == 3, (out, err)
    error = json.loads(out)["error"]
    assert (error["code"], article in error["article"]) == (rule, True), error
    assert json.loads(juece(ws.home, "case", "list", "--json")[1])["cases"] == []
    code, _, err = juece(ws.home, *LAUNCH, *args, actor=actor)
    assert code == 3 and rule in err and "Traceback" not in err
    # a HARD rule is tagged as such (the tag once vanished as Rich markup); there is no case whose stages it spared
    assert f"{rule} " in err and "[rule]" in err and "on the case's stages" not in err, err


def test_the_launch_decision_date_is_recorded_and_a_future_one_is_bad_input(ws):
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--decided-on", "2025-08-26", "--json",
                           actor="legal-office:张伟")
    assert code == 2 and json.loads(out)["error"]["field"] == "--decided-on"
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--decided-on", "20250820", "--json",
                           actor="legal-office:张伟")
    assert code == 2 and json.loads(out)["error"]["field"] == "--decided-on"
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--decided-on", "2025-08-20", "--json",
                           actor="legal-office:张伟")
    assert code == 0, err
    with read_transaction(ws.engine) as conn:
        (launched,) = store.load_stream(conn, json.loads(out)["case_id"])
    assert launched.payload["decided_on"] == "2025-08-20" and launched.payload["launched_on"] == "2025-08-25"


def test_a_departments_proposal_must_argue_its_five_points_ini_01(ws, tmp_path: Path):
    proposal = {"proposer_type": "department", "proposer": "三亚市财政局", "problem": "预算编制周期过短",
                "reasons_basis": "《预算法》第三十二条"}
    f = write_json(tmp_path / "proposal.json", proposal)
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--proposal", str(f), "--json",
                           actor="legal-office:张伟")
    assert code == 3, (out, err)
    error = json.loads(out)["error"]
    assert error["code"] == "INI-01" and "第十条" in error["article"]
    assert all(word in error["message"] for word in ("preliminary_plan", "necessity", "feasibility"))
    f = write_json(tmp_path / "proposal.json", {**proposal, "preliminary_plan": "提前两个月启动编制", "necessity": "保障预算质量",
                                                "feasibility": "各部门已具备条件"})
    code, out, err = juece(ws.home, *LAUNCH, "--lead-unit", "三亚市财政局", "--proposal", str(f), "--json",
                           actor="legal-office:张伟")
    assert code == 0, err


# --- other refusals that now name their rule ------------------------------------------------------------------------


def test_a_bad_archival_code_is_refused_under_arc_07_and_leaves_no_bag(ws, tmp_path: Path):
    d = published(Driver(ws))
    out_dir = tmp_path / "bag"
    code, out, err = juece(ws.home, "archive", "export", d.case_id, "--out", str(out_dir), "--fonds", "z-001", "--json",
                           actor="archivist:周档案")
    assert code == 3, (out, err)
    error = json.loads(out)["error"]
    assert error["code"] == "ARC-07" and "DA/T 22" in error["article"] and "z-001" in error["message"]
    assert not out_dir.exists()


def test_moving_the_clock_as_a_clerk_is_refused_under_role_01(ws):
    code, out, err = juece(ws.home, "clock", "set", "2025-09-01T09:00+08:00", "--json", actor="clerk:李明")
    assert code == 3, (out, err)
    assert json.loads(out)["error"]["code"] == "ROLE-01"
    code, _, err = juece(ws.home, "calendar", "load", str(Path(__file__).parent), actor="clerk:李明")
    assert code == 3 and "ROLE-01" in err and "[rule]" in err and "Traceback" not in err, err


def test_the_leg_07_refusal_names_legality_opinion_answered_as_the_missing_step(case):
    case.walk(MANDATORY_PATH[:-2])
    case.record("legality-opinion-issued", conclusion="lawful-with-changes", required_changes=[{"item": "明确过渡期限"}])
    error = refused(case, "meeting-held", payload("meeting-held"), "LEG-07", "第二十八条")
    assert "record `legality-opinion-answered`" in error["message"]
    assert "record `legality-opinion-issued`" not in error["message"]


def test_audit_replay_lists_only_the_rules_of_the_cases_own_pack(ws):
    sanya_only = {"PP-08", "PP-09", "HRG-06", "EXP-05", "RSK-05"}
    national = Driver(ws)
    national.launch()
    national.walk(MANDATORY_PATH[:2])
    code, out, err = juece(ws.home, "audit", "replay", national.case_id, "--json")
    assert code == 0, err
    checked = {r for e in json.loads(out)["events"] for r in e["rules_checked"]}
    assert not checked & sanya_only and {"ROLE-01", "SCP-02", "PP-07", "ORD-01"} <= checked
    sanya = Driver(ws)
    sanya.launch(policy="sanya-2022", decided_on="2025-08-25")
    sanya.record("participation-activity-held", method="questionnaire", description="问卷", participant_groups=["grassroots"])
    sanya.record("participation-concluded")
    code, out, err = juece(ws.home, "audit", "replay", sanya.case_id, "--json")
    assert {"PP-08", "PP-09"} <= {r for e in json.loads(out)["events"] for r in e["rules_checked"]}


# --- rules that were missing ----------------------------------------------------------------------------------------


def test_a_case_flagged_npc_report_under_cn_2019_publishes_only_after_the_report_scp_07(ws):
    d = Driver(ws)
    d.launch("npc-report")
    d.walk(MANDATORY_PATH + ("party-reported",))
    error = refused(d, "decision-published", payload("decision-published"), "SCP-07", "第八条")
    assert error["findings"][0]["enforcement"] == "HARD"
    d.record("npc-reported")
    code, out, err = record(d, "decision-published", payload("decision-published"))
    assert code == 0, (out, err)


def test_a_high_risk_declared_controllable_is_a_warning_to_acknowledge_rsk_07(case):
    case.walk(MANDATORY_PATH[:3])
    body = payload("risk-assessed", level="high", controllable=True)
    error = refused(case, "risk-assessed", body, "RSK-07", "2492号")
    assert error["findings"][0]["enforcement"] == "WARN"
    code, out, err = record(case, "risk-assessed", body, "--acknowledge", "RSK-07", "--reason", "采取措施后经评估组确认可控")
    assert code == 0, (out, err)


@pytest.mark.parametrize("members", [None, []])
def test_a_meeting_without_the_attendance_list_is_bad_input_naming_members_present(case, members):
    case.walk(UP_TO_OPINION)
    body = payload("meeting-held")
    if members is None:
        del body["members_present"]
    else:
        body["members_present"] = members
    before = stored(case)
    code, out, err = record(case, "meeting-held", body)
    assert code == 2, (out, err)
    assert out["error"]["field"] == "members_present"
    assert stored(case) == before
    code, out, err = juece(case.ws.home, "schema", "meeting-held", "--json")
    schema = json.loads(out)
    assert "members_present" in schema["required"] and schema["properties"]["members_present"]["minItems"] == 1


def test_a_problem_in_execution_is_reported_to_the_organ_with_when_it_arose_exe_03(ws):
    d = published(Driver(ws))
    body = payload("execution-problem-reported", reported_to="三亚市住房和城乡建设局")
    error = refused(d, "execution-problem-reported", body, "EXE-03", "第三十五条")
    assert "三亚市人民政府" in error["message"]
    body = payload("execution-problem-reported")
    del body["occurred_on"]
    refused(d, "execution-problem-reported", body, "EXE-03", "第三十五条")
    code, out, err = record(d, "execution-problem-reported", payload("execution-problem-reported"))
    assert code == 0, (out, err)
    view = json.loads(juece(ws.home, "case", "show", d.case_id, "--json")[1])
    assert any(x["rule"] == "EXE-03" and x["state"] == "suggested" for x in view["deadlines"])


# --- LIM-01 -------------------------------------------------------------------------------------------------------


def test_a_payload_deeper_than_64_levels_or_larger_than_1_mib_is_bad_input_lim_01(case, tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"published_on": "2025-09-01", "deadline": "2025-10-09", "channels": ' + "[" * 1000 + "]" * 1000 + "}",
                    encoding="utf-8")
    big = tmp_path / "big.json"
    # valid but for its size (every field within its own length): the case's pack's 1 MiB is what refuses it
    big.write_text(json.dumps(payload("consultation-opened", comment_methods=["长" * 20_000] * 30), ensure_ascii=False),
                   encoding="utf-8")
    for f in (deep, big):
        code, out, err = juece(case.ws.home, "record", case.case_id, "consultation-opened", "--file", str(f), "--json",
                               actor="clerk:李明")
        assert code == 2, (f.name, out, err)
        assert json.loads(out)["error"]["code"] == "LIM-01"
        code, out, err = juece(case.ws.home, "record", case.case_id, "consultation-opened", "--file", str(f),
                               actor="clerk:李明")
        assert code == 2 and "LIM-01" in one_line(err) and "Traceback" not in err and "RecursionError" not in err
    started = time.monotonic()
    code, out, err = juece(case.ws.home, "record", case.case_id, "consultation-opened", "--file", "/dev/zero", "--json",
                           actor="clerk:李明")
    assert code == 2 and json.loads(out)["error"]["code"] == "LIM-01"
    assert time.monotonic() - started < 60  # it stopped reading (the harness's timeout is 120 s)
    assert stored(case) == ["case-launched"]


# --- CAL-08 -------------------------------------------------------------------------------------------------------


def test_a_calendar_loaded_after_a_clean_meeting_leaves_the_audit_clean_and_lists_the_changed_verdict(case, tmp_path: Path):
    case.walk(MANDATORY_PATH)  # submitted 10-21; the 7th working day is 10-30; the meeting of 11-03 is clean
    overlay = {"year": 2025, "kind": "local-overlay", "notice": "测试：台风停工通知（非官方）",
               "source": "tests/test_strictness_cli.py", "rest_blocks": [{"name": "台风停工", "from": "2025-10-22", "to": "2025-10-28"}],
               "makeup_working_days": []}
    f = write_json(tmp_path / "overlay.json", overlay)
    code, out, err = juece(case.ws.home, "calendar", "load", str(f), actor="admin:系统管理员")
    assert code == 0, err
    code, out, err = juece(case.ws.home, "audit", "verify", case.case_id, "--json")
    assert code == 0, (out, err)
    verdict = json.loads(out)["cases"][0]
    assert verdict["findings"] == []
    (change,) = verdict["calendar_changes"]
    assert change["event"] == "meeting-held" and change["as_recorded"] == []
    assert [f["rule"] for f in change["with_todays_calendar"]] == ["LEG-04"]
    code, out, err = juece(case.ws.home, "audit", "verify", case.case_id)
    assert code == 0 and "Traceback" not in err


def test_good_payloads_of_the_support_timeline_are_in_the_procedures_date_order():
    from policies.rules.dates import DATE_OF

    days = [GOOD[e][DATE_OF[e]] for e in MANDATORY_PATH + ("party-reported", "decision-published")]
    assert days == sorted(days)
    assert all(e in GOOD for e in DATE_OF if e in ROLE_OF)
    assert set(DATE_OF) <= set(EVENT_TYPES)
    for event, field in DATE_OF.items():
        assert field in EVENT_TYPES[event].model_fields, (event, field)

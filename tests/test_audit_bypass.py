"""Records appended straight to the store, bypassing the use cases, are caught by `audit verify` under the rule the
live check would have refused them with: the auditor's re-check is the live check (issue 9).

Each test sets a case up through the use cases, then writes the forbidden record with `models.store.append` — a
well-formed, correctly chained row, as someone with database access could write it — and reads the audit.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from flows.usecases.audit import verify_cases
from flows.usecases.clock import now
from flows.usecases.workspace import read_workspace_facts
from models import store
from models.db import write_transaction
from models.events import EVENT_TYPES, SCHEMA_VERSION
from models.store import NewEvent
from policies.pack import load_pack
from support import CLERK, LEGAL, MANDATORY_PATH, ROLE_OF, Driver, payload
from test_cli import juece

PACK = load_pack("cn-2019")


def append_direct(d: Driver, event: str, body: dict[str, Any], *, role: str | None = None, case_id: str | None = None,
                  name: str = "越权者") -> int:
    """Write one record to a case's history without any check; returns its seq."""
    case_id = case_id or d.case_id
    role = role or ROLE_OF[event].role
    stored = EVENT_TYPES[event].model_validate(body).model_dump(mode="json", by_alias=True)
    with write_transaction(d.ws.engine) as conn:
        history = store.load_stream(conn, case_id)
        moment = now(read_workspace_facts(d.ws))
        (ev,) = store.append(conn, case_id, history, [NewEvent(
            event, SCHEMA_VERSION, stored, f"{role}:{name}", role, f"direct:{case_id}:{len(history) + 1}", PACK.id,
            PACK.hash)], moment)
    return ev.seq


def findings_of(d: Driver, case_id: str | None = None) -> list[tuple[int, str, str]]:
    """(seq, event, rule) of every unacknowledged audit finding of the case; the audit's exit code must be 5."""
    report = verify_cases(d.ws)
    verdict = next(v for v in report.cases if v.case_id == (case_id or d.case_id))
    assert verdict.intact
    return [(f["seq"], f["event"], f["rule"]) for f in verdict.findings]


def launch_body(**changes: Any) -> dict[str, Any]:
    body = {"title": "越权立项的事项", "category": "plan", "organ": "三亚市人民政府", "lead_unit": "三亚市发展和改革委员会",
            "policy": PACK.id, "policy_hash": PACK.hash, "launched_on": "2025-08-25", "decided_on": "2025-08-25"}
    body.update(changes)
    return body


# --- the launch --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "changes", "rule"), [
    ("clerk", {}, "ROLE-01"),
    ("legal-office", {"category": "emergency"}, "SCP-03"),
    ("legal-office", {"category": "budget"}, "SCP-02"),
    ("legal-office", {"lead_unit": None}, "INI-03"),
    ("legal-office", {"decided_on": None}, "INI-02"),
    ("legal-office", {"decided_on": "2025-09-30"}, "INI-02"),  # decided after it was launched
    ("legal-office", {"proposal": {"proposer_type": "department", "proposer": "市住建局", "problem": "棚户区危房"}}, "INI-01"),
])
def test_a_launch_written_behind_the_engines_back_is_judged_like_a_live_launch(ws, role, changes, rule):
    d = Driver(ws)
    append_direct(d, "case-launched", launch_body(**changes), role=role, case_id="JC-2025-0099")
    assert findings_of(d, "JC-2025-0099") == [(1, "case-launched", rule)]
    assert verify_cases(ws).exit_code == 5


def test_a_clean_launch_written_directly_has_no_finding(ws):
    d = Driver(ws)
    append_direct(d, "case-launched", launch_body(), role="legal-office", case_id="JC-2025-0099")
    assert findings_of(d, "JC-2025-0099") == []


# --- dates out of the procedure's order (ORD-01) ------------------------------------------------------------------

UP_TO_OPINION = MANDATORY_PATH[:-1]  # … legality review submitted 10-21, opinion 10-27


@pytest.mark.parametrize(("walk", "event", "changes"), [
    (MANDATORY_PATH[:-2], "legality-opinion-issued", {"issued_on": "2025-10-20"}),  # before its submission (10-21)
    (UP_TO_OPINION, "meeting-held", {"held_on": "2025-10-24"}),  # before the opinion (10-27)
    (UP_TO_OPINION, "meeting-held", {"held_on": "2025-10-15"}),  # before the submission, before the expert review too
    (MANDATORY_PATH, "party-reported", {"reported_on": "2025-11-01"}),  # before the meeting (11-03)
    (MANDATORY_PATH + ("party-reported",), "decision-published", {"published_on": "2025-11-04"}),  # before 11-05
    (MANDATORY_PATH + ("party-reported",), "decision-published", {"published_on": "2025-08-30"}),  # before everything
])
def test_a_backwards_date_written_directly_is_an_ord_01_finding(case, walk, event, changes):
    case.walk(walk)
    seq = append_direct(case, event, payload(event, **changes))
    assert findings_of(case) == [(seq, event, "ORD-01")]


def test_a_hearing_held_before_its_announcement_written_directly_is_an_ord_01_finding(case):
    case.record("hearing-announced", notice_published_on="2025-09-10", scheduled_on="2025-09-30")
    body = payload("hearing-held", held_on="2025-09-08", notice_published_on="2025-09-01", selected_on=None,
                   selection_method_published_on=None, list_published_on=None)
    body["participants"] = [dict(p, materials_delivered_on="2025-08-30") for p in body["participants"]]
    seq = append_direct(case, "hearing-held", body)
    assert findings_of(case) == [(seq, "hearing-held", "ORD-01")]


# --- the risk gate read as the rule book reads it (RSK-08) ---------------------------------------------------------


def test_a_meeting_written_directly_after_reusing_an_old_report_is_an_rsk_08_finding(case):
    case.walk(MANDATORY_PATH[:3])
    case.record("risk-assessed", level="high", controllable=False)
    case.record("risk-assessment-reused", decided_on="2025-10-21",
                prior_report={"ref": "三发改投资〔2024〕12号", "issuer": "市发展改革委", "issued_on": "2024-06-30",
                              "scope": "全部建设内容"})
    case.walk(("legality-review-submitted", "legality-opinion-issued"))
    seq = append_direct(case, "meeting-held", payload("meeting-held"))
    assert findings_of(case) == [(seq, "meeting-held", "RSK-08")]


# --- adjustments name only their own child case (ORD-03, ADJ-01) -------------------------------------------------


def published(d: Driver, *flags: str, title: str = "三亚市河西片区棚户区改造项目") -> str:
    """A published case in execution (a problem reported on 2026-01-20)."""
    d.launch(*flags, title=title, decided_on="2025-08-25")
    d.walk(MANDATORY_PATH + ("party-reported", "decision-published", "execution-problem-reported"))
    return d.case_id


def test_a_bare_adjustment_naming_an_unrelated_or_missing_case_written_directly_is_an_ord_03_finding(ws):
    other = Driver(ws)
    published(other, title="另一项已决策事项")
    d = Driver(ws)
    published(d)
    d.clock_to(date(2026, 1, 21))
    first = append_direct(d, "adjustment-decided", payload("adjustment-decided", kind="repeal", child_case=other.case_id),
                          role="legal-office")
    second = append_direct(d, "adjustment-decided", payload("adjustment-decided", kind="stop", child_case="JC-2099-0001"),
                           role="legal-office")
    third = append_direct(d, "adjustment-completed", payload("adjustment-completed", child_case=other.case_id))
    got = findings_of(d)
    assert (first, "adjustment-decided", "ORD-03") in got
    assert (second, "adjustment-decided", "ORD-03") in got
    assert (third, "adjustment-completed", "ORD-03") in got
    assert {rule for _, _, rule in got} <= {"ORD-03", "ADJ-01", "ADJ-02"}


def test_completing_an_adjustment_whose_child_case_was_not_decided_written_directly_is_an_adj_01_finding(ws):
    from flows.usecases.adjustments import open_adjustment

    d = Driver(ws)
    published(d)
    d.clock_to(date(2026, 1, 21))
    child, _ = open_adjustment(ws, LEGAL, d.case_id, kind="amend", ground="评估建议调整补偿标准", decided_on="2026-01-21")
    seq = append_direct(d, "adjustment-completed", payload("adjustment-completed", child_case=child))
    assert findings_of(d) == [(seq, "adjustment-completed", "ADJ-01")]


# --- the command line's verdict -----------------------------------------------------------------------------------


def test_audit_verify_on_the_command_line_exits_5_naming_the_rule_of_a_record_written_directly(case):
    case.walk(UP_TO_OPINION)
    seq = append_direct(case, "meeting-held", payload("meeting-held", held_on="2025-10-24"))
    code, out, err = juece(case.ws.home, "audit", "verify", case.case_id, "--json")
    assert code == 5, err
    verdict = json.loads(out)["cases"][0]
    assert [(f["seq"], f["rule"]) for f in verdict["findings"]] == [(seq, "ORD-01")]
    assert "2025-10-27" in verdict["findings"][0]["message"]
    append_direct(case, "party-reported", payload("party-reported"), role=CLERK.role)
    code, out, _ = juece(case.ws.home, "audit", "verify", case.case_id, "--json")
    assert code == 5
    assert [f["rule"] for f in json.loads(out)["cases"][0]["findings"]] == ["ORD-01", "ROLE-01"]

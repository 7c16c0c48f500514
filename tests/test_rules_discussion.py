"""Collective discussion (CD-01 to CD-05), and what follows the meeting: a deferred decision keeps the discussion
open, a rejected one ends the case (SEQ-01); who may record the meeting (ROLE-01) — through the use cases on a real
SQLite workspace."""

from __future__ import annotations

from typing import Any

import pytest

from flows.usecases.audit import verify_cases
from models import store
from models.db import read_transaction
from policies.rules.discussion import majority_position
from support import CLERK, HEAD, MANDATORY_PATH, Driver
from rule_assertions import assert_refused

# --- helpers --------------------------------------------------------------------------------------------------


def opinions(*positions: str, head_position: str = "approve") -> list[dict[str, str]]:
    """Members 委员1… in speaking order with the given positions, then the head (李市长) last."""
    out = [{"member": f"委员{i + 1}", "position": p} for i, p in enumerate(positions)]
    return out + [{"member": "李市长", "position": head_position}]


def meeting(*positions: str, decision: str, head_position: str = "approve", **changes: Any) -> dict[str, Any]:
    """The meeting-held changes for members with these positions and this decision."""
    ops = opinions(*positions, head_position=head_position)
    return {"opinions": ops, "members_present": [o["member"] for o in ops], "decision": decision, **changes}


BEFORE_MEETING = MANDATORY_PATH[:-1]


@pytest.fixture
def ready(case):
    """The case walked up to the meeting (legality opinion lawful on 2025-10-27; the meeting's first clean day 10-31)."""
    case.walk(BEFORE_MEETING)
    return case


# --- CD-01: the package ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    ["draft", "legality-opinion", "participation-report", "expert-report", "risk-report"],
)
def test_a_meeting_package_missing_a_required_material_is_refused_with_cd_01(ready, missing):
    package = [{"kind": k, "title": k} for k in
               ("draft", "participation-report", "expert-report", "risk-report", "legality-opinion") if k != missing]
    assert_refused(ready, "meeting-held", rule="CD-01", article="第二十九条", package=package)


def test_a_market_activity_case_needs_the_fair_competition_review_in_the_package_cd_01(ws):
    d = Driver(ws)
    d.launch("market-activity")
    d.walk(BEFORE_MEETING)
    assert_refused(d, "meeting-held", rule="CD-01", article="第二十九条")
    package = [{"kind": k, "title": k} for k in ("draft", "participation-report", "expert-report", "risk-report",
                                                  "legality-opinion", "fair-competition-review")]
    d.record("meeting-held", package=package)
    assert d.status("collective_discussion") == "concluded"


def test_a_waived_stage_needs_no_report_in_the_package(ws):
    d = Driver(ws)
    d.launch()
    d.walk(("consultation-opened", "participation-concluded", "expert-review-waived", "risk-assessment-waived",
            "legality-review-submitted", "legality-opinion-issued"))
    d.record("meeting-held", package=[{"kind": k, "title": k} for k in
                                      ("draft", "participation-report", "legality-opinion")])
    assert d.status("collective_discussion") == "concluded"


# --- CD-02: executive or plenary meeting ------------------------------------------------------------------------


@pytest.mark.parametrize("meeting_type", ["mayor-office", "topic", "other"])
def test_a_meeting_other_than_executive_or_plenary_is_refused_with_cd_02(ready, meeting_type):
    assert_refused(ready, "meeting-held", rule="CD-02", article="第三十条第一款", meeting_type=meeting_type)


def test_a_plenary_meeting_decides_the_draft(ready):
    ready.record("meeting-held", meeting_type="plenary")
    assert ready.status("collective_discussion") == "concluded"


def test_party_report_cannot_come_before_the_meeting_cd_02(ready):
    assert_refused(ready, "party-reported", rule="CD-02", article="第三十条")


# --- CD-03: the head speaks last --------------------------------------------------------------------------------


def test_a_meeting_where_the_head_does_not_speak_last_is_refused_with_cd_03(ready):
    ops = [{"member": "李市长", "position": "approve"}, {"member": "刘副市长", "position": "approve"},
           {"member": "陈副市长", "position": "approve"}]
    assert_refused(ready, "meeting-held", rule="CD-03", article="第三十条第二款", opinions=ops)


def test_a_meeting_without_the_heads_opinion_is_refused_with_cd_03(ready):
    assert_refused(ready, "meeting-held", rule="CD-03", article="第三十条第二款",
                   **meeting("approve", "approve", decision="approved", head="王市长"))


# --- CD-04: the head overruling the majority --------------------------------------------------------------------


def test_meeting_is_refused_when_the_head_overrules_the_majority_without_reasons(ready):
    err = assert_refused(ready, "meeting-held", rule="CD-04", article="第三十条第二款",
                         **meeting("oppose", "oppose", "approve", decision="approved"))
    assert next(f for f in err.findings if f.rule == "CD-04").values["majority"] == "oppose"


def test_meeting_is_recorded_when_the_head_overruling_the_majority_states_reasons(ready):
    ready.record("meeting-held", **meeting("oppose", "oppose", "approve", decision="approved",
                                           head_reasons="防汛期前必须完成搬迁，延期将危及群众生命安全"))
    assert ready.status("collective_discussion") == "concluded"


def test_a_tie_is_no_majority_and_the_head_must_state_reasons(ready):
    err = assert_refused(ready, "meeting-held", rule="CD-04", article="第三十条第二款",
                         **meeting("approve", "oppose", decision="approved"))
    assert next(f for f in err.findings if f.rule == "CD-04").values["majority"] is None
    ready.record("meeting-held", **meeting("approve", "oppose", decision="approved", head_reasons="资金已落实"))
    assert ready.status("collective_discussion") == "concluded"


def test_the_heads_own_position_does_not_break_a_tie(ready):
    assert_refused(ready, "meeting-held", rule="CD-04", article="第三十条第二款",
                   **meeting("approve", "approve", "oppose", "oppose", head_position="approve", decision="approved"))


def test_a_plurality_that_is_not_more_than_half_is_no_majority(ready):
    assert_refused(ready, "meeting-held", rule="CD-04", article="第三十条第二款",
                   **meeting("approve", "approve", "oppose", "defer", decision="approved"))


def test_a_decision_following_a_majority_that_is_not_unanimous_needs_no_reasons(ready):
    ready.record("meeting-held", **meeting("approve", "approve", "oppose", decision="approved"))
    assert ready.status("collective_discussion") == "concluded"


def test_a_majority_for_approval_with_changes_supports_a_decision_approved_with_changes(ready):
    ready.record("meeting-held", **meeting("approve-with-changes", "approve-with-changes", "approve",
                                           decision="approved-with-changes"))
    assert ready.status("collective_discussion") == "concluded"


def test_a_majority_for_approval_does_not_support_a_decision_approved_with_changes_without_reasons(ready):
    assert_refused(ready, "meeting-held", rule="CD-04", article="第三十条第二款",
                   **meeting("approve", "approve", decision="approved-with-changes"))


@pytest.mark.parametrize(
    ("positions", "expected"),
    [
        (("approve", "approve", "oppose"), "approve"),
        (("approve", "oppose"), None),
        (("approve", "approve", "oppose", "oppose"), None),
        (("approve", "oppose", "defer"), None),
        (("defer",), "defer"),
    ],
)
def test_the_majority_is_the_position_of_more_than_half_of_the_members_other_than_the_head(positions, expected):
    assert majority_position(opinions(*positions, head_position="oppose"), "李市长") == expected


# --- CD-05: every opinion recorded ------------------------------------------------------------------------------


def test_a_member_present_without_a_recorded_opinion_is_refused_with_cd_05(ready):
    changes = meeting("approve", "approve", decision="approved")
    changes["members_present"] = changes["members_present"] + ["周副市长"]
    assert_refused(ready, "meeting-held", rule="CD-05", article="第三十条第三款", **changes)


def test_a_member_with_two_recorded_opinions_is_refused_with_cd_05(ready):
    ops = [{"member": "刘副市长", "position": "oppose"}, {"member": "刘副市长", "position": "approve"},
           {"member": "陈副市长", "position": "approve"}, {"member": "李市长", "position": "approve"}]
    assert_refused(ready, "meeting-held", rule="CD-05", article="第三十条第三款", opinions=ops)


def test_a_meeting_recording_only_the_heads_opinion_is_refused_with_cd_05(ready):
    assert_refused(ready, "meeting-held", rule="CD-05", article="第三十条第三款",
                   opinions=[{"member": "李市长", "position": "approve"}], members_present=["李市长"])


def test_a_recorded_dissent_is_kept_in_the_record(ready):
    ready.record("meeting-held", **meeting("approve", "approve", "oppose", decision="approved"))
    with read_transaction(ready.ws.engine) as conn:
        (held,) = [e for e in store.load_stream(conn, ready.case_id) if e.type == "meeting-held"]
    assert {"member": "委员3", "position": "oppose", "remarks": ""} in held.payload["opinions"]
    assert ready.status("collective_discussion") == "concluded"


# --- deferred and rejected decisions ----------------------------------------------------------------------------


def test_a_deferred_decision_keeps_collective_discussion_open_for_a_second_meeting(ready):
    ready.record("meeting-held", **meeting("defer", "defer", decision="deferred"))
    assert ready.status("collective_discussion") == "in-progress"
    assert ready.show().status == "open"
    assert_refused(ready, "party-reported", rule="CD-02", article="第三十条")
    ready.record("meeting-held", **meeting("approve", "approve", decision="approved", held_on="2025-11-17"))
    assert ready.status("collective_discussion") == "concluded"
    ready.record("party-reported", reported_on="2025-11-18")
    assert ready.status("party_report") == "concluded"
    assert verify_cases(ready.ws).exit_code == 0


def test_a_rejected_decision_ends_the_case_and_later_steps_are_refused_with_seq_01(ready):
    ready.record("meeting-held", **meeting("oppose", "oppose", decision="rejected"))
    view = ready.show()
    assert view.status == "ended"
    assert {s.stage: s.status for s in view.stages}["party_report"] == "closed"
    assert {s.stage: s.status for s in view.stages}["collective_discussion"] == "concluded"
    assert_refused(ready, "party-reported", rule="SEQ-01", article="第三十三条")
    assert_refused(ready, "meeting-held", rule="SEQ-01", article="第三十三条",
                   **meeting("approve", "approve", decision="approved", held_on="2025-11-17"))
    assert_refused(ready, "execution-reported", rule="SEQ-01", article="第三十三条")


def test_a_concluded_meeting_is_not_held_again_seq_01(ready):
    ready.record("meeting-held")
    assert_refused(ready, "meeting-held", rule="SEQ-01", article="第三十三条", held_on="2025-11-04")


def test_after_an_approved_meeting_the_party_report_follows(ready):
    ready.record("meeting-held")
    assert ready.show().status == "decided"
    ready.record("party-reported")
    assert ready.status("party_report") == "concluded"


# --- ROLE-01 ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [CLERK, HEAD], ids=["clerk", "head"])
def test_a_meeting_recorded_by_anyone_but_the_secretary_is_refused_with_role_01_and_leaves_nothing(ready, actor):
    before = ready.show().events
    err = assert_refused(ready, "meeting-held", actor=actor, rule="ROLE-01", article="第三十条")
    assert err.code == "ROLE-01"
    assert ready.show().events == before
    assert ready.show().refused_attempts == ()

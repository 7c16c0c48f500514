"""After the decision: party report before publication, publication, execution, evaluation and adjustment."""

from __future__ import annotations

from datetime import date

import pytest

from flows.usecases.adjustments import open_adjustment
from flows.usecases.audit import verify_cases
from policies.errors import RuleRefusal
from support import CLERK, HEAD, LEGAL, MANDATORY_PATH, Driver


@pytest.fixture
def decided(case):
    case.walk(MANDATORY_PATH)
    return case


@pytest.fixture
def published(decided):
    decided.walk(["party-reported", "decision-published"])
    return decided


def refused(case, event, rule, **kw):
    with pytest.raises(RuleRefusal) as exc:
        case.record(event, **kw)
    assert rule in [f.rule for f in exc.value.findings], exc.value.message
    return exc.value


def test_publication_before_the_party_report_is_refused_with_pty_01(decided):
    err = refused(decided, "decision-published", "PTY-01")
    assert "第三十一条" in err.findings[0].article


def test_publication_needs_an_official_channel_with_its_reference(decided):
    decided.record("party-reported")
    refused(decided, "decision-published", "PUB-01", channels=[{"kind": "new-media", "ref": "微信公众号"}])
    decided.record("decision-published")
    assert decided.show().status == "published"


def test_a_technical_decision_must_be_explained_and_interpreted(decided):
    decided.record("party-reported")
    refused(decided, "decision-published", "PUB-02", interpretation=[], adoption_explanation="")


def test_the_decision_must_say_who_executes_it_how_and_by_when(decided):
    decided.record("party-reported")
    err = refused(decided, "decision-published", "EXE-01", execution={"units": ["市住建局"]})
    assert "执行目标" in err.findings[0].message


def test_publication_later_than_twenty_working_days_needs_an_acknowledged_reason(decided):
    decided.record("party-reported")
    # The meeting was 2025-11-03; the 20th working day after it is 2025-12-01.
    refused(decided, "decision-published", "PUB-04", published_on="2025-12-02")
    r = decided.record("decision-published", published_on="2025-12-02",
                       acknowledge=(("PUB-04", "公报排期顺延，网站已于11月10日发布摘要"),))
    assert [f.rule for f in r.acknowledged] == ["PUB-04"]


def test_publication_can_be_withheld_only_for_a_non_disclosed_matter(decided):
    decided.record("party-reported")
    refused(decided, "publication-exempted", "PUB-03")


def test_publication_is_withheld_for_a_non_disclosed_matter_with_its_basis(ws):
    d = Driver(ws)
    d.launch("non-disclosure")
    d.record("participation-exempted")
    d.walk(["expert-review-waived", "risk-assessment-waived", "legality-review-submitted", "legality-opinion-issued"])
    d.record("meeting-held", package=[{"kind": "draft", "title": "草案"}, {"kind": "legality-opinion", "title": "意见"}])
    d.walk(["party-reported", "publication-exempted"])
    assert d.status("publication") == "exempted"


def test_execution_reports_follow_publication(published):
    published.record("execution-reported")
    published.record("execution-reported", status="签约率80%")
    assert published.status("execution") == "in-progress"


def test_execution_is_not_reported_before_publication(decided):
    decided.record("party-reported")
    refused(decided, "execution-reported", "PUB-01")


def test_the_evaluator_cannot_be_a_unit_that_assessed_before_the_decision(published):
    published.record("execution-reported")
    refused(published, "post-evaluation-done", "PDE-02", evaluator="海南大学")
    published.record("post-evaluation-done")


def test_only_the_head_suspends_execution_and_only_on_an_article_35_ground(published):
    published.record("execution-reported")
    refused(published, "adjustment-decided", "ADJ-02")  # no art. 35 situation reported yet
    published.record("execution-problem-reported")
    refused(published, "adjustment-decided", "ADJ-02", actor=LEGAL)
    refused(published, "adjustment-decided", "ADJ-02", urgency_reason="")
    published.record("adjustment-decided", actor=HEAD)


def test_execution_cannot_be_stopped_by_a_bare_record(published):
    published.record("execution-reported")
    refused(published, "adjustment-decided", "ADJ-03", actor=LEGAL, kind="stop", urgency_reason="")


def test_an_amendment_opens_a_child_case_that_must_pass_legality_review_and_the_meeting(published):
    published.record("execution-problem-reported")
    published.clock_to(date(2026, 1, 25))
    child, rec = open_adjustment(published.ws, LEGAL, published.case_id, kind="amend",
                                 ground="条例第三十五条：客观情况发生重大变化", decided_on="2026-01-25")
    kid = Driver(published.ws, case_id=child)
    assert kid.show().title.endswith("（变更）")
    with pytest.raises(RuleRefusal) as exc:
        published.record("adjustment-completed", completed_on="2026-01-26", child_case=child)
    assert exc.value.code == "ADJ-01"
    # The child runs the procedure again: here through a 2026 timeline.
    kid.record("participation-activity-held", held_on="2026-02-02")
    kid.record("participation-concluded", concluded_on="2026-02-03")
    kid.record("expert-review-concluded", held_on="2026-02-04")
    kid.record("risk-assessed", assessed_on="2026-02-05")
    kid.record("legality-review-submitted", submitted_on="2026-02-06")
    kid.record("legality-opinion-issued", issued_on="2026-03-02")
    kid.record("meeting-held", held_on="2026-03-05")
    published.record("adjustment-completed", completed_on="2026-03-06", child_case=child)
    assert verify_cases(published.ws).exit_code == 0


def test_a_clerk_cannot_open_an_adjustment(published):
    published.record("execution-problem-reported")
    with pytest.raises(RuleRefusal) as exc:
        open_adjustment(published.ws, CLERK, published.case_id, kind="repeal", ground="x", decided_on="2026-01-20")
    assert exc.value.code == "ROLE-01"
    assert len(__import__("flows.usecases.show", fromlist=["list_cases"]).list_cases(published.ws)) == 1  # no orphan child

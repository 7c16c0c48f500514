"""The sanya-2022 overlay: chosen at launch, pinned by its content hash, adding the Sanya plan's rules on top of the
national baseline without changing the baseline's cases."""

from __future__ import annotations

import pytest

from flows.usecases.audit import verify_cases
from policies.errors import RuleRefusal
from policies.pack import load_pack
from support import Driver


@pytest.fixture
def sanya(ws):
    d = Driver(ws)
    d.launch("risk-relevant", "technical", "livelihood", policy="sanya-2022")
    return d


@pytest.mark.parametrize("version, added", [
    (1, {"PP-08", "PP-09", "HRG-06", "EXP-05", "RSK-05", "SCP-07"}),
    (2, {"PP-08", "PP-09", "HRG-06", "EXP-05", "RSK-05"}),  # SCP-07 is national from cn-2019@2 on (条例 art. 8)
])
def test_the_overlay_keeps_every_national_rule_and_adds_the_sanya_ones(version, added):
    base, sanya = load_pack("cn-2019", version), load_pack("sanya-2022", version)
    assert set(base.rules) < set(sanya.rules)
    assert added == set(sanya.rules) - set(base.rules)
    assert sanya.hash != base.hash and sanya.stages == base.stages


def test_a_case_pins_the_overlay_it_was_launched_under(sanya):
    view = sanya.show()
    assert view.policy == "sanya-2022" and view.policy_hash == load_pack("sanya-2022").hash


def test_a_livelihood_case_without_a_survey_or_deputies_heard_is_warned(sanya):
    sanya.record("consultation-opened")
    with pytest.raises(RuleRefusal) as exc:
        sanya.record("participation-concluded")
    assert {f.rule for f in exc.value.findings} == {"PP-08", "PP-09"}
    assert all(f.enforcement == "WARN" for f in exc.value.findings)
    sanya.record("participation-activity-held", method="opinion-poll", description="入户问卷调查1,032份",
                 participant_groups=["grassroots", "npc-deputy"])
    sanya.record("participation-concluded")


def test_the_sanya_overlay_asks_every_case_for_the_npc_report_as_a_warning():
    assert load_pack("sanya-2022").rules["SCP-07"].enforcement == {"default": "HARD", "unflagged": "WARN"}
    assert load_pack("cn-2019").rules["SCP-07"].enforcement == {"default": "HARD"}


def test_the_same_steps_pass_under_the_national_baseline(case):
    case.record("consultation-opened")
    case.record("participation-concluded")  # no Sanya warnings in cn-2019


def test_sanya_expects_published_expert_and_risk_reports_or_a_reason(sanya):
    sanya.record("participation-activity-held", method="questionnaire", description="问卷", participant_groups=["grassroots"])
    sanya.record("participation-concluded")
    with pytest.raises(RuleRefusal) as exc:
        sanya.record("expert-review-concluded")
    assert exc.value.code == "EXP-05"
    sanya.record("expert-review-concluded", publication_ref="https://www.sanya.gov.cn/zjlz/2025-1014.html")
    sanya.record("risk-assessed", acknowledge=(("RSK-05", "报告涉及群体性事件处置预案，经市政府同意不予公开"),))
    assert verify_cases(sanya.ws).exit_code == 0


def test_publication_without_the_npc_report_is_refused_for_a_flagged_case(ws):
    d = Driver(ws)
    d.launch("npc-report", policy="sanya-2022", category="other")
    d.record("participation-activity-held", description="座谈会", participant_groups=["npc-deputy"])
    d.record("participation-concluded")
    d.record("expert-review-waived")
    d.record("risk-assessment-waived")
    d.walk(["legality-review-submitted", "legality-opinion-issued"])
    d.record("meeting-held", package=[{"kind": "draft", "title": "草案"}, {"kind": "participation-report", "title": "采纳情况"},
                                      {"kind": "legality-opinion", "title": "意见"}])
    d.record("party-reported")
    with pytest.raises(RuleRefusal) as exc:
        d.record("decision-published")
    assert exc.value.code == "SCP-07" and exc.value.findings[0].enforcement == "HARD"
    d.record("npc-reported", reported_on="2025-11-06", reference="三府函〔2025〕118号")
    d.record("decision-published")
    assert d.show().status == "published"

"""PP-03 (special groups consulted) and HRG-01 (a hearing where a law requires one)."""

from __future__ import annotations

import pytest

from policies.errors import RuleRefusal
from support import Driver


def test_a_special_group_case_cannot_conclude_participation_without_consulting_its_organisations(ws):
    d = Driver(ws)
    d.launch("special-group")
    d.record("consultation-opened")
    with pytest.raises(RuleRefusal) as exc:
        d.record("participation-concluded")
    assert exc.value.code == "PP-03" and "第十四条第三款" in exc.value.findings[0].article
    d.record("participation-activity-held", description="与市残联、残疾人代表座谈",
             participant_groups=["people-organisation", "interested-party"])
    d.record("participation-concluded")
    assert d.status("public_participation") == "concluded"


def test_a_matter_that_by_law_needs_a_hearing_cannot_conclude_participation_without_one(ws):
    d = Driver(ws)
    d.launch("hearing-required", category="public-policy", title="三亚市管道天然气销售价格调整")
    d.record("consultation-opened")
    with pytest.raises(RuleRefusal) as exc:
        d.record("participation-concluded")
    assert exc.value.code == "HRG-01"
    d.record("hearing-held")
    d.record("participation-concluded")

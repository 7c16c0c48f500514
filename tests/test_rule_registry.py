"""Every HARD and WARN rule a shipped pack lists is implemented in exactly one place in the code, or the pack says
it is only captured and why (with the article); a rule the code does not implement fails here (issue 9)."""

from __future__ import annotations

import re

import pytest

import flows.usecases.audit  # noqa: F401  (imports every module that registers or declares a rule)
from policies.pack import available_packs, load_pack, pack_from_data, pack_versions
from policies.rules import Violation, _home, check, checks_for, implemented_rules, unimplemented_rules

SHIPPED = sorted(f"{p}@{v}" for p in available_packs() for v in pack_versions(p))
ARTICLE = re.compile(r"条例|第.+条|art\.|arts\.|DA/T|GB/T|办法|规定|方案|PROCEDURE\.md")


@pytest.mark.parametrize("ref", SHIPPED)
def test_every_hard_and_warn_rule_of_the_pack_is_implemented_or_marked_capture_only(ref):
    assert unimplemented_rules(load_pack(ref)) == []


@pytest.mark.parametrize("ref", SHIPPED)
def test_a_capture_only_rule_says_why_and_on_which_article(ref):
    pack = load_pack(ref)
    for rid, raw in pack.data["rules"].items():
        note = raw.get("capture_only")
        if note is not None:
            assert isinstance(note, str) and ARTICLE.search(note), (rid, note)
            assert rid not in implemented_rules(), f"{rid} is implemented and also marked capture-only"


def test_a_pack_listing_a_rule_the_code_does_not_implement_fails_the_check():
    data = dict(load_pack("cn-2019").data)
    data["rules"] = {**data["rules"], "XYZ-99": {"article": "条例第九十九条", "enforcement": "HARD", "zh": "虚构", "en": "made up"},
                     "XYZ-98": {"article": "条例第九十八条", "enforcement": {"default": "REC", "late": "WARN"}, "zh": "虚构",
                                "en": "made up, WARN in one part"},
                     "XYZ-97": {"article": "条例第九十七条", "enforcement": "REC", "zh": "虚构", "en": "only recorded"}}
    assert unimplemented_rules(pack_from_data(data)) == ["XYZ-98", "XYZ-99"]
    data["rules"]["XYZ-99"] = {**data["rules"]["XYZ-99"], "capture_only": "条例第九十九条: the engine records it only"}
    assert unimplemented_rules(pack_from_data(data)) == ["XYZ-98"]


def test_a_rule_lives_in_one_module_a_second_registration_elsewhere_is_refused():
    with pytest.raises(RuntimeError, match="ORD-01 is implemented in policies.rules.dates"):
        _home("ORD-01", "policies.rules.elsewhere")

    def stray(ctx):
        yield Violation("PP-01", "never")

    stray.__module__ = "policies.rules.elsewhere"
    with pytest.raises(RuntimeError, match="PP-01"):
        check("PP-01", "consultation-opened")(stray)
    assert "PP-01" not in checks_for("consultation-opened")


def test_every_rule_of_the_engines_own_section_d_is_in_the_national_pack():
    pack = load_pack("cn-2019")
    for rid in ("SEQ-01", "ROLE-01", "ORD-01", "ORD-02", "ORD-03", "RSK-08", "CAL-08", "LIM-01"):
        assert rid in pack.rules and rid in implemented_rules(), rid
    assert pack.rules["ORD-02"].level() == "WARN" and pack.rules["RSK-07"].level() == "WARN"
    assert pack.rules["SCP-07"].level() == "HARD"

"""The rule index (docs/rules.md) and the README's rule counts are generated from the packs and kept current: a pack,
a rule registration or a test naming a rule changes them, and these tests fail until `python scripts/gen_rules.py`
is run again."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from policies.pack import available_packs, load_pack, pack_from_data, pack_versions

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_rules", ROOT / "scripts" / "gen_rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_rules", module)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def test_the_rule_index_is_current() -> None:
    index, _ = gen.generate()
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == index, f"docs/rules.md is stale: {gen.FIX}"


def test_the_readme_counts_are_current() -> None:
    _, readme = gen.generate()
    assert (ROOT / "README.md").read_text(encoding="utf-8") == readme, f"README.md's rule counts are stale: {gen.FIX}"


def test_the_readme_states_each_shipped_packs_counts_as_the_pack_has_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for pack_id in available_packs():
        for version in pack_versions(pack_id):
            pack = load_pack(f"{pack_id}@{version}")
            enforced = sum(1 for r in pack.rules.values() if {"HARD", "WARN"} & set(r.enforcement.values()))
            stated = re.search(rf"`{pack_id}@{version}`: (\d+) rules, (\d+) of them HARD or WARN", readme)
            assert stated is not None, f"README.md does not state the counts of {pack_id}@{version}"
            assert (int(stated[1]), int(stated[2])) == (len(pack.rules), enforced), pack_id


def test_every_rule_of_every_shipped_pack_has_a_row_and_every_implemented_one_names_its_file() -> None:
    index = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for pack_id in available_packs():
        for version in pack_versions(pack_id):
            for rid, info in load_pack(f"{pack_id}@{version}").rules.items():
                row = re.search(rf"^\| \*\*{re.escape(rid)}\*\* \|.*$", index, re.M)
                assert row is not None, rid
                if info.level() != "REC":
                    assert re.search(r"\[[a-z_/]+\.py\]", row[0]), f"{rid}: no implementing file in its row"


def test_a_rule_added_to_a_pack_changes_the_counts_so_a_stale_readme_is_caught() -> None:
    pack = load_pack("cn-2019")
    impls = gen.implementations()
    before = gen.counts_paragraph([pack], impls)
    data = dict(pack.data)
    data["rules"] = {**data["rules"], "XYZ-99": {"article": "条例第九十九条", "enforcement": "HARD", "zh": "虚构", "en": "made up"}}
    after = gen.counts_paragraph([pack_from_data(data)], impls)
    assert after != before
    assert f"{len(pack.rules) + 1} rules" in after and "1 NOT implemented (XYZ-99)" in after


def test_a_registration_naming_a_module_that_does_not_exist_is_refused() -> None:
    with pytest.raises(SystemExit, match="policies.rules.nowhere"):
        gen._module_file("policies.rules.nowhere")

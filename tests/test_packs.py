"""The policy packs: complete, consistent with the event models, and never edited once published."""

from __future__ import annotations

import pytest

from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE
from policies.pack import available_packs, load_pack, pack_by_hash, pack_versions
from policies.rules import _CHECKS

# A case pins its pack's content hash at launch and is judged by that pack forever. A published pack is never
# edited: a change is a new pack (a new id or version file), so these hashes only ever gain entries.
PUBLISHED = {
    "cn-2019@1": "5793bcbfd1e25019f1cdbae925b4b5a015c5612996e1634ab51592b70f9117dc",
    "sanya-2022@1": "4deb0d1356643cdc6f061439c55f17c979ecdf803723c055a8db4d74590eea96",
    # published with the one rule engine (issue 9) and accounts (issue 11); cases are launched under them
    "cn-2019@2": "7cdd685c8f803b3fccd3b10a59282243a30400d4717494a6a8835f47f14f2b5b",
    "sanya-2022@2": "6cc46bcc86273c89356b8bf2afb8daea5ca401b75b40aced3dbbb26f55cf39fc",
}
# Versions being written in this change; pinned into PUBLISHED when the change lands.
IN_PREPARATION: set[str] = set()
SHIPPED = sorted(f"{p}@{v}" for p in available_packs() for v in pack_versions(p))


@pytest.mark.parametrize("ref", sorted(PUBLISHED))
def test_a_published_pack_keeps_its_content_hash(ref):
    assert load_pack(ref).hash == PUBLISHED[ref], (
        f"{ref} changed after publication; cases launched under it would be refused. Publish the change as a "
        "new version instead."
    )


def test_every_shipped_pack_version_is_published():
    assert set(SHIPPED) == set(PUBLISHED) | IN_PREPARATION


@pytest.mark.parametrize("ref", SHIPPED)
def test_a_case_finds_the_version_it_pinned_by_its_hash(ref):
    pack = load_pack(ref)
    assert pack_by_hash(pack.id, pack.hash) == pack
    assert f"{pack.id}@{pack.version}" == ref


def test_a_new_case_takes_the_newest_version():
    for pack_id in available_packs():
        assert load_pack(pack_id).version == pack_versions(pack_id)[-1]


@pytest.mark.parametrize("pack_id", SHIPPED)
def test_every_rule_names_its_article_enforcement_and_words(pack_id):
    for rule in load_pack(pack_id).rules.values():
        assert rule.article and rule.zh and rule.en, rule.id
        assert set(rule.enforcement.values()) <= {"HARD", "WARN", "REC"}, rule.id


@pytest.mark.parametrize("pack_id", SHIPPED)
def test_every_event_has_a_stage_or_is_an_engine_record_and_someone_who_records_it(pack_id):
    pack = load_pack(pack_id)
    # An event added after a version was published (DRF-04's drafting records came with cn-2019@2) is unknown to the
    # earlier version: it gives the event no stage and no one to record it, so its cases cannot record it. The newest
    # version of every pack knows every event.
    newest = pack.version == pack_versions(pack.id)[-1]
    for event in RECORDABLE:
        known = bool(pack.roles_for(event)[0])
        assert known or not newest, f"nobody records {event}"
        if known:
            assert pack.stage_of(event) is not None, f"{event} belongs to no stage"
        else:
            assert pack.stage_of(event) is None, f"{event} has a stage but nobody who records it"
    for stage in pack.stages:
        for event in stage.events:
            assert event in EVENT_TYPES, f"{stage.id} names an unknown event {event}"
    for event in ENGINE_EVENTS - {"attempt-refused", "workspace-initialised", "clock-set", "calendar-loaded", "experts-imported"}:
        assert pack.roles_for(event)[0] or event == "case-launched" or not newest, event


def test_every_check_belongs_to_a_rule_of_some_pack():
    known = set().union(*(load_pack(p).rules for p in available_packs()))
    for event, checks in _CHECKS.items():
        assert event in EVENT_TYPES
        for rule, _ in checks:
            assert rule in known, f"check for {rule} on {event} has no rule in any pack"


def test_legality_review_and_collective_discussion_can_never_be_waived():
    for pack_id in SHIPPED:
        pack = load_pack(pack_id)
        for stage in ("legality_review", "collective_discussion"):
            assert not pack.stage(stage).waiver and not pack.stage(stage).exemption


def test_a_case_launched_under_an_earlier_version_is_judged_by_that_version(ws):
    from flows.usecases.launch import launch_case
    from flows.usecases.show import show_case
    from support import LEGAL

    case_id, _ = launch_case(ws, LEGAL, title="旧版本规则包下的案件", category="plan", organ="三亚市人民政府",
                             lead_unit="三亚市发展和改革委员会", policy="cn-2019@1")
    view = show_case(ws, case_id)
    assert (view.policy, view.policy_hash) == ("cn-2019", PUBLISHED["cn-2019@1"])

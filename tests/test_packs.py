"""The policy packs: complete, consistent with the event models, and never edited once published."""

from __future__ import annotations

import pytest

from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE
from policies.pack import available_packs, load_pack
from policies.rules import _CHECKS

# A case pins its pack's content hash at launch and is judged by that pack forever. A published pack is never
# edited: a change is a new pack (a new id or version file), so these hashes only ever gain entries.
PUBLISHED = {
    "cn-2019": "5793bcbfd1e25019f1cdbae925b4b5a015c5612996e1634ab51592b70f9117dc",
    "sanya-2022": "4deb0d1356643cdc6f061439c55f17c979ecdf803723c055a8db4d74590eea96",
}


@pytest.mark.parametrize("pack_id", sorted(PUBLISHED))
def test_a_published_pack_keeps_its_content_hash(pack_id):  # type: ignore[no-untyped-def]
    assert load_pack(pack_id).hash == PUBLISHED[pack_id], (
        f"{pack_id} changed after publication; cases launched under it would be refused. Publish the change as a "
        "new pack instead."
    )


def test_every_shipped_pack_is_published():  # type: ignore[no-untyped-def]
    assert set(available_packs()) == set(PUBLISHED)


@pytest.mark.parametrize("pack_id", sorted(PUBLISHED))
def test_every_rule_names_its_article_enforcement_and_words(pack_id):  # type: ignore[no-untyped-def]
    for rule in load_pack(pack_id).rules.values():
        assert rule.article and rule.zh and rule.en, rule.id
        assert set(rule.enforcement.values()) <= {"HARD", "WARN", "REC"}, rule.id


@pytest.mark.parametrize("pack_id", sorted(PUBLISHED))
def test_every_event_has_a_stage_or_is_an_engine_record_and_someone_who_records_it(pack_id):  # type: ignore[no-untyped-def]
    pack = load_pack(pack_id)
    for event in RECORDABLE:
        assert pack.stage_of(event) is not None, f"{event} belongs to no stage"
        assert pack.roles_for(event)[0], f"nobody records {event}"
    for stage in pack.stages:
        for event in stage.events:
            assert event in EVENT_TYPES, f"{stage.id} names an unknown event {event}"
    for event in ENGINE_EVENTS - {"attempt-refused", "workspace-initialised", "clock-set", "calendar-loaded", "experts-imported"}:
        assert pack.roles_for(event)[0] or event == "case-launched", event


def test_every_check_belongs_to_a_rule_of_some_pack():  # type: ignore[no-untyped-def]
    known = set().union(*(load_pack(p).rules for p in available_packs()))
    for event, checks in _CHECKS.items():
        assert event in EVENT_TYPES
        for rule, _ in checks:
            assert rule in known, f"check for {rule} on {event} has no rule in any pack"


def test_legality_review_and_collective_discussion_can_never_be_waived():  # type: ignore[no-untyped-def]
    for pack_id in PUBLISHED:
        pack = load_pack(pack_id)
        for stage in ("legality_review", "collective_discussion"):
            assert not pack.stage(stage).waiver and not pack.stage(stage).exemption

"""The expert pool and recorded draws (条例 arts. 20–21; EXP-04): interested experts are excluded, differing views
preferred, and the draw is recorded with its seed so that anyone can repeat it."""

from __future__ import annotations

import json

import pytest

from flows.usecases.experts import draw, draw_panel, import_experts, pool
from models.events import PoolExpert
from policies.errors import BadInput, RuleRefusal
from support import CLERK, LEGAL, MANDATORY_PATH

POOL = [
    {"name": "李建国", "affiliation": "海南大学", "specialty": "城市更新", "stance": "支持分期"},
    {"name": "黄雅琴", "affiliation": "海南省建筑设计院", "specialty": "结构安全", "stance": "主张整体改造"},
    {"name": "吴德明", "affiliation": "中山大学", "specialty": "住房保障", "stance": "对补偿有保留"},
    {"name": "周建华", "affiliation": "三亚城投集团", "specialty": "工程造价", "stance": "支持分期"},
    {"name": "陈立", "affiliation": "海南师范大学", "specialty": "社会学", "stance": "支持分期",
     "interests": ["三亚市住房和城乡建设局 顾问合同"]},
    {"name": "郑敏", "affiliation": "华南理工大学", "specialty": "城市规划", "stance": "主张整体改造"},
]


@pytest.fixture
def pooled(case, tmp_path):
    f = tmp_path / "pool.json"
    f.write_text(json.dumps(POOL, ensure_ascii=False), encoding="utf-8")
    import_experts(case.ws, LEGAL, f, bank="海南省决策咨询论证专家库")
    case.record("consultation-opened")
    case.record("participation-concluded")
    return case


def test_the_pool_is_loaded_with_its_bank(pooled):
    bank, digest, experts = pool(pooled.ws)
    assert bank == "海南省决策咨询论证专家库" and len(experts) == 6 and len(digest) == 64


def test_a_draw_excludes_experts_with_an_interest_and_records_why(pooled):
    rec, panel, excluded = draw_panel(pooled.ws, CLERK, pooled.case_id, count=3)
    assert "陈立" in {x["name"] for x in excluded}  # declared an interest in the lead unit
    assert "陈立" not in {e.name for e in panel}
    assert len({e.stance for e in panel}) == 3  # three views, one of each
    assert pooled.status("expert_review") == "in-progress"


def test_a_recorded_draw_is_repeatable_from_its_seed():
    experts = [PoolExpert.model_validate(e) for e in POOL]
    parties = ["三亚市人民政府", "三亚市住房和城乡建设局"]
    first, _ = draw(experts, parties, 3, "seed-1")
    again, _ = draw(experts, parties, 3, "seed-1")
    assert [e.name for e in first] == [e.name for e in again]


def test_a_draw_larger_than_the_eligible_pool_is_refused(pooled):
    with pytest.raises(BadInput):
        draw_panel(pooled.ws, CLERK, pooled.case_id, count=6)


def test_a_draw_follows_the_stage_order(case, tmp_path):
    f = tmp_path / "pool.json"
    f.write_text(json.dumps(POOL, ensure_ascii=False), encoding="utf-8")
    import_experts(case.ws, LEGAL, f, bank="市专家库")
    with pytest.raises(RuleRefusal) as exc:
        draw_panel(case.ws, CLERK, case.case_id, count=2)
    assert exc.value.code == "PP-01"


def test_the_draw_is_part_of_the_verified_history(pooled):
    from flows.usecases.audit import verify_cases

    draw_panel(pooled.ws, CLERK, pooled.case_id, count=3)
    pooled.walk(MANDATORY_PATH[2:])
    assert verify_cases(pooled.ws).exit_code == 0

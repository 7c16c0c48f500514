"""Time comes in one way: the workspace clock. A system-clock workspace follows the machine's clock (frozen here
with freezegun); a simulated one follows its recorded clock moves, forward only."""

from __future__ import annotations

from datetime import datetime

import pytest
from freezegun import freeze_time

from flows.usecases.launch import launch_case
from flows.usecases.record import record_event
from flows.usecases.show import show_case
from flows.usecases.clock import LOCAL
from flows.usecases.workspace import init_workspace, set_clock
from policies.errors import BadInput, RuleRefusal
from support import ADMIN, CLERK, LEGAL, payload


def test_a_system_clock_workspace_dates_a_launch_by_the_local_day_in_shanghai(tmp_path):
    # 2025-12-31 17:30 UTC is already 2026-01-01 01:30 in Shanghai.
    with freeze_time("2025-12-31T17:30:00Z"):
        ws, _ = init_workspace(tmp_path / "ws", ADMIN)
        case_id, _ = launch_case(ws, LEGAL, title="市级公共停车场建设", category="public-construction",
                                 organ="三亚市人民政府", lead_unit="三亚市交通运输局")
        view = show_case(ws, case_id)
    assert case_id == "JC-2026-0001"
    assert view.launched_on == "2026-01-01"


def test_a_record_dated_after_today_is_refused_as_bad_input(tmp_path):
    with freeze_time("2025-09-01T02:00:00Z"):
        ws, _ = init_workspace(tmp_path / "ws", ADMIN)
        case_id, _ = launch_case(ws, LEGAL, title="市级公共停车场建设", category="public-construction",
                                 organ="三亚市人民政府", lead_unit="三亚市交通运输局")
        with pytest.raises(BadInput) as exc:
            record_event(ws, CLERK, case_id, "participation-activity-held", payload("participation-activity-held"))
    assert exc.value.details["field"] == "held_on"
    assert "after today" in exc.value.message


def test_the_simulated_clock_only_moves_forward_and_each_move_is_recorded(ws):
    set_clock(ws, ADMIN, datetime(2025, 9, 1, 9, tzinfo=LOCAL))
    with pytest.raises(BadInput):
        set_clock(ws, ADMIN, datetime(2025, 8, 30, 9, tzinfo=LOCAL))
    from flows.usecases.workspace import read_workspace_facts

    facts = read_workspace_facts(ws)
    assert [e.type for e in facts.events] == ["workspace-initialised", "clock-set"]
    assert facts.simulated_now == datetime(2025, 9, 1, 9, tzinfo=LOCAL)


def test_only_an_admin_moves_the_clock(ws):
    with pytest.raises(RuleRefusal) as exc:
        set_clock(ws, CLERK, datetime(2025, 9, 1, 9, tzinfo=LOCAL))
    assert exc.value.code == "ROLE-01" and exc.value.exit_code == 3
    from flows.usecases.workspace import read_workspace_facts

    assert [e.type for e in read_workspace_facts(ws).events] == ["workspace-initialised"]

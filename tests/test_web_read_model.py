"""The web's read model (flows/usecases/read_model.py) serves what `show_case` would answer at that moment, on SQLite
and PostgreSQL: a record made through the API, the console, another process's command line, a clock move, a new day
or an account change shows on the very next request — a kept view is never served stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time

from flows.usecases.read_model import read_model_of
from flows.usecases.show import show_case
from flows.usecases.workspace import init_workspace, open_workspace
from policies.errors import BadInput, UnknownCase
from support import ADMIN, GOOD, MANDATORY_PATH, Driver
from web_support import web_for

JUECE = str(Path(sys.executable).with_name("juece"))


@pytest.fixture
def web(backend_ws):
    return web_for(backend_ws)


def juece(home: Path, *args: str, actor: str) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, on this test's database (PostgreSQL through its URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_") or k == "JUECE_DATABASE_URL"}
    return subprocess.run([JUECE, "--home", str(home), "--as", actor, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def api_view(client, case_id: str) -> dict:
    r = client.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == str(r.json()["events"])
    return r.json()


def test_a_record_through_the_api_shows_on_the_next_read_of_the_api_and_the_console(web) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    d.clock_to(date(2025, 9, 1))
    clerk = web.client("clerk")
    page, _ = web.session("clerk")
    assert api_view(clerk, d.case_id) == show_case(web.ws, d.case_id).to_json()
    assert "1 条记录" in page.get(f"/cases/{d.case_id}").text
    r = clerk.post(f"/api/v1/cases/{d.case_id}/records",
                   json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]})
    assert r.status_code == 201
    after = api_view(clerk, d.case_id)
    assert after["events"] == 2 and after == show_case(web.ws, d.case_id).to_json()
    assert "2 条记录" in page.get(f"/cases/{d.case_id}").text


def test_a_record_from_the_command_line_in_another_process_shows_on_the_next_read(web, tmp_path) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    d.clock_to(date(2025, 9, 1))
    clerk = web.client("clerk")
    page, _ = web.session("clerk")
    before = api_view(clerk, d.case_id)
    assert "1 条记录" in page.get(f"/cases/{d.case_id}").text
    body = tmp_path / "consultation.json"
    body.write_text(json.dumps(GOOD["consultation-opened"], ensure_ascii=False), encoding="utf-8")
    done = juece(web.ws.home, "record", d.case_id, "consultation-opened", "--file", str(body), actor="clerk:李明")
    assert done.returncode == 0, done.stderr
    after = api_view(clerk, d.case_id)
    assert after["events"] == before["events"] + 1 and after == show_case(web.ws, d.case_id).to_json()
    assert "2 条记录" in page.get(f"/cases/{d.case_id}").text


def test_a_clock_move_recorded_elsewhere_changes_today_and_the_deadlines_on_the_next_read(web) -> None:
    d = Driver(web.ws)
    d.launch("technical", "risk-relevant")
    d.walk(MANDATORY_PATH[:3])
    clerk = web.client("clerk")
    before = api_view(clerk, d.case_id)
    Driver(open_workspace(web.ws.home), d.case_id).clock_to(date(2026, 6, 30))  # another opened workspace: another process
    after = api_view(clerk, d.case_id)
    assert after["today"] == "2026-06-30" != before["today"]
    assert after == show_case(web.ws, d.case_id).to_json()


def test_on_the_system_clock_a_new_day_changes_the_view_without_any_record(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JUECE_DATABASE_URL", raising=False)
    start = datetime(2025, 9, 1, 15, 0, tzinfo=timezone.utc)  # 23:00 in Shanghai
    with freeze_time(start) as frozen:
        ws, _ = init_workspace(tmp_path / "ws", ADMIN)
        web = web_for(ws)
        d = Driver(ws)
        d.launch("technical")
        clerk = web.client("clerk")
        assert api_view(clerk, d.case_id)["today"] == "2025-09-01"
        frozen.move_to(start + timedelta(hours=2))  # 01:00 the next day in Shanghai
        after = api_view(clerk, d.case_id)
        assert after["today"] == "2025-09-02" and after == show_case(ws, d.case_id).to_json()


def test_the_kept_view_is_what_show_case_answers_along_a_whole_walk(backend_ws) -> None:
    model = read_model_of(backend_ws)
    d = Driver(backend_ws)
    d.launch("technical", "risk-relevant")
    assert model.case_view(backend_ws, d.case_id) == show_case(backend_ws, d.case_id)
    for event in MANDATORY_PATH + ("party-reported", "decision-published", "execution-reported"):
        d.record(event)
        assert model.case_view(backend_ws, d.case_id) == show_case(backend_ws, d.case_id)
        assert model.case_view(backend_ws, d.case_id) is model.case_view(backend_ws, d.case_id)  # kept, not rebuilt


def test_an_unknown_or_overlong_case_is_refused_as_show_case_refuses_it(backend_ws) -> None:
    model = read_model_of(backend_ws)
    with pytest.raises(UnknownCase):
        model.case_view(backend_ws, "JC-2099-0001")
    with pytest.raises(UnknownCase):
        model.case_view(backend_ws, "@workspace")
    with pytest.raises(BadInput) as exc:
        model.case_view(backend_ws, "X" * 5000)
    with pytest.raises(BadInput) as same:
        show_case(backend_ws, "X" * 5000)
    assert exc.value.message == same.value.message


def test_an_account_disabled_by_the_command_line_is_refused_on_the_next_request(web) -> None:
    reviewer = web.client("reviewer")
    session, _ = web.session("reviewer")
    assert reviewer.get("/api/v1/cases").status_code == 200 and session.get("/cases").status_code == 200
    done = juece(web.ws.home, "user", "disable", "王芳", actor=f"admin:{ADMIN.name}")
    assert done.returncode == 0, done.stderr
    assert reviewer.get("/api/v1/cases").status_code == 401
    assert session.get("/api/v1/cases").status_code == 401


def test_a_role_granted_elsewhere_counts_on_the_next_request(web) -> None:
    from flows.usecases.accounts import grant_role

    d = Driver(web.ws)
    d.launch("technical")
    d.clock_to(date(2025, 9, 1))
    auditor = web.client("auditor")
    record = {"event": "consultation-opened", "payload": GOOD["consultation-opened"]}
    assert auditor.post(f"/api/v1/cases/{d.case_id}/records", json=record).status_code == 403
    grant_role(open_workspace(web.ws.home), ADMIN, "赵审计", "clerk")
    assert auditor.post(f"/api/v1/cases/{d.case_id}/records", json=record).status_code == 201


def test_a_case_launched_after_the_first_read_is_found(web) -> None:
    legal = web.client("legal-office")
    first = Driver(web.ws)
    first.launch("technical")
    api_view(legal, first.case_id)
    second = Driver(open_workspace(web.ws.home))
    second.launch("technical", title="三亚市公共停车场建设规划")
    assert api_view(legal, second.case_id) == show_case(web.ws, second.case_id).to_json()

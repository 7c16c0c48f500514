"""The deadline sweep reports the right items on the right days (the simulated clock fixes the day), and delivers
reminders to a webhook: a real local HTTP server, and httpx.MockTransport for the failure paths."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import date, datetime

import httpx
import pytest
from sqlalchemy import event

from flows.adapters.http import retry_on_transient
from flows.usecases.clock import LOCAL
from flows.usecases.sweep import post_reminders, sweep
from policies.errors import DeliveryRefused, TransientDeliveryError
from support import MANDATORY_PATH, Driver
from test_cli import juece


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=LOCAL)


def items_by_rule(ws, day):
    _, items = sweep(ws, as_of=at(day))
    return {(i.case_id, i.rule): i for i in items}


def test_an_announced_hearing_shows_its_materials_deadline_a_week_ahead_and_overdue_after(ws):
    d = Driver(ws)
    d.launch("risk-relevant")
    d.record("hearing-announced")  # hearing 2025-09-26: materials due 09-19
    assert (d.case_id, "HRG-04") not in items_by_rule(ws, "2025-09-05")
    soon = items_by_rule(ws, "2025-09-12")[(d.case_id, "HRG-04")]
    assert (soon.due, soon.state) == ("2025-09-19", "upcoming")
    assert items_by_rule(ws, "2025-09-20")[(d.case_id, "HRG-04")].state == "overdue"


def test_a_hearing_whose_materials_deadline_falls_in_the_spring_festival_suggests_the_last_working_day(tmp_path):
    from support import new_workspace

    ws = new_workspace(tmp_path / "ws", start=datetime(2026, 2, 2, 9, tzinfo=LOCAL))
    d = Driver(ws)
    d.launch()
    d.record("hearing-announced", notice_published_on="2026-02-03", scheduled_on="2026-02-26")
    item = items_by_rule(ws, "2026-02-13")[(d.case_id, "HRG-04")]  # W3
    assert item.due == "2026-02-19" and "2026-02-14" in item.note and "CAL-04" in item.note


def test_the_twenty_working_day_publication_limit_warns_from_day_15_and_is_overdue_after_day_20(case):
    case.walk(MANDATORY_PATH)  # decided at the meeting of 2025-11-03
    assert items_by_rule(case.ws, "2025-11-10").get((case.case_id, "PUB-04")) is None
    assert items_by_rule(case.ws, "2025-11-24")[(case.case_id, "PUB-04")].state == "due-soon"  # working day 15
    late = items_by_rule(case.ws, "2025-12-02")[(case.case_id, "PUB-04")]
    assert (late.due, late.state) == ("2025-12-01", "overdue")


def test_an_execution_report_is_overdue_when_the_decisions_period_has_passed(case):
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])  # published 2025-11-10, reports every 90 days
    assert items_by_rule(case.ws, "2026-01-20").get((case.case_id, "EXE-02")) is None
    assert items_by_rule(case.ws, "2026-02-05")[(case.case_id, "EXE-02")].state == "due-soon"
    assert items_by_rule(case.ws, "2026-02-09")[(case.case_id, "EXE-02")].state == "overdue"


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 204

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_reminders_reach_a_real_local_webhook(case):
    case.record("hearing-announced")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        today, items = sweep(case.ws, as_of=at("2025-09-20"))
        assert post_reminders(f"http://127.0.0.1:{server.server_address[1]}/hook", today, items) == 204
    finally:
        server.shutdown()
    body = _Hook.received[-1]
    assert body["today"] == "2025-09-20" and body["items"][0]["rule"] == "HRG-04"


def test_a_delivery_is_posted_once_and_says_whether_its_failure_is_worth_a_retry():
    """Retrying is Prefect's (tests/test_case_flow.py): here one POST, and the failure's kind decides the retry."""
    calls = []

    def answering(status: int):
        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(status)
            return httpx.Response(status)
        return httpx.MockTransport(handler)

    assert post_reminders("http://hook.test/x", "2025-09-20", [], transport=answering(200)) == 200
    with pytest.raises(TransientDeliveryError) as transient:
        post_reminders("http://hook.test/x", "2025-09-20", [], transport=answering(503))
    with pytest.raises(DeliveryRefused) as refused:
        post_reminders("http://hook.test/x", "2025-09-20", [], transport=answering(403))
    assert calls == [200, 503, 403]  # one request each: no hand-written retry
    assert retry_on_transient(transient.value) and not retry_on_transient(refused.value)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(TransientDeliveryError) as unreachable:
        post_reminders("http://hook.test/x", "2025-09-20", [], transport=httpx.MockTransport(down))
    assert retry_on_transient(unreachable.value) and not retry_on_transient(RuntimeError("a bug"))


def test_many_opinions_on_execution_suggest_a_post_decision_evaluation(case):
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    case.record("public-feedback-received", count=57)
    assert (case.case_id, "PDE-01") not in items_by_rule(case.ws, "2026-01-12")
    case.record("public-feedback-received", count=60, received_on="2026-01-11")
    item = items_by_rule(case.ws, "2026-01-12")[(case.case_id, "PDE-01")]
    assert item.state == "suggested" and "117 opinions" in item.note
    case.record("post-evaluation-done")
    assert (case.case_id, "PDE-01") not in items_by_rule(case.ws, "2026-02-11")


def test_due_as_of_a_moment_leaves_out_the_cases_launched_after_it_through_the_real_command_line(ws):
    early = Driver(ws)
    early.launch("risk-relevant")
    early.record("hearing-announced")  # hearing 2025-09-26: materials due 09-19
    early.clock_to(date(2025, 10, 20))
    late = Driver(ws)
    late.launch("risk-relevant", title="三亚市公共停车场建设规划")  # launched 2025-10-20: did not exist on 09-20
    ws.engine.dispose()

    code, out, err = juece(ws.home, "due", "--as-of", "2025-09-20T12:00:00+08:00", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["today"] == "2025-09-20"
    assert {i["case_id"] for i in result["items"]} == {early.case_id}
    assert any(i["rule"] == "HRG-04" and i["state"] == "overdue" for i in result["items"])

    code, out, err = juece(ws.home, "due", "--as-of", "2025-08-01T12:00:00+08:00", "--json")  # before either
    assert (code, json.loads(out)["items"]) == (0, []), err

    code, out, err = juece(ws.home, "due", "--json")  # now: both cases exist
    assert code == 0, err
    assert json.loads(out)["today"] == "2025-10-20"


def test_the_sweep_reads_in_one_transaction_and_replays_each_case_once(ws, monkeypatch):
    from flows.usecases import sweep as sweep_module

    drivers = [Driver(ws) for _ in range(3)]
    for d in drivers:
        d.launch("risk-relevant")
        d.record("hearing-announced")
    transactions, replays = [], []
    event.listen(ws.engine, "begin", lambda conn: transactions.append(1))
    real_replay = sweep_module.replay
    monkeypatch.setattr(sweep_module, "replay", lambda events: replays.append(events[0].case_id) or real_replay(events))
    _, items = sweep(ws, as_of=at("2025-09-20"))
    assert {i.case_id for i in items} == {d.case_id for d in drivers}
    assert len(transactions) == 1
    assert sorted(replays) == sorted(d.case_id for d in drivers)

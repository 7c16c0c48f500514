"""The decision-case flow under Prefect's test harness: it derives the case from its history, publishes the stage
table as a markdown artifact, and ends in a state named for what the case waits on."""

from __future__ import annotations

import os
import tempfile

import pytest

from support import MANDATORY_PATH

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the session (about 10 s to start)."""
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="juece-prefect-home-"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def run_flow(home: str, case_id: str):
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import decision_case

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        return decision_case(home=home, case_id=case_id, return_state=True)


def read_artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        latest = client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert len(latest) == 1
    return latest[0].data


def test_the_flow_ends_awaiting_the_legality_opinion_and_publishes_the_stage_table(prefect_harness, case):
    case.walk(MANDATORY_PATH[:5])  # up to legality-review-submitted

    state = run_flow(str(case.ws.home), case.case_id)

    assert state.is_completed()
    assert state.name == "AwaitingLegalityOpinion"
    assert state.result()["awaiting"] == "AwaitingLegalityOpinion"
    table = read_artifact(state.result()["artifact"])
    assert "| 合法性审查 legality review | in-progress |" in table
    assert "| 风险评估 risk assessment | concluded | 2025-10-20 |" in table


def test_the_flow_is_rerunnable_and_follows_the_records(prefect_harness, case):
    case.walk(MANDATORY_PATH[:6])
    first = run_flow(str(case.ws.home), case.case_id)
    again = run_flow(str(case.ws.home), case.case_id)
    assert first.name == again.name == "AwaitingCollectiveDiscussion"

    case.record("meeting-held")
    after = run_flow(str(case.ws.home), case.case_id)
    assert after.name == "AwaitingPartyReport"
    assert "| 集体讨论决定 collective discussion | concluded |" in read_artifact(after.result()["artifact"])


def test_the_audit_flow_names_its_verdict_and_publishes_the_report(prefect_harness, case):
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import audit_all_cases

    case.walk(MANDATORY_PATH[:6])
    case.record("meeting-held", held_on="2025-10-30", acknowledge=(("LEG-04", "司法局确认审查已完成"),))
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = audit_all_cases(home=str(case.ws.home), return_state=True)
    assert state.name == "Intact"
    report = read_artifact("audit-report")
    assert f"| {case.case_id} | 8 | intact | 0 | 1 | 0 |" in report
    assert "acknowledged **LEG-04**" in report and "司法局确认审查已完成" in report


def test_the_sweep_flow_retries_a_webhook_only_on_transient_failures(prefect_harness, case):
    import http.server
    import threading

    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import deadline_sweep

    statuses = [503, 204, 403]
    hits: list[int] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            hits.append(statuses[min(len(hits), 2)])
            self.send_response(hits[-1])
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    case.record("hearing-announced")
    case.clock_to(__import__("datetime").date(2025, 9, 20))  # the materials deadline 09-19 has passed
    try:
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            state = deadline_sweep(home=str(case.ws.home), webhook_url=url, return_state=True)
            assert state.name == "Overdue" and hits == [503, 204]  # one transient failure, retried once
            refused = deadline_sweep(home=str(case.ws.home), webhook_url=url, return_state=True)
    finally:
        server.shutdown()
    assert refused.is_failed() and hits == [503, 204, 403]  # the 403 was not retried
    assert "HRG-04" in read_artifact("deadline-sweep")


def test_the_publication_flow_posts_the_text_retrying_transient_failures_and_records_where(prefect_harness, case, tmp_path):
    import hashlib
    import http.server
    import json
    import threading

    from prefect.settings import temporary_settings

    from flows.usecases.documents import attach
    from flows.orchestration.prefect_flows import publish_decision
    from flows.usecases.publication import verify_copy
    from support import LEGAL

    text = "三亚市人民政府关于河西片区棚户区改造的决定\n".encode()
    f = tmp_path / "决定.txt"
    f.write_bytes(text)
    case.walk(MANDATORY_PATH)
    case.record("party-reported")
    attach(case.ws, LEGAL, case.case_id, f)
    case.record("decision-published", text_sha256=hashlib.sha256(text).hexdigest())
    received: list[bytes] = []
    codes = [502, 200]

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            code = codes[min(len(received), 1)]
            received.append(body)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if code == 200:
                self.wfile.write(json.dumps({"url": f"http://127.0.0.1:{self.server.server_address[1]}/d/1.txt"}).encode())

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            state = publish_decision(home=str(case.ws.home), case_id=case.case_id,
                                     portal=f"http://127.0.0.1:{server.server_address[1]}/post", return_state=True)
        assert state.name == "Posted" and len(received) == 2  # one 502, retried once
        assert "三亚市人民政府关于".encode() in received[-1]
        where = state.result()["url"]
        from flows.usecases.publication import fetch

        assert verify_copy(case.ws, case.case_id, fetch(where), where).matches
    finally:
        server.shutdown()
    from flows.usecases.audit import replay_case

    assert replay_case(case.ws, case.case_id).events[-1].type == "decision-posted"

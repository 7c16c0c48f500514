"""The HTTP API under /api/v1, route by route as PRODUCT.md's table says, on SQLite and PostgreSQL: JSON shapes as
the command line's `--json`, status codes, the error object, ETag/If-Match, Idempotency-Key, size limits — and
bad input that changes nothing and is never a 500."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.usecases.audit import replay_case, verify_cases
from flows.usecases.show import list_cases, show_case
from models.events import EVENT_TYPES
from support import GOOD, MANDATORY_PATH, Driver, payload
from web_support import LAUNCH, event_count, web_for


@pytest.fixture
def web(backend_ws):
    return web_for(backend_ws)


def test_health_needs_no_credentials_and_everything_else_does(web) -> None:
    anon = web.client()
    assert anon.get("/api/v1/health").json() == {"status": "ok"}
    head = anon.head("/api/v1/health")  # a load balancer's check
    assert head.status_code == 200 and head.content == b""
    r = anon.get("/api/v1/cases")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["www-authenticate"].startswith("Bearer")
    bad = web.client()
    bad.headers["Authorization"] = "Bearer jc_not-a-token"
    assert bad.get("/api/v1/cases").status_code == 401


def test_launch_list_show_record_history_and_verify_answer_as_the_command_line_does(web) -> None:
    legal, clerk = web.client("legal-office"), web.client("clerk")
    r = legal.post("/api/v1/cases", json={**LAUNCH, "decided_on": "2025-08-25"})
    assert r.status_code == 201
    case_id = r.json()["case_id"]
    assert legal.get("/api/v1/cases").json() == {"cases": [c.to_json() for c in list_cases(web.ws)]}
    r = clerk.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200 and r.json() == show_case(web.ws, case_id).to_json()
    assert r.headers["etag"] == "1"
    d = Driver(web.ws, case_id)
    d.clock_to(__import__("datetime").date(2025, 9, 1))
    r = clerk.post(f"/api/v1/cases/{case_id}/records", json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]})
    assert r.status_code == 201
    assert r.json() == {"case_id": case_id, "seq": 2, "event": "consultation-opened", "acknowledged": [], "repeated": False}
    history = clerk.get(f"/api/v1/cases/{case_id}/history").json()
    assert history == json.loads(json.dumps(replay_case(web.ws, case_id).to_json(), default=str))
    assert [e["actor"] for e in history["events"]] == ["legal-office:张伟", "clerk:李明"]  # the account, not a field
    verify = clerk.get("/api/v1/audit/verify", params={"case": case_id}).json()
    assert verify["cases"][0]["case_id"] == case_id and verify["cases"][0]["intact"] is True
    assert clerk.get("/api/v1/cases", params={"status": "open"}).json()["cases"][0]["case_id"] == case_id
    assert clerk.get("/api/v1/cases", params={"status": "nonsense"}).status_code == 400


def test_schema_and_example_are_those_of_the_command_line(web) -> None:
    c = web.client("auditor")
    assert c.get("/api/v1/events/meeting-held/schema").json() == EVENT_TYPES["meeting-held"].model_json_schema(by_alias=True)
    assert c.get("/api/v1/events/meeting-held/example").json() == json.loads(json.dumps(EVENT_TYPES["meeting-held"].example))
    assert c.get("/api/v1/events/case-launched/schema").status_code == 400
    assert c.get("/api/v1/openapi.json").json()["paths"]["/api/v1/cases/{case_id}/records"]


def test_a_stale_if_match_is_412_and_writes_nothing(web) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    clerk = web.client("clerk")
    d.clock_to(__import__("datetime").date(2025, 9, 1))
    etag = clerk.get(f"/api/v1/cases/{d.case_id}").headers["etag"]
    r = clerk.post(f"/api/v1/cases/{d.case_id}/records", headers={"If-Match": etag},
                   json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]})
    assert r.status_code == 201 and r.headers["etag"] == "2"
    d.clock_to(__import__("datetime").date(2025, 9, 26))
    before = event_count(web.ws)
    r = clerk.post(f"/api/v1/cases/{d.case_id}/records", headers={"If-Match": etag},
                   json={"event": "hearing-held", "payload": GOOD["hearing-held"]})
    assert r.status_code == 412 and r.json()["error"]["code"] == "concurrent-modification"
    assert event_count(web.ws) == before
    assert clerk.post(f"/api/v1/cases/{d.case_id}/records", headers={"If-Match": "abc"},
                      json={"event": "hearing-held", "payload": GOOD["hearing-held"]}).status_code == 400


def test_the_same_idempotency_key_launches_once(web) -> None:
    legal = web.client("legal-office")
    a = legal.post("/api/v1/cases", json=LAUNCH, headers={"Idempotency-Key": "oa-4711"})
    b = legal.post("/api/v1/cases", json=LAUNCH, headers={"Idempotency-Key": "oa-4711"})
    c = legal.post("/api/v1/cases", json=LAUNCH)
    assert a.status_code == b.status_code == c.status_code == 201
    assert a.json()["case_id"] == b.json()["case_id"] != c.json()["case_id"]
    assert len(list_cases(web.ws)) == 2


def test_a_procedure_refusal_is_409_naming_the_rule_and_a_warn_is_recorded_once_acknowledged(web) -> None:
    d = Driver(web.ws)
    d.launch("risk-relevant", "technical")
    d.walk(["consultation-opened", "participation-concluded", "expert-review-concluded", "risk-assessed",
            "legality-review-submitted"])
    clerk, reviewer = web.client("clerk"), web.client("reviewer")
    skip = payload("meeting-held", held_on="2025-10-21")  # before any legality opinion: a skipped stage
    r = web.client("secretary").post(f"/api/v1/cases/{d.case_id}/records", json={"event": "meeting-held", "payload": skip})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == err["rule"] == err["findings"][0]["rule"] and err["article"]
    assert "legality" in err["message"]
    d.record("legality-opinion-issued")
    d.clock_to(__import__("datetime").date(2025, 10, 28))
    early = payload("meeting-held", held_on="2025-10-28")  # inside the reviewer's 7 working days (LEG-04, WARN)
    secretary = web.client("secretary")
    before = event_count(web.ws)  # after the clock moved
    r = secretary.post(f"/api/v1/cases/{d.case_id}/records", json={"event": "meeting-held", "payload": early})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "LEG-04" and r.json()["error"]["article"]
    assert event_count(web.ws) == before + 1  # only the refused attempt is kept (who tried, when, which rule)
    r = secretary.post(f"/api/v1/cases/{d.case_id}/records", json={
        "event": "meeting-held", "payload": early,
        "acknowledge": [{"rule": "LEG-04", "reason": "审查机构已提前完成审查，出具书面意见"}]})
    assert r.status_code == 201 and r.json()["acknowledged"][0]["rule"] == "LEG-04"
    assert clerk is not None and reviewer is not None


def test_an_account_without_the_events_role_gets_403_role_01_and_nothing_is_written(web) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    before = event_count(web.ws)
    for role in ("auditor", "reviewer", "archivist"):
        r = web.client(role).post(f"/api/v1/cases/{d.case_id}/records", json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE-01"
    assert web.client("clerk").post("/api/v1/cases", json=LAUNCH).status_code == 403
    assert event_count(web.ws) == before


def test_an_unknown_case_is_404_and_the_archive_needs_a_published_case_and_the_archivist(web) -> None:
    c = web.client("archivist")
    assert c.get("/api/v1/cases/JC-1999-0001").status_code == 404
    assert c.get("/api/v1/cases/JC-1999-0001/history").status_code == 404
    assert c.post("/api/v1/cases/JC-1999-0001/records", json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]}).status_code == 404
    d = Driver(web.ws)
    d.launch("technical")
    r = c.get(f"/api/v1/cases/{d.case_id}/archive")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ARC-01"
    assert web.client("clerk").get(f"/api/v1/cases/{d.case_id}/archive").status_code == 403


def test_the_archive_downloads_as_a_zip_of_the_bag_archive_export_builds(web, tmp_path) -> None:
    d = Driver(web.ws)
    d.launch("technical", "risk-relevant")
    d.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    r = web.client("archivist").get(f"/api/v1/cases/{d.case_id}/archive", params={"public": "true"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = z.namelist()
        z.extractall(tmp_path)
    assert "bag/bagit.txt" in names and "bag/manifest-sha256.txt" in names and "bag/data/dossier.html" in names
    from flows.usecases.archive_verify import verify_archive

    assert verify_archive(tmp_path / "bag").ok
    assert show_case(web.ws, d.case_id).events == len(d.log) + 2  # the export is recorded like the command's


BAD_BODIES = [
    (b"not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"event": "consultation-opened"}', "application/json"),
    (b'{"event": "no-such-event", "payload": {}}', "application/json"),
    (b'{"event": "consultation-opened", "payload": {"published_on": 5}}', "application/json"),
    (b'{"event": "consultation-opened", "payload": {}, "actor": "head:someone"}', "application/json"),
    (b'{"event": "consultation-opened", "payload": []}', "application/json"),
    (b"[" * 70 + b"]" * 70, "application/json"),
    (b'{"event": "consultation-opened", "payload": {}}', "text/plain"),
]


@pytest.mark.parametrize("body,ctype", BAD_BODIES)
def test_malformed_bodies_are_400_and_change_nothing(web, body: bytes, ctype: str) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    before = event_count(web.ws)
    r = web.client("clerk").post(f"/api/v1/cases/{d.case_id}/records", content=body, headers={"content-type": ctype})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in ("bad-input", "unknown-event") and r.json()["error"]["message"]
    assert event_count(web.ws) == before


def test_a_payload_over_its_packs_limits_is_bad_input_naming_lim_01_and_changes_nothing(web) -> None:
    """PRODUCT.md: a payload is at most 1 MiB and 64 levels deep, more is bad input — 400 over HTTP, as the command
    line's exit 2; the limits are the case's pack's (policies/limits.py), the same function the command line calls."""
    d = Driver(web.ws)
    d.launch("technical")
    before = event_count(web.ws)
    clerk = web.client("clerk")
    url = f"/api/v1/cases/{d.case_id}/records"
    activity = {"method": "forum", "held_on": "2025-08-25", "description": "河西片区棚改座谈会"}
    big = {"event": "participation-activity-held", "payload": {**activity, "participants": ["张" * 20000] * 20}}
    r = clerk.post(url, json=big)  # 1.2 MB of UTF-8: over 1 MiB, each name within its own limit
    assert r.status_code == 400 and r.json()["error"]["code"] == "LIM-01", r.text[:500]
    assert "more than 1,048,576" in r.json()["error"]["message"] and "1 MiB" in r.json()["error"]["message"]
    deep = '{"event": "consultation-opened", "payload": {"x": ' + "[" * 300 + "]" * 300 + "}}"
    r = clerk.post(url, content=deep.encode(), headers={"content-type": "application/json"})  # deeper than any pack allows
    assert r.status_code == 400 and r.json()["error"]["code"] == "LIM-01", r.text[:500]
    assert event_count(web.ws) == before
    r = clerk.post(url, json={"event": "participation-activity-held",  # just under 1 MiB: recorded
                              "payload": {**activity, "participants": ["张" * 20000] * 17}})
    assert r.status_code == 201, r.text[:500]


def test_a_body_past_anything_a_pack_allows_is_refused_unread_with_413(web) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    before = event_count(web.ws)
    huge = b'{"event": "consultation-opened", "payload": {"x": "' + b"a" * (18 << 20) + b'"}}'
    r = web.client("clerk").post(f"/api/v1/cases/{d.case_id}/records", content=huge,
                                 headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "LIM-01", r.text[:300]
    assert event_count(web.ws) == before


def test_a_revoked_token_and_a_disabled_account_are_refused(web) -> None:
    from flows.usecases.accounts import disable_account, revoke_tokens
    from support import ADMIN

    clerk = web.client("clerk")
    assert clerk.get("/api/v1/cases").status_code == 200
    revoke_tokens(web.ws, ADMIN, "李明")
    assert clerk.get("/api/v1/cases").status_code == 401
    session, _ = web.session("reviewer")
    assert session.get("/api/v1/cases").status_code == 200
    disable_account(web.ws, ADMIN, "王芳")
    assert session.get("/api/v1/cases").status_code == 401
    assert web.client("reviewer").get("/api/v1/cases").status_code == 401
    r = web.client().post("/api/v1/session", json={"name": "王芳", "password": "Sanya-2025-河西片区"})
    assert r.status_code == 401


ROUTES_POST = ["/api/v1/cases", "/api/v1/cases/{case}/records", "/api/v1/session"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"event": st.sampled_from(list(EVENT_TYPES) + ["x"]), "payload": json_values},
                          optional={"acknowledge": json_values}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"title": st.text(max_size=20), "category": st.text(max_size=12), "organ": st.text(max_size=5),
                           "lead_unit": st.text(max_size=5)}, optional={"flags": json_values, "decided_on": json_values})
    .map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


def test_generated_bodies_on_every_post_route_never_get_a_500_and_a_refusal_writes_nothing(ws) -> None:
    web = web_for(ws)
    d = Driver(ws)
    d.launch("technical")
    clerk = web.client("legal-office")

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(ROUTES_POST), body=bodies)
    def post(route: str, body: bytes) -> None:
        before = event_count(ws)
        r = clerk.post(route.format(case=d.case_id), content=body, headers={"content-type": "application/json"})
        assert r.status_code < 500, (route, body, r.text)
        if r.status_code >= 400:
            assert "error" in r.json()
            # a refusal by a procedure rule may keep the refused attempt; nothing else is written
            assert event_count(ws) - before <= (1 if r.status_code == 409 else 0), (route, body, r.text)

    post()


CONSOLE_POSTS = ["/login", "/logout", "/cases", "/cases/{case}/record", "/cases/{case}/comments", "/cases/{case}/archive",
                 "/account/password"]
form_text = st.text(max_size=40)
forms = st.dictionaries(st.sampled_from(["event", "title", "category", "organ", "lead_unit", "flags", "published_on",
                                         "deadline", "channels", "payload_json", "ack_rule", "ack_reason", "name",
                                         "password", "old_password", "new_password", "public", "form_id", "x"]),
                        form_text, max_size=8)


def test_generated_forms_on_every_console_post_route_never_get_a_500_and_a_refusal_writes_nothing(ws) -> None:
    import re

    web = web_for(ws)
    d = Driver(ws)
    d.launch("technical")
    c = web.client()
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert c.post("/login", data={"name": "张伟", "password": "Sanya-2025-河西片区", "csrf": token},
                  follow_redirects=False).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/cases").text).group(1)

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from([r for r in CONSOLE_POSTS if r != "/logout"]), form=forms,
           with_csrf=st.booleans())
    def post(route: str, form: dict, with_csrf: bool) -> None:
        before = event_count(ws)
        data = {**form, **({"csrf": csrf} if with_csrf else {})}
        r = c.post(route.format(case=d.case_id), data=data, follow_redirects=False)
        assert r.status_code < 500, (route, data, r.text[-500:])
        if r.status_code >= 400 or not with_csrf:
            assert event_count(ws) - before <= (1 if r.status_code == 409 else 0), (route, data, r.status_code)

    post()

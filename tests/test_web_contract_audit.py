"""A conformance audit of the HTTP API against PRODUCT.md ("Accounts, the web console and the HTTP API"), for what
test_web_api.py and test_web_security.py do not already cover: a real `juece web` process driven over HTTP as a
script or another government system would (every row of the table, the error classes, a damaged history still
answering 200 on verify); headers a client can send that once answered 500; errors naming the field as the API
names it; the OpenAPI document describing what the API reads and answers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import GOOD, Driver, payload
from web_support import LAUNCH, event_count, serving, web_for

JUECE = str(Path(sys.executable).with_name("juece"))
PASSWORD = "Sanya-2025-河西片区"


@pytest.fixture
def web(ws):
    return web_for(ws)


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    """The error object of an answer that must have `status`."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["code"] and isinstance(err["message"], str) and err["message"]
    return err


# --- If-Match and Content-Length that once answered 500 -------------------------------------------------------


def asgi(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, Any]:
    """One request straight into the app with the header bytes as given (the test client re-encodes non-ASCII
    header values, so "²" would never arrive as a server receives it); (status, JSON body)."""
    answers: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answers.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    asyncio.run(app(scope, receive, send))
    return answers[0]["status"], json.loads(b"".join(m.get("body", b"") for m in answers[1:]))


# "²" (latin-1, as a careless client sends it) and "١" are digits to str.isdigit() but not to int(); int() refuses
# more than 4,300 digits.
ODD_IF_MATCH = ["²".encode("latin-1"), "١".encode(), b"9" * 5000, b"9" * 19, b"-1", b"*", b'"1", "2"', b"W/", b""]


@pytest.mark.parametrize("value", ODD_IF_MATCH, ids=lambda v: repr(v[:12]))
def test_an_if_match_that_is_not_a_seq_is_bad_input_naming_the_header_and_writes_nothing(web, value: bytes) -> None:
    d = Driver(web.ws)
    d.launch("technical")
    before = event_count(web.ws)
    body = json.dumps({"event": "consultation-opened", "payload": GOOD["consultation-opened"]}).encode()
    status, answer = asgi(web.app, "POST", f"/api/v1/cases/{d.case_id}/records", [
        (b"authorization", f"Bearer {web.tokens['clerk']}".encode()), (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()), (b"if-match", value)], body)
    assert status == 400 and answer["error"]["field"] == "If-Match", (status, answer)
    assert event_count(web.ws) == before


def test_a_content_length_of_thousands_of_digits_is_refused_as_too_large_not_a_500(web) -> None:
    """uvicorn's parser refuses it first; another ASGI server may hand it on, and the body limit must answer."""
    ctype = (b"content-type", b"application/json")
    status, answer = asgi(web.app, "POST", "/api/v1/session", [ctype, (b"content-length", b"9" * 5000)], b"{}")
    assert status == 413 and answer["error"]["code"] == "LIM-01", answer
    # 2 bytes, however many zeros lead: read, and judged as a sign-in body
    status, answer = asgi(web.app, "POST", "/api/v1/session", [ctype, (b"content-length", b"0" * 5000 + b"2")], b"{}")
    assert status == 400 and answer["error"]["field"] == "name", answer


# --- errors name the field as the API names it ----------------------------------------------------------------


def test_errors_name_the_body_field_query_parameter_or_path_segment_the_caller_sent(web) -> None:
    legal, clerk, auditor = web.client("legal-office"), web.client("clerk"), web.client("auditor")
    err = error_of(legal.post("/api/v1/cases", json={**LAUNCH, "decided_on": "2099-01-01"}), 400)
    assert err["field"] == "decided_on"  # not the command line's --decided-on
    assert error_of(legal.get("/api/v1/cases", params={"status": "zzz"}), 400)["field"] == "status"
    d = Driver(web.ws)
    d.launch("technical")
    err = error_of(clerk.get(f"/api/v1/cases/{d.case_id}", params={"as_of": "2000-01-01T09:00+08:00"}), 400)
    assert err["field"] == "as_of" and "did not exist yet" in err["message"]
    assert error_of(clerk.get(f"/api/v1/cases/{d.case_id}/history", params={"as_of": "2000-01-01T09:00+08:00"}),
                    400)["field"] == "as_of"
    assert error_of(clerk.get("/api/v1/cases/" + "X" * 100), 400)["field"] == "case_id"
    d.clock_to(__import__("datetime").date(2025, 9, 1))
    url = f"/api/v1/cases/{d.case_id}/records"
    before = event_count(web.ws)
    body = {"event": "consultation-opened", "payload": GOOD["consultation-opened"]}
    err = error_of(clerk.post(url, json={**body, "acknowledge": [{"rule": "ORD-02", "reason": "补录"}]}), 400)
    assert err["field"] == "acknowledge" and "ORD-02" in err["message"]  # nothing to acknowledge
    err = error_of(clerk.post(url, json={**body, "acknowledge": [{"rule": "ORD-02", "reason": "  "}]}), 400)
    assert err["field"] == "acknowledge.reason"
    err = error_of(clerk.post(url, json={"event": "no-such-event", "payload": {}}), 400)
    assert err["field"] == "event"
    assert event_count(web.ws) == before
    err = error_of(web.client("archivist").get(f"/api/v1/cases/{d.case_id}/archive", params={"public": "maybe"}), 400)
    assert err["field"] == "public"  # not FastAPI's query.public
    assert error_of(auditor.get("/api/v1/security-log", params={"limit": 0}), 400)["field"] == "limit"


def test_an_unexpected_failure_still_answers_the_error_object(web) -> None:
    """A bug is still a 500, but a client gets the error object it parses everywhere else, not a bare text."""
    def boom() -> None:
        raise RuntimeError("a bug")

    web.app.add_api_route("/api/v1/boom-for-the-test", boom)
    r = web.client("clerk").get("/api/v1/boom-for-the-test")
    err = error_of(r, 500)
    assert err["code"] == "internal-error" and "a bug" not in err["message"]  # no internals handed out


# --- the OpenAPI document --------------------------------------------------------------------------------------


def _resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_openapi_document_describes_the_bodies_headers_and_errors_the_api_answers(web) -> None:
    r = web.client().get("/api/v1/openapi.json")  # no credentials needed to read what the API is
    assert r.status_code == 200
    doc = r.json()
    for ref in _refs(doc):
        _resolve(doc, ref)  # every reference resolves
    paths = doc["paths"]
    table = {("get", "/api/v1/cases"), ("post", "/api/v1/cases"), ("get", "/api/v1/cases/{case_id}"),
             ("post", "/api/v1/cases/{case_id}/records"), ("get", "/api/v1/cases/{case_id}/history"),
             ("get", "/api/v1/audit/verify"), ("get", "/api/v1/events/{event}/schema"),
             ("get", "/api/v1/events/{event}/example"), ("get", "/api/v1/cases/{case_id}/archive"),
             ("get", "/api/v1/health"), ("post", "/api/v1/session")}
    assert table <= {(m, p) for p, ops in paths.items() for m in ops}

    def body_fields(method: str, path: str) -> set[str]:
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        return set(_resolve(doc, schema["$ref"])["properties"])

    assert {"title", "category", "organ", "lead_unit", "flags", "decided_on"} <= body_fields("post", "/api/v1/cases")
    assert {"event", "payload", "acknowledge"} <= body_fields("post", "/api/v1/cases/{case_id}/records")
    assert {"name", "password"} == body_fields("post", "/api/v1/session")
    record = paths["/api/v1/cases/{case_id}/records"]["post"]
    assert {"If-Match", "Idempotency-Key"} <= {p["name"] for p in record["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in {p["name"] for p in paths["/api/v1/cases"]["post"]["parameters"]}
    assert {"201", "400", "401", "403", "404", "409", "412"} <= set(record["responses"])
    assert "ETag" in record["responses"]["201"]["headers"]
    assert "ETag" in paths["/api/v1/cases/{case_id}"]["get"]["responses"]["200"]["headers"]
    assert "application/zip" in paths["/api/v1/cases/{case_id}/archive"]["get"]["responses"]["200"]["content"]
    error = _resolve(doc, record["responses"]["409"]["content"]["application/json"]["schema"]["$ref"])
    assert error["required"] == ["error"] and {"code", "message"} <= set(error["properties"]["error"]["required"])
    for path, ops in paths.items():
        for method, op in ops.items():
            assert "422" not in op["responses"], (method, path)  # the API answers 400, never 422
    assert paths["/api/v1/health"]["get"]["security"] == [] and paths["/api/v1/session"]["post"]["security"] == []
    assert {"bearer", "session"} <= set(doc["components"]["securitySchemes"])
    assert paths["/api/v1/cases"]["get"]["security"]


# --- a real `juece web` process, driven over HTTP --------------------------------------------------------------


def cli(home: Path, *args: str, actor: str | None = None, stdin: str | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    cmd = [JUECE, "--home", str(home), *(["--as", actor] if actor else []), *args]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, (cmd, done.stdout, done.stderr)
    return json.loads(done.stdout) if "--json" in args else done.stdout


ROLES = {"admin": "管理员", "legal-office": "张伟", "clerk": "李明", "reviewer": "王芳", "secretary": "陈静",
         "auditor": "赵审计", "archivist": "孙档案"}


@pytest.fixture
def served(tmp_path: Path):
    """A simulated-clock workspace, an account per role made with `juece user add`, a token each from `user token`,
    and `juece web` serving it: (home, base url, {role: token})."""
    home = tmp_path / "ws"
    cli(home, "init", "--simulated-clock", "2025-08-25T09:00+08:00")
    cli(home, "user", "add", ROLES["admin"], "--role", "admin", "--password-stdin", actor="admin:root", stdin=PASSWORD + "\n")
    for role, name in ROLES.items():
        if role != "admin":
            cli(home, "user", "add", name, "--role", role, "--password-stdin", actor=f"admin:{ROLES['admin']}",
                stdin=PASSWORD + "\n")
    tokens = {role: cli(home, "user", "token", name, "--json", actor=f"admin:{ROLES['admin']}")["token"]
              for role, name in ROLES.items()}
    with serving(home) as (url, printed):
        yield home, url, tokens
    out = printed[0]
    assert "Traceback" not in out, out[-3000:]  # no request made the server fail


def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request as bytes (headers httpx will not send); (status, body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_the_api_table_over_a_real_server_as_a_script_drives_it(served) -> None:
    home, url, tokens = served

    def client(role: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=60,
                            headers={"Authorization": f"Bearer {tokens[role]}"} if role else {})

    legal, clerk, auditor, archivist = client("legal-office"), client("clerk"), client("auditor"), client("archivist")
    anon = client()
    assert anon.get("/api/v1/health").json() == {"status": "ok"}
    assert anon.get("/api/v1/openapi.json").status_code == 200
    for path in ("/api/v1/cases", "/api/v1/audit/verify", "/api/v1/events/meeting-held/schema"):
        assert error_of(anon.get(path), 401)["code"] == "unauthenticated"
    bad = httpx.Client(base_url=url, headers={"Authorization": "Bearer jc_forged"})
    error_of(bad.get("/api/v1/cases"), 401)

    # POST /api/v1/cases: 201 {"case_id"}; the same Idempotency-Key launches once; the account is the actor
    r = legal.post("/api/v1/cases", json={**LAUNCH, "decided_on": "2025-08-25"}, headers={"Idempotency-Key": "oa-1"})
    assert r.status_code == 201
    case_id = r.json()["case_id"]
    assert legal.post("/api/v1/cases", json={**LAUNCH, "decided_on": "2025-08-25"},
                      headers={"Idempotency-Key": "oa-1"}).json()["case_id"] == case_id
    other = legal.post("/api/v1/cases", json=LAUNCH).json()["case_id"]
    assert other != case_id
    assert error_of(legal.post("/api/v1/cases", json={**LAUNCH, "actor": "head:李市长"}), 400)["field"] == "actor"
    assert error_of(clerk.post("/api/v1/cases", json=LAUNCH), 403)["code"] == "ROLE-01"

    # GET /api/v1/cases ?status=, as `case list --json`
    listed = legal.get("/api/v1/cases", params={"status": "open"}).json()
    assert listed == cli(home, "case", "list", "--status", "open", "--json")
    assert {c["case_id"] for c in listed["cases"]} == {case_id, other}

    # GET the case: as `case show --json`, ETag its last seq; ?as_of= the case as it stood
    r = clerk.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200 and r.headers["etag"] == "1"
    assert r.json()["case_id"] == case_id and r.json()["stages"] == cli(home, "case", "show", case_id, "--json")["stages"]
    error_of(clerk.get("/api/v1/cases/JC-1999-0001"), 404)

    # POST records: If-Match, Idempotency-Key, acknowledge [{rule, reason}]; 201 as `record --json`
    cli(home, "clock", "set", "2025-09-01T18:00+08:00", actor=f"admin:{ROLES['admin']}")
    records = f"/api/v1/cases/{case_id}/records"
    opened = {"event": "consultation-opened", "payload": GOOD["consultation-opened"]}
    status, body = raw_request(url, (  # "²" in latin-1, as a careless client may send it: once a 500
        f"POST {records} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['clerk']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(json.dumps(opened).encode())}\r\n"
        "Connection: close\r\nIf-Match: ").encode() + "²".encode("latin-1") + b"\r\n\r\n" + json.dumps(opened).encode())
    assert status == 400 and json.loads(body)["error"]["field"] == "If-Match", body
    error_of(auditor.post(records, json=opened), 403)
    r = clerk.post(records, json=opened, headers={"If-Match": '"1"', "Idempotency-Key": "oa-2"})
    assert r.status_code == 201 and r.headers["etag"] == "2"
    assert r.json() == {"case_id": case_id, "seq": 2, "event": "consultation-opened", "acknowledged": [],
                        "repeated": False}
    again = clerk.post(records, json=opened, headers={"Idempotency-Key": "oa-2"})
    assert again.status_code == 201 and again.json()["seq"] == 2 and again.json()["repeated"] is True
    stale = clerk.post(records, json={"event": "hearing-announced", "payload": payload("hearing-announced", notice_published_on="2025-09-01")},
                       headers={"If-Match": "1"})
    err = error_of(stale, 412)
    assert err["code"] == "concurrent-modification"
    # a date before the launch decision: ORD-02 (WARN) refuses with 409 until acknowledged, then is recorded with it
    early = {"event": "consultation-opened", "payload": GOOD["consultation-opened"]}
    r2 = legal.post("/api/v1/cases", json={**LAUNCH, "decided_on": "2025-09-01"})
    late_case = r2.json()["case_id"]
    early_payload = {**GOOD["consultation-opened"], "published_on": "2025-08-28"}
    err = error_of(clerk.post(f"/api/v1/cases/{late_case}/records", json={**early, "payload": early_payload}), 409)
    assert err["code"] == "ORD-02" and err["article"]
    r = clerk.post(f"/api/v1/cases/{late_case}/records", json={
        **early, "payload": early_payload, "acknowledge": [{"rule": "ORD-02", "reason": "事后补录：征求意见早于启动决定"}]})
    assert r.status_code == 201 and [a["rule"] for a in r.json()["acknowledged"]] == ["ORD-02"]

    # history ?as_of=, as `audit replay --json`; the actors are the accounts
    history = clerk.get(f"/api/v1/cases/{case_id}/history").json()
    assert [(e["seq"], e["type"], e["actor"]) for e in history["events"]] == [
        (1, "case-launched", "legal-office:张伟"), (2, "consultation-opened", "clerk:李明")]
    then = history["events"][0]["recorded_at"]
    assert [e["seq"] for e in clerk.get(f"/api/v1/cases/{case_id}/history", params={"as_of": then}).json()["events"]] == [1]
    shown_then = clerk.get(f"/api/v1/cases/{case_id}", params={"as_of": then})
    assert shown_then.status_code == 200 and shown_then.json()["events"] == 1
    error_of(clerk.get(f"/api/v1/cases/{case_id}/history", params={"as_of": "yesterday"}), 400)

    # verify with repeated ?case=; 200 also when it reports findings or damage
    v = auditor.get("/api/v1/audit/verify", params=[("case", case_id), ("case", late_case)]).json()
    assert [c["case_id"] for c in v["cases"]] == [case_id, late_case] and all(c["intact"] for c in v["cases"])
    db = sqlite3.connect(home / "juece.db")
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events_no_update'").fetchone()[0]
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET actor = 'legal-office:冒名' WHERE case_id = ? AND seq = 1", (other,))
    db.execute(trigger)
    db.commit()
    db.close()
    r = auditor.get("/api/v1/audit/verify", params=[("case", other), ("case", case_id)])
    assert r.status_code == 200
    assert [(c["case_id"], c["intact"]) for c in r.json()["cases"]] == [(other, False), (case_id, True)]
    error_of(auditor.get("/api/v1/audit/verify", params={"case": "JC-1999-0001"}), 404)

    # schema and example, as `juece schema` / `juece example`
    assert auditor.get("/api/v1/events/meeting-held/schema").json() == cli(home, "schema", "meeting-held", "--json")
    assert auditor.get("/api/v1/events/meeting-held/example").json() == cli(home, "example", "meeting-held", "--json")
    error_of(auditor.get("/api/v1/events/no-such-event/schema"), 400)

    # the archive: the archivist only, once published (ARC-01 before)
    assert error_of(archivist.get(f"/api/v1/cases/{case_id}/archive", params={"public": "true"}), 409)["code"] == "ARC-01"
    assert error_of(clerk.get(f"/api/v1/cases/{case_id}/archive"), 403)["code"] == "ROLE-01"

    # the session cookie from POST /api/v1/session is a credential like a token, and the actor is its account
    s = httpx.Client(base_url=url, timeout=60)
    r = s.post("/api/v1/session", json={"name": "李明", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["name"] == "李明"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    announced = {"event": "hearing-announced", "payload": payload("hearing-announced", notice_published_on="2025-09-01",
                                                                   scheduled_on="2025-09-20")}
    r = s.post(records, json=announced)
    assert r.status_code == 201, r.text
    assert s.get(f"/api/v1/cases/{case_id}/history").json()["events"][-1]["actor"] == "clerk:李明"
    unknown = httpx.post(url + "/api/v1/session", json={"name": "无此人", "password": PASSWORD})
    wrong = httpx.post(url + "/api/v1/session", json={"name": "李明", "password": "Wrong-Password-1"})
    assert error_of(unknown, 401) == error_of(wrong, 401)
    assert s.delete("/api/v1/session").status_code == 204
    error_of(httpx.get(url + "/api/v1/cases", cookies={"juece_session": cookie.split(";")[0].split("=", 1)[1]}), 401)

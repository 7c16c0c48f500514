"""Security of the console and the API: every route × every role × signed out; CSRF; sessions in the database with
an idle timeout; cookie flags; sign-in throttling and lockout with one answer for every failure; a CSP without inline
script; an auditor who changes nothing; and every page showing what people typed exactly as typed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from flows.usecases.sessions import security_log
from support import GOOD, MANDATORY_PATH, Driver
from web.app import create_app
from web.settings import WebSettings
from web_support import LAUNCH, PASSWORD, PEOPLE, event_count, web_for

ROLES = list(PEOPLE)


@pytest.fixture
def web(ws):
    return web_for(ws)


@pytest.fixture
def published(web):
    """A published case (so the archive can be exported) and an open one (so a consultation can be opened)."""
    done = Driver(web.ws)
    done.launch("technical", "risk-relevant")
    fresh = Driver(web.ws)
    fresh.launch("technical", title="三亚市公共停车场建设规划")  # launched (decided) before anything is recorded
    done.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    return done.case_id, fresh.case_id


# (method, path, JSON body, the roles that may do it and what they get) — every API route.
def api_routes(done: str, fresh: str) -> list[tuple[str, str, object, dict[str, int]]]:
    everyone = {r: 200 for r in ROLES}
    return [
        ("GET", "/api/v1/cases", None, everyone),
        ("GET", f"/api/v1/cases/{done}", None, everyone),
        ("GET", f"/api/v1/cases/{done}/history", None, everyone),
        ("GET", "/api/v1/audit/verify", None, everyone),
        ("GET", "/api/v1/events/meeting-held/schema", None, everyone),
        ("GET", "/api/v1/events/meeting-held/example", None, everyone),
        ("GET", "/api/v1/security-log", None, {"auditor": 200, "admin": 200}),
        ("GET", f"/api/v1/cases/{done}/archive", None, {"archivist": 200}),
        ("POST", "/api/v1/cases", LAUNCH, {"legal-office": 201}),
        ("POST", f"/api/v1/cases/{fresh}/records", {"event": "consultation-opened", "payload": GOOD["consultation-opened"]},
         {"clerk": 201}),
    ]


def test_every_api_route_for_every_role_and_signed_out(web, published) -> None:
    done, fresh = published
    Driver(web.ws, fresh).clock_to(__import__("datetime").date(2025, 11, 10))
    for method, path, body, allowed in api_routes(done, fresh):
        r = web.client().request(method, path, json=body)
        assert r.status_code == 401, (method, path, "signed out", r.status_code)
        for role in ROLES:
            before = event_count(web.ws)
            r = web.client(role).request(method, path, json=body, headers={"Idempotency-Key": f"matrix-{role}"})
            want = allowed.get(role, 403)
            if want in (200, 201) and r.status_code == 409:  # a write that already happened for an earlier role
                want = 409
            assert r.status_code == want, (method, path, role, r.status_code, r.text[:300])
            if r.status_code == 403:
                assert r.json()["error"]["code"] == "ROLE-01"
                assert event_count(web.ws) == before, (method, path, role)


def form_values(payload: dict) -> dict[str, str]:
    """A payload as the console's form sends it: lists and objects as JSON text."""
    import json

    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v) for k, v in payload.items()}


CONSOLE_PAGES = ["/cases", "/cases/{done}", "/cases/{done}/history", "/cases/{done}/dossier", "/cases/{done}/comments",
                 "/audit", "/audit?run=1", "/account"]


def signed_in(web, role: str):
    """A browser-like client signed in through the console's form (CSRF cookie and field)."""
    c = web.client()
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"name": PEOPLE[role], "password": PASSWORD, "csrf": token, "next": "/cases"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_every_console_page_for_every_role_and_signed_out(web, published) -> None:
    done, _ = published
    for path in CONSOLE_PAGES + ["/security-log"]:
        r = web.client().get(path.format(done=done), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    for role in ROLES:
        c = signed_in(web, role)
        for path in CONSOLE_PAGES:
            assert c.get(path.format(done=done)).status_code == 200, (role, path)
        assert c.get("/security-log").status_code == (200 if role in ("auditor", "admin") else 403), role


def test_a_bearer_token_does_not_open_the_console(web) -> None:
    r = web.client("clerk").get("/cases", follow_redirects=False)
    assert r.status_code == 303


def test_an_auditors_session_changes_nothing(web, published) -> None:
    done, fresh = published
    c = signed_in(web, "auditor")
    token = csrf_of(c.get(f"/cases/{fresh}").text)
    before = event_count(web.ws)
    posts = [
        (f"/cases/{fresh}/record", {"event": "consultation-opened", **form_values(GOOD["consultation-opened"])}),
        ("/cases", {"title": "审计员试图启动", "category": "plan", "organ": "三亚市人民政府", "lead_unit": "局"}),
        (f"/cases/{done}/archive", {}),
    ]
    for path, data in posts:
        r = c.post(path, data={**data, "csrf": token}, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        assert "ROLE-01" in r.text
    r = c.post(f"/cases/{fresh}/comments", data={"csrf": token}, files={"file": ("c.jsonl", b'{"a": 1}\n')})
    assert r.status_code in (400, 403)
    api, _ = web.session("auditor")
    assert api.post("/api/v1/cases", json=LAUNCH).status_code == 403
    assert api.post(f"/api/v1/cases/{fresh}/records", json={"event": "consultation-opened", "payload": GOOD["consultation-opened"]}).status_code == 403
    assert api.get(f"/api/v1/cases/{done}/archive").status_code == 403
    assert event_count(web.ws) == before


def test_a_form_without_its_csrf_token_or_with_a_forged_one_is_refused_and_writes_nothing(web, published) -> None:
    _, fresh = published
    Driver(web.ws, fresh).clock_to(__import__("datetime").date(2025, 11, 10))
    c = signed_in(web, "clerk")
    good = {"event": "consultation-opened", **form_values(GOOD["consultation-opened"])}
    before = event_count(web.ws)
    for token in (None, "forged-token", csrf_of(signed_in(web, "legal-office").get("/cases").text)):
        data = dict(good) if token is None else {**good, "csrf": token}
        r = c.post(f"/cases/{fresh}/record", data=data, follow_redirects=False)
        assert r.status_code == 400 and "CSRF" in r.text
    assert event_count(web.ws) == before
    r = c.post(f"/cases/{fresh}/record", data={**good, "csrf": csrf_of(c.get(f"/cases/{fresh}").text)}, follow_redirects=False)
    assert r.status_code == 303 and event_count(web.ws) == before + 1
    # signing in needs the form's own token too (a double-submit cookie: there is no session yet)
    fresh_client = web.client()
    r = fresh_client.post("/login", data={"name": PEOPLE["clerk"], "password": PASSWORD, "csrf": "x"}, follow_redirects=False)
    assert r.status_code == 400 and "juece_session" not in r.headers.get("set-cookie", "")


def test_session_cookies_are_httponly_and_samesite_and_secure_only_over_https(ws) -> None:
    web = web_for(ws, WebSettings(trust_proxy=True))
    plain = web.client().post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD})
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    proxied = web.client().post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD},
                                headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["set-cookie"]
    # a proxy that says so, trusted or not: the flag only narrows where a browser sends the cookie (PRODUCT.md, "behind a
    # proxy that says so"); plain HTTP without the header stays without it, so a local browser and scripts sign in
    untrusted = web_for_again(ws, WebSettings(trust_proxy=False))
    r = untrusted.post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"]
    r = untrusted.post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD})
    assert "Secure" not in r.headers["set-cookie"]
    r = untrusted.get("/login", headers={"X-Forwarded-Proto": "https"})  # the sign-in form's CSRF cookie too
    assert "Secure" in r.headers["set-cookie"]


def web_for_again(ws, settings: WebSettings):
    from fastapi.testclient import TestClient

    return TestClient(create_app(ws, settings), raise_server_exceptions=False)


def test_sessions_live_in_the_database_so_another_instance_knows_them(web) -> None:
    c, _ = web.session("clerk")
    other = web_for_again(web.ws, WebSettings())
    other.cookies.update(c.cookies)
    assert other.get("/api/v1/cases").status_code == 200


def test_a_session_ends_after_the_idle_timeout(web) -> None:
    start = datetime.now(timezone.utc)
    with freeze_time(start) as frozen:
        c, _ = web.session("clerk")
        assert c.get("/api/v1/cases").status_code == 200
        frozen.move_to(start + timedelta(minutes=29))
        assert c.get("/api/v1/cases").status_code == 200  # activity restarts the idle clock
        frozen.move_to(start + timedelta(minutes=29 + 31))
        r = c.get("/api/v1/cases")
        assert r.status_code == 401 and "30 minutes" in r.json()["error"]["message"]
        assert c.get("/api/v1/cases").status_code == 401  # ended, not just late
    assert any(e["kind"] == "session-expired" for e in security_log(web.ws))


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(web) -> None:
    a = web.client().post("/api/v1/session", json={"name": "不存在的人", "password": "Whatever-123456"})
    b = web.client().post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": "Whatever-123456"})
    assert a.status_code == b.status_code == 401 and a.json() == b.json()
    page_a = web.client().post("/login", data={"name": "不存在的人", "password": "x", "csrf": "t"}, cookies={"juece_csrf": "t"})
    page_b = web.client().post("/login", data={"name": PEOPLE["clerk"], "password": "x", "csrf": "t"}, cookies={"juece_csrf": "t"})
    strip = lambda html: re.sub(r'(name="(csrf|name)" value=")[^"]*"', r"\1", html)  # noqa: E731
    assert page_a.status_code == page_b.status_code == 401 and strip(page_a.text) == strip(page_b.text)


def test_repeated_failures_lock_the_account_even_against_the_right_password(web) -> None:
    for _ in range(5):
        assert web.client().post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": "wrong-Password-1"}).status_code == 401
    r = web.client().post("/api/v1/session", json={"name": PEOPLE["clerk"], "password": PASSWORD})
    assert r.status_code == 401
    kinds = [e["kind"] for e in security_log(web.ws) if e["account"] == PEOPLE["clerk"]]
    assert kinds.count("signin-failed") == 6 and "lockout" in kinds
    assert web.client().post("/api/v1/session", json={"name": PEOPLE["reviewer"], "password": PASSWORD}).status_code == 200


def test_many_failures_from_one_address_are_throttled(web) -> None:
    for i in range(20):
        web.client().post("/api/v1/session", json={"name": f"猜测{i}", "password": "Guess-Password-1"})
    r = web.client().post("/api/v1/session", json={"name": PEOPLE["reviewer"], "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["error"]["code"] == "throttled"
    assert any(e["kind"] == "signin-throttled" for e in security_log(web.ws))


TYPED = ["<script>alert('x')</script>", "[red]x[/red]", "<img src=x onerror=alert(1)>", "&lt;b&gt;"]


@pytest.mark.parametrize("typed", TYPED)
def test_every_page_shows_what_people_typed_exactly_as_typed(web, typed: str) -> None:
    import html

    d = Driver(web.ws)
    d.launch("technical", title=f"停车场规划 {typed}")
    c = signed_in(web, "legal-office")
    for path in ("/cases", f"/cases/{d.case_id}", f"/cases/{d.case_id}/history", f"/cases/{d.case_id}/dossier",
                 f"/cases/{d.case_id}/comments", "/audit/replay?case=" + d.case_id):
        page = c.get(path)
        assert page.status_code == 200, path
        assert typed not in page.text or typed == html.escape(typed), path
        # what a browser would show: the text, once unescaped, is exactly what was typed
        assert typed in html.unescape(page.text), path


def test_pages_carry_a_csp_without_inline_script_or_style(web, published) -> None:
    done, _ = published
    c = signed_in(web, "archivist")
    for path in ["/login", "/cases", f"/cases/{done}", f"/cases/{done}/history", f"/cases/{done}/dossier",
                 f"/cases/{done}/comments", "/audit?run=1", "/account"]:
        r = c.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "style-src 'self'" in csp
        scripts = re.findall(r"<script[^>]*>", r.text)
        assert scripts and all("src=" in s for s in scripts), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", r.text), path
    assert web.client().get("/api/v1/health").headers["content-security-policy"]

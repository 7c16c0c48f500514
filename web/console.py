"""The web console (HTML, Chinese first): each route checks the session and its CSRF token, calls one use case, and
renders a template. Forms work without JavaScript; the only script is a static file (CSP without 'unsafe-inline')."""

from __future__ import annotations

import hmac
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from flows.usecases import accounts, sessions
from flows.usecases.read_model import read_model_of
from flows.usecases.sessions import SignedIn
from flows.usecases.workspace import Workspace
from policies.errors import BadInput, DecisionError, RuleRefusal, Unauthenticated
from web import labels
from web.deps import CSRF_COOKIE, SESSION_COOKIE, client_address, current_account, is_https, workspace
from web.errors import status_of
from web.forms import form_fields, payload_from_form

router = APIRouter(include_in_schema=False)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),  # every page escapes what people typed
)
TEMPLATES.globals.update(event_label=labels.event_label, status_label=lambda s: labels.STATUSES.get(s, s),
                         role_label=lambda r: labels.ROLES.get(r, r))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; `who` and its CSRF token are available to every template."""
    who = getattr(request.state, "signed_in", None)
    html = TEMPLATES.get_template(template).render(request=request, who=who, csrf=who.csrf if who else "", **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, exc: DecisionError) -> Response:
    """A DecisionError on a console page: back to sign-in when the session is gone, else a page that says why."""
    if isinstance(exc, Unauthenticated):
        return RedirectResponse("/login?next=" + _safe_next(request.url.path), status_code=303)
    return render(request, "error.html", status=status_of(exc), error=exc, findings=getattr(exc, "findings", []))


def plain_error_page(request: Request, status: int, message: str) -> Response:
    """404 and friends on a console address."""
    return render(request, "error.html", status=status, error=BadInput(message), findings=[])


def _safe_next(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") and path != "/login" else "/cases"


async def form_of(request: Request, who: SignedIn) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    token = values.get("csrf", "")
    if who.csrf is None or not hmac.compare_digest(token.encode(), who.csrf.encode()):
        raise BadInput("the form's security token (CSRF) is missing or does not match this session; reload the page "
                       "and submit again", field="csrf", code="csrf")
    return values


def console_account(request: Request) -> SignedIn:
    """The signed-in person for a console page (a session; tokens are for the API)."""
    who = current_account(request)
    if who.via != "session":
        raise Unauthenticated("the console needs a signed-in session")
    return who


# --- signing in and out ------------------------------------------------------------------------------------------


@router.get("/")
def home() -> Response:
    """The case list is the start page."""
    return RedirectResponse("/cases", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/cases") -> Response:
    """The sign-in form (its CSRF token is a double-submit cookie: there is no session yet)."""
    return _login(request, next, "", None, 200)


def _login(request: Request, next_: str, name: str, message: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", status=status, login_csrf=token, next=_safe_next(next_), name=name,
                  message=message)
    resp.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_https(request), path="/login")
    return resp


@router.post("/login")
async def login(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Check the name and password; the same answer for an unknown name and a wrong password."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(values.get("csrf", "").encode(), cookie.encode()):
        return _login(request, values.get("next", "/cases"), values.get("name", ""),
                      "表单已过期，请重新提交 — the form expired (security token missing); please sign in again", 400)
    try:
        opened = await run_in_threadpool(sessions.sign_in, ws, values.get("name", ""), values.get("password", ""),
                                         client_address(request))
    except DecisionError as exc:
        return _login(request, values.get("next", "/cases"), values.get("name", ""), exc.message, status_of(exc))
    from web.api import set_session_cookie

    resp = RedirectResponse(_safe_next(values.get("next", "/cases")), status_code=303)
    set_session_cookie(request, resp, opened.secret)
    resp.delete_cookie(CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """End the session."""
    who = console_account(request)
    await form_of(request, who)
    sessions.sign_out(ws, request.cookies.get(SESSION_COOKIE, ""), client_address(request))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --- cases ------------------------------------------------------------------------------------------------------


@router.get("/cases")
def cases_page(request: Request, status: str | None = None, ws: Workspace = Depends(workspace)) -> Response:
    """Every case with what it waits on; overdue ones first."""
    console_account(request)
    return _cases(request, ws, status)


def _cases(request: Request, ws: Workspace, status: str | None, *, launch_error: DecisionError | None = None,
           launch_values: Mapping[str, str] | None = None, code: int = 200) -> Response:
    from flows.usecases.show import list_cases
    from flows.usecases.sweep import sweep

    rows = list_cases(ws, status=status or None)
    _, items = sweep(ws)
    attention: dict[str, list[Any]] = {}
    for i in items:
        if i.state in ("overdue", "due-soon"):
            attention.setdefault(i.case_id, []).append(i)
    rank = {c: min(0 if i.state == "overdue" else 1 for i in its) for c, its in attention.items()}
    rows.sort(key=lambda r: (rank.get(r.case_id, 2), r.case_id))
    return render(request, "cases.html", status=code, rows=rows, attention=attention, status_filter=status or "",
                  launch_error=launch_error, values=launch_values or {}, can_launch="legal-office" in request.state.signed_in.account.roles)


@router.post("/cases")
async def launch(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Launch a case from the form; back to the list with the refusal beside the form when it is refused."""
    who = console_account(request)
    values = await form_of(request, who)
    flags = [f for f in values.get("flags", "").replace("，", ",").split(",") if f.strip()]
    try:
        actor = accounts.acting_role(ws, who.account, "case-launched")
        from flows.usecases.launch import launch_case

        case_id, _ = await run_in_threadpool(
            launch_case, ws, actor, title=values.get("title", ""), category=values.get("category", ""),
            organ=values.get("organ", ""), lead_unit=values.get("lead_unit", ""), flags=[f.strip() for f in flags],
            decided_on=values.get("decided_on") or None,
            idempotency_key=("web:" + values["form_id"][:64]) if values.get("form_id") else None)
    except DecisionError as exc:
        return _cases(request, ws, None, launch_error=exc, launch_values=values, code=status_of(exc))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _case_page(request: Request, ws: Workspace, case_id: str, *, refusal: DecisionError | None = None,
               failed_event: str | None = None, values: Mapping[str, str] | None = None, code: int = 200,
               notice: str | None = None) -> Response:
    view = read_model_of(ws).case_view(ws, case_id)
    forms = []
    for step in view.next:
        event = step["event"]
        kept = values if event == failed_event else None
        forms.append({"event": event, "roles": step["roles"], "fields": form_fields(event, kept),
                      "refusal": refusal if event == failed_event else None,
                      "findings": getattr(refusal, "findings", []) if event == failed_event else [],
                      "kept": kept or {}})
    from models.events import RECORDABLE

    return render(request, "case.html", status=code, view=view, forms=forms, notice=notice, recordable=RECORDABLE,
                  any_values=values if failed_event not in [f["event"] for f in forms] else None,
                  other_refusal=refusal if refusal is not None and failed_event not in [f["event"] for f in forms] else None,
                  other_findings=getattr(refusal, "findings", []) if failed_event not in [f["event"] for f in forms] else [])


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, recorded: str | None = None, ws: Workspace = Depends(workspace)) -> Response:
    """The case: stage timeline, deadlines on the official calendar, one form for each event that can come next."""
    console_account(request)
    notice = f"已记录 recorded #{recorded}" if recorded and recorded.isdigit() else None
    return _case_page(request, ws, case_id, notice=notice)


@router.post("/cases/{case_id}/record")
async def record(case_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Record one event from its form as the signed-in account; a refusal is shown inline with rule and article."""
    who = console_account(request)
    values = await form_of(request, who)
    event = values.get("event", "")
    acks = []
    if values.get("ack_rule") and values.get("ack_reason", "").strip():
        acks.append((values["ack_rule"], values["ack_reason"]))
    from web.api import record_as

    try:
        from flows.usecases.record import validate_payload

        if event not in labels.EVENTS:
            validate_payload(event, {})  # names the events there are
        accounts.acting_role(ws, who.account, event, case_id)  # who may record it comes before what the form says
        payload = payload_from_form(event, values) if "payload_json" not in values else json_payload(values["payload_json"])
        result = await run_in_threadpool(record_as, ws, who, case_id, event, payload, acks, None, None)
    except RuleRefusal as exc:
        return _case_page(request, ws, case_id, refusal=exc, failed_event=event, values=values, code=status_of(exc))
    except BadInput as exc:
        if exc.code == "unknown-case":
            raise
        return _case_page(request, ws, case_id, refusal=exc, failed_event=event, values=values, code=400)
    return RedirectResponse(f"/cases/{case_id}?recorded={result.seq}", status_code=303)


def json_payload(text: str) -> Any:
    """The 'another record' form's payload, written as JSON."""
    import orjson

    from policies.limits import CEILING_DEPTH
    from web.limits import json_depth_ok

    if not json_depth_ok(text.encode(), CEILING_DEPTH):  # its pack's own limit is checked when it is recorded
        raise BadInput(f"the payload nests more than {CEILING_DEPTH} levels: no policy pack allows that (LIM-01)",
                       field="payload_json", rule="LIM-01", code="LIM-01")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the payload is not JSON ({exc})", field="payload_json") from exc


@router.get("/cases/{case_id}/history")
def history_page(case_id: str, request: Request, as_of: str | None = None, ws: Workspace = Depends(workspace)) -> Response:
    """The auditor's replay of one case, as of a moment: the state then and every event with its rule checks."""
    console_account(request)
    from flows.usecases.audit import replay_case
    from web.api import _moment

    rep = replay_case(ws, case_id, as_of=_moment(as_of or None, "as_of"))
    return render(request, "history.html", rep=rep, view=rep.view, as_of=as_of or "")


@router.get("/cases/{case_id}/dossier")
def dossier_page(case_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """The printable dossier: the case's facts, stages, the meeting's opinions, warnings and every record."""
    console_account(request)
    from flows.usecases.audit import replay_case

    rep = replay_case(ws, case_id)
    view = read_model_of(ws).case_view(ws, case_id)
    return render(request, "dossier.html", view=view, rep=rep, records=records_of(ws, case_id))


def records_of(ws: Workspace, case_id: str) -> list[dict[str, Any]]:
    """Each record's type, date, actor and payload, for the dossier."""
    from flows.usecases.show import case_records

    return case_records(ws, case_id)


# --- comments ---------------------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/comments")
def comments_page(case_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Import public comments by upload (a progress bar with JavaScript; a plain form without)."""
    console_account(request)
    return render(request, "comments.html", view=read_model_of(ws).case_view(ws, case_id), result=None, error=None,
                  summary=_summary(ws, case_id))


def _summary(ws: Workspace, case_id: str) -> Any:
    from flows.usecases.comments import comment_summary

    try:
        return comment_summary(ws, case_id, top=5)
    except DecisionError:
        return None


@router.post("/cases/{case_id}/comments")
async def comments_upload(case_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Import an uploaded JSON Lines or CSV file: validated, all or nothing, idempotent."""
    who = console_account(request)
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or who.csrf is None or not hmac.compare_digest(token.encode(), who.csrf.encode()):
        raise BadInput("the form's security token (CSRF) is missing or does not match this session", field="csrf", code="csrf")
    upload = form.get("file")
    view = read_model_of(ws).case_view(ws, case_id)
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render(request, "comments.html", status=400, view=view, result=None, summary=_summary(ws, case_id),
                      error=BadInput("choose a .jsonl or .csv file to upload", field="file"))
    suffix = Path(upload.filename).suffix.lower()
    tmp = Path(tempfile.mkdtemp(prefix="juece-comments-"))
    try:
        path = tmp / f"upload{suffix if suffix in ('.jsonl', '.ndjson', '.csv') else '.txt'}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        from flows.usecases.comments import import_comments

        try:
            actor = accounts.acting_role(ws, who.account, "comments-imported", case_id)
        except RuleRefusal:
            actor = accounts.acting_role(ws, who.account, "consultation-opened", case_id)
        result = await run_in_threadpool(import_comments, ws, actor, case_id, path)
    except DecisionError as exc:
        return render(request, "comments.html", status=status_of(exc), view=view, result=None, error=exc,
                      summary=_summary(ws, case_id))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return render(request, "comments.html", view=view, result=result, error=None, summary=_summary(ws, case_id))


# --- audit, archive, security log -------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(request: Request, run: str | None = None, ws: Workspace = Depends(workspace)) -> Response:
    """The audit view: verify every case (integrity and every rule re-run); replay any case as of a moment."""
    console_account(request)
    from flows.usecases.show import list_cases

    report = None
    if run:
        from flows.usecases.audit import verify_cases

        report = verify_cases(ws)
    return render(request, "audit.html", report=report, cases=list_cases(ws))


@router.get("/audit/replay")
def audit_replay(request: Request, case: str = "", as_of: str = "") -> Response:
    """The replay form's answer: the case's history as of the moment."""
    console_account(request)
    from urllib.parse import quote

    return RedirectResponse(f"/cases/{quote(case, safe='')}/history?as_of={quote(as_of, safe='')}", status_code=303)


@router.post("/cases/{case_id}/archive")
async def archive_download(case_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Export the dossier as a BagIt bag and download it as a zip (the archivist; recorded like `archive export`)."""
    who = console_account(request)
    values = await form_of(request, who)
    from web.api import archive_zip

    path, name = await run_in_threadpool(archive_zip, ws, who, case_id, values.get("public") == "true")
    return FileResponse(path, media_type="application/zip", filename=name,
                        background=BackgroundTask(shutil.rmtree, path.parent, True))


@router.get("/security-log")
def security_log_page(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """The append-only security log (the auditor and the administrator)."""
    who = console_account(request)
    return render(request, "security_log.html", entries=sessions.security_log(ws, limit=500, reader=who.account))


@router.get("/account")
def account_page(request: Request) -> Response:
    """The signed-in person's account: roles, and changing the password."""
    console_account(request)
    return render(request, "account.html", message=None, error=None)


@router.post("/account/password")
async def change_password(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Change one's own password (policy: length, classes, none of the last five)."""
    who = console_account(request)
    values = await form_of(request, who)
    try:
        await run_in_threadpool(accounts.change_password, ws, who.account.name, values.get("old_password", ""),
                                values.get("new_password", ""), address=client_address(request))
    except BadInput as exc:
        return render(request, "account.html", status=400, message=None, error=exc)
    return render(request, "account.html", message="口令已更改 — password changed", error=None)

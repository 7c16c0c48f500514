"""The HTTP API under /api/v1 (PRODUCT.md's table): each route authenticates, calls one use case, answers JSON."""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Optional

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from flows.usecases import accounts, sessions
from flows.usecases.read_model import read_model_of
from flows.usecases.sessions import SignedIn
from flows.usecases.workspace import Workspace
from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE
from policies.errors import BadInput, ConcurrentModification, RuleRefusal
from policies.limits import CEILING_DEPTH
from web.deps import SESSION_COOKIE, client_address, current_account, is_https, settings, workspace
from web.limits import json_depth_ok

router = APIRouter(prefix="/api/v1")


# --- request bodies ----------------------------------------------------------------------------------------------


class SessionBody(BaseModel):
    """POST /api/v1/session."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=300)
    password: str = Field(max_length=1000)


class LaunchBody(BaseModel):
    """POST /api/v1/cases: what `case launch` takes."""

    model_config = ConfigDict(extra="forbid")
    title: str
    category: str
    organ: str
    lead_unit: str
    flags: list[str] = []
    decided_on: Optional[date] = None
    catalog: Optional[str] = None
    co_units: list[str] = []
    policy: str = "cn-2019"


class Ack(BaseModel):
    """A WARN acknowledged with a written reason."""

    model_config = ConfigDict(extra="forbid")
    rule: str = Field(max_length=20)
    reason: str = Field(max_length=20000)


class RecordBody(BaseModel):
    """POST /api/v1/cases/{case_id}/records."""

    model_config = ConfigDict(extra="forbid")
    event: str = Field(max_length=64)
    payload: dict[str, Any]
    acknowledge: list[Ack] = []


async def json_body(request: Request, model: type[BaseModel]) -> Any:
    """Parse and validate a JSON body; anything malformed is bad input naming the field (never a 500)."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BadInput("send the body as JSON (Content-Type: application/json)", field="Content-Type")
    if not json_depth_ok(raw, CEILING_DEPTH + 1):  # the payload one level down; its pack's limit is checked after
        raise BadInput(f"the body nests more than {CEILING_DEPTH + 1} levels: no policy pack lets a payload nest more "
                       f"than {CEILING_DEPTH} (LIM-01)", field="(body)", rule="LIM-01", code="LIM-01")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the body is not JSON: {exc}", field="(body)") from exc
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        where = ".".join(str(p) for p in errs[0]["loc"]) or "(body)" if errs else "(body)"
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in errs[:8]]
        raise BadInput("the body is not valid — " + "; ".join(problems), field=where, problems=problems) from exc


def _moment(text: str | None, field: str) -> Any:
    if text is None:
        return None
    from flows.usecases.clock import parse_moment

    return parse_moment(text, field=field)


# --- session and health -------------------------------------------------------------------------------------------


@router.api_route("/health", methods=["GET", "HEAD"])
def health(ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """Whether the service and its database answer (no credentials needed; HEAD too, as load balancers ask)."""
    from flows.usecases.show import list_cases  # noqa: F401  (imported: the app is wired)

    accounts.has_accounts(ws)  # one read of the database
    return {"status": "ok"}


@router.post("/session")
async def open_session(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Sign in with {"name", "password"}: sets the session cookie (HttpOnly, SameSite; Secure over HTTPS)."""
    body = await json_body(request, SessionBody)
    from starlette.concurrency import run_in_threadpool

    opened = await run_in_threadpool(sessions.sign_in, ws, body.name, body.password, client_address(request))
    resp = JSONResponse({"name": opened.account.name, "roles": sorted(opened.account.roles), "csrf": opened.csrf})
    set_session_cookie(request, resp, opened.secret)
    return resp


@router.delete("/session")
def close_session(request: Request, ws: Workspace = Depends(workspace)) -> Response:
    """Sign out: the server-side session ends."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        sessions.sign_out(ws, secret, client_address(request))
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def set_session_cookie(request: Request, resp: Response, secret: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when the browser came over HTTPS (or the setting says)."""
    mode = settings(request).secure_cookies
    secure = mode == "always" or (mode == "auto" and is_https(request))
    resp.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=secure, path="/")


# --- cases ------------------------------------------------------------------------------------------------------


@router.get("/cases")
def cases(status: Optional[str] = None, who: SignedIn = Depends(current_account), ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """As `case list --json`."""
    from flows.usecases.show import list_cases

    return {"cases": [c.to_json() for c in list_cases(ws, status=status)]}


@router.post("/cases", status_code=201)
async def launch(request: Request, who: SignedIn = Depends(current_account), ws: Workspace = Depends(workspace)) -> Response:
    """Launch a case as the signed-in account; 201 {"case_id"}."""
    body = await json_body(request, LaunchBody)
    from starlette.concurrency import run_in_threadpool

    case_id, created = await run_in_threadpool(_launch, ws, who, body, request.headers.get("idempotency-key"))
    return JSONResponse({"case_id": case_id, "created": created}, status_code=201)


def _launch(ws: Workspace, who: SignedIn, body: LaunchBody, key: str | None) -> tuple[str, bool]:
    from flows.usecases.launch import launch_case

    actor = accounts.acting_role(ws, who.account, "case-launched")
    if key is not None and not (0 < len(key) <= 100):
        raise BadInput("Idempotency-Key must be 1 to 100 characters", field="Idempotency-Key")
    return launch_case(ws, actor, title=body.title, category=body.category, organ=body.organ, lead_unit=body.lead_unit,
                       catalog_item=body.catalog, flags=body.flags, co_units=body.co_units, policy=body.policy,
                       decided_on=body.decided_on, idempotency_key=f"api:{key}" if key else None)


@router.get("/cases/{case_id}")
def case(case_id: str, response: Response, as_of: Optional[str] = None, who: SignedIn = Depends(current_account),
         ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """As `case show --json`; the ETag is the case's last seq (send it back as If-Match)."""
    if as_of is None:
        view = read_model_of(ws).case_view(ws, case_id)  # the process's read model: current, not replayed per request
    else:
        from flows.usecases.show import show_case

        view = show_case(ws, case_id, as_of=_moment(as_of, "as_of"))
    response.headers["ETag"] = str(view.events)
    return view.to_json()


@router.post("/cases/{case_id}/records", status_code=201)
async def record(case_id: str, request: Request, who: SignedIn = Depends(current_account),
                 ws: Workspace = Depends(workspace)) -> Response:
    """Record an event as the signed-in account (its role that the pack allows); 201 as `record --json`."""
    body = await json_body(request, RecordBody)
    expected = _if_match(request.headers.get("if-match"))
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 100):
        raise BadInput("Idempotency-Key must be 1 to 100 characters", field="Idempotency-Key")
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(record_as, ws, who, case_id, body.event, body.payload,
                                     [(a.rule, a.reason) for a in body.acknowledge], key, expected)
    resp = JSONResponse(result.to_json(), status_code=201)
    resp.headers["ETag"] = str(result.seq)
    return resp


_MAX_SEQ_DIGITS = 18  # a seq is an SQL BIGINT: at most 19 digits; 18 keeps it well inside


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    # ASCII digits only ("²".isdigit() holds, int("²") raises) and no more than a seq can have (int() refuses
    # past 4,300 digits): anything else is bad input, never a 500.
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_SEQ_DIGITS):
        raise BadInput("If-Match must be the case's last seq (the ETag of GET /api/v1/cases/{case_id})", field="If-Match")
    return int(text)


def record_as(ws: Workspace, who: SignedIn, case_id: str, event: str, payload: Any, acks: list[tuple[str, str]],
              key: str | None, expected: int | None) -> Any:
    """The record use case with the account's acting role; a lost race without If-Match is retried (the record's
    idempotency key makes the retry safe)."""
    from flows.usecases.record import record_event, validate_payload

    validate_payload(event, payload)  # an unknown event or bad payload is 400 before any role question
    actor = accounts.acting_role(ws, who.account, event, case_id)
    for attempt in range(_RACE_RETRIES):
        try:
            return record_event(ws, actor, case_id, event, payload, acknowledge=acks,
                                idempotency_key=f"api:{case_id}:{key}" if key else None, expected_seq=expected)
        except ConcurrentModification:
            if expected is not None or attempt == _RACE_RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # spread the writers that collided
    raise AssertionError("unreachable")


# Without If-Match the caller asked for "record this", not "record this on top of what I saw": a writer that lost the
# race for the case's next seq simply tries again (its derived idempotency key makes a retry safe).
_RACE_RETRIES = 40


@router.get("/cases/{case_id}/history")
def history(case_id: str, as_of: Optional[str] = None, who: SignedIn = Depends(current_account),
            ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """As `audit replay --json`."""
    from flows.usecases.audit import replay_case

    return replay_case(ws, case_id, as_of=_moment(as_of, "as_of")).to_json()


@router.get("/audit/verify")
def verify(case: list[str] = Query(default=[]), who: SignedIn = Depends(current_account),
           ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """As `audit verify --json`: 200 also when it reports findings or damage."""
    from flows.usecases.audit import verify_cases

    return verify_cases(ws, case).to_json()


def _event(event: str) -> Any:
    if event not in EVENT_TYPES or event in ENGINE_EVENTS:
        raise BadInput(f"there is no event {event!r}; events: {', '.join(RECORDABLE)}", field="event", code="unknown-event")
    return EVENT_TYPES[event]


@router.get("/events/{event}/schema")
def schema(event: str, who: SignedIn = Depends(current_account)) -> dict[str, Any]:
    """As `juece schema EVENT`."""
    return _event(event).model_json_schema(by_alias=True)


@router.get("/events/{event}/example")
def example(event: str, who: SignedIn = Depends(current_account)) -> dict[str, Any]:
    """As `juece example EVENT`."""
    return dict(_event(event).example)


@router.get("/cases/{case_id}/archive")
def archive(case_id: str, public: bool = False, who: SignedIn = Depends(current_account),
            ws: Workspace = Depends(workspace)) -> Response:
    """application/zip: the BagIt bag as `archive export` builds it (recorded like the command's export)."""
    path, name = archive_zip(ws, who, case_id, public)
    return FileResponse(path, media_type="application/zip", filename=name,
                        background=BackgroundTask(shutil.rmtree, path.parent, True))


def archive_zip(ws: Workspace, who: SignedIn, case_id: str, public: bool) -> tuple[Path, str]:
    """Export the bag into a temporary folder and zip it; (zip path, download name). The caller removes the folder."""
    from flows.usecases.archive import export_archive

    actor = accounts.acting_role(ws, who.account, "dossier-archived", case_id)
    tmp = Path(tempfile.mkdtemp(prefix="juece-archive-"))
    try:
        result = export_archive(ws, actor, case_id, tmp / "bag", public=public)
        base = f"{case_id}-{'public' if public else 'full'}"
        zipped = shutil.make_archive(str(tmp / base), "zip", root_dir=tmp, base_dir="bag")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Path(zipped), f"{result.archive_id or base}.zip".replace("/", "-")


@router.get("/security-log")
def security_log(limit: int = Query(200, ge=1, le=10000), who: SignedIn = Depends(current_account),
                 ws: Workspace = Depends(workspace)) -> dict[str, Any]:
    """The security log, newest first: for the auditor and the administrator."""
    return {"entries": sessions.security_log(ws, limit=limit, reader=who.account)}

"""The FastAPI application: the API router, the console router, static files, security headers, body limits, and
DecisionErrors turned into the contract's statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from flows.usecases.workspace import Workspace, open_workspace
from policies.errors import DecisionError
from web.errors import error_body, headers_of, status_of
from web.limits import BodyLimit
from web.openapi import document
from web.settings import WebSettings

HERE = Path(__file__).parent

# No inline script or style anywhere: scripts and styles come from /static only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def _without_place(loc: Any) -> tuple[Any, ...]:
    """A validation error's location without where the value came from (query, path, header, cookie, body)."""
    loc = tuple(loc)
    return loc[1:] if len(loc) > 1 and loc[0] in ("query", "path", "header", "cookie", "body") else loc


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


class SecurityHeaders:
    """ASGI middleware: the security headers on every response (plain ASGI: `@app.middleware("http")` ran each request
    through an extra task and stream, a quarter of a case read's server time)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(ws: Workspace, settings: WebSettings | None = None) -> FastAPI:
    """The app serving one workspace."""
    from web import api, console

    settings = settings or WebSettings()
    app = FastAPI(
        title="juece (决策) HTTP API",
        version="1",
        description="Major administrative decisions (重大行政决策) under 国务院令第713号: cases, records, audit, archive.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = lambda: document(app)  # type: ignore[method-assign]  # the bodies and errors as the API answers
    app.state.ws = ws
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit_for=lambda path: settings.max_upload_bytes
                       if path.endswith("/comments") else settings.max_body_bytes)

    @app.exception_handler(DecisionError)
    async def decision_error(request: Request, exc: DecisionError) -> Response:
        if not _is_api(request):
            from web.console import error_page

            return error_page(request, exc)
        return JSONResponse(error_body(exc), status_code=status_of(exc), headers=headers_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ())) or '(request)'}: {e.get('msg', '')}" for e in errs[:8]]
        # the parameter's own name (`as_of`, `Idempotency-Key`), not FastAPI's `query.as_of`
        field = ".".join(str(p) for p in _without_place(errs[0].get("loc", ()))) if errs else None
        body = {"error": {"code": "bad-input", "message": "the request is not valid — " + "; ".join(problems),
                          "exit_code": 2, "field": field, "problems": problems}}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-input")
        message = {404: "there is nothing at this address", 405: "this address does not take that method"}.get(
            exc.status_code, str(exc.detail))
        if not _is_api(request):
            from web.console import plain_error_page

            return plain_error_page(request, exc.status_code, message)
        return JSONResponse({"error": {"code": code, "message": message, "exit_code": 2}}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # A bug, never a user's mistake: still the error object (or a page), not a bare "Internal Server Error"; the
        # server logs the traceback (Starlette re-raises after answering).
        message = "the server failed on this request (the failure is logged); please report it"
        if not _is_api(request):
            from fastapi.responses import PlainTextResponse

            return PlainTextResponse("500 — 服务器内部错误 " + message, status_code=500)
        return JSONResponse({"error": {"code": "internal-error", "message": message, "exit_code": 1}}, status_code=500)

    return app


def app_from_env() -> FastAPI:
    """The app for `juece web` (uvicorn's factory): the workspace at JUECE_HOME, settings from JUECE_WEB_*."""
    return create_app(open_workspace(None), WebSettings.from_env())

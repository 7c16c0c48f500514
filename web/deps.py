"""Who is asking: `current_account` from a Bearer token or the session cookie — never from the request body."""

from __future__ import annotations

from fastapi import Request

from flows.usecases.sessions import SignedIn, session_account, token_account
from flows.usecases.workspace import Workspace
from policies.errors import Unauthenticated
from web.settings import WebSettings

SESSION_COOKIE = "juece_session"
CSRF_COOKIE = "juece_csrf"  # before sign-in only: the sign-in form's double-submit token


async def workspace(request: Request) -> Workspace:
    """The workspace this app serves (async: FastAPI would run a plain function in a worker thread, a thread hop on
    every request for an attribute read)."""
    return request.app.state.ws


def settings(request: Request) -> WebSettings:
    """The app's settings."""
    return request.app.state.settings


def client_address(request: Request) -> str:
    """The caller's address (the proxy's X-Forwarded-For only when the proxy is trusted)."""
    if settings(request).trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:100]
    return (request.client.host if request.client else "unknown")[:100]


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS, directly or through a proxy that says so (`X-Forwarded-Proto:
    https`): what makes the cookies set on this answer `Secure` (PRODUCT.md). The header counts here whether or not
    the proxy is trusted (`trust_proxy`, which X-Forwarded-For needs): a `Secure` flag only narrows where a browser
    sends the cookie back, so a client that claims HTTPS falsely can only keep its own cookie from itself."""
    if request.url.scheme == "https":
        return True
    return request.headers.get("x-forwarded-proto", "").strip().lower() == "https"


def current_account(request: Request) -> SignedIn:
    """The signed-in account: `Authorization: Bearer TOKEN`, else the session cookie; else 401."""
    cached = getattr(request.state, "signed_in", None)
    if cached is not None:
        return cached
    ws: Workspace = request.app.state.ws
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use `Authorization: Bearer TOKEN` (a token from `juece user token`)")
        who = token_account(ws, token.strip(), client_address(request))
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            raise Unauthenticated("not signed in: sign in, or send `Authorization: Bearer TOKEN`")
        who = session_account(ws, secret, settings(request).idle_minutes)
    request.state.signed_in = who
    return who

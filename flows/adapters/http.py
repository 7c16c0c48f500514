"""The one HTTP adapter: every request juece makes to the world outside goes through here (httpx).

A request that cannot be made (no connection, a timeout, too many redirects) or that the server answers with a 5xx
raises `TransientFailure` — the only HTTP failure worth retrying. Retrying is Prefect's job, never this module's:
a task that posts passes `retry_on_transient` as its `retry_condition_fn`, so a 4xx or a rule refusal is never
retried. Any other answer comes back as an `Answer` for the caller to judge. Tests pass an `httpx.MockTransport`
(`transport=`), never a mock of this module.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping

import httpx

from flows.adapters.logs import logger
from policies.errors import TransientFailure

log = logger("adapters")

Transport = httpx.BaseTransport


@dataclass(frozen=True)
class Answer:
    """An HTTP answer below 500."""

    status: int
    content: bytes
    over: bool = False  # the body was longer than the `max_bytes` asked for: `content` is its first max_bytes + 1 bytes

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (`ValueError` when it is not JSON)."""
        return httpx.Response(self.status, content=self.content).json()


def timeout(seconds: float, *, connect: float | None = None) -> httpx.Timeout:
    """A timeout for `get`/`post`: `seconds` for reading and writing, `connect` (default the same) to connect."""
    return httpx.Timeout(seconds, connect=connect if connect is not None else seconds)


def get(url: str, *, timeout: httpx.Timeout | float, headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False, trust_env: bool = True, transport: Transport | None = None,
        max_bytes: int | None = None) -> Answer:
    """GET `url` once; `TransientFailure` when it cannot be fetched or answers 5xx. With `max_bytes` the body is
    streamed and reading stops once it is past `max_bytes` (an endless or huge body ends; `Answer.over` says so)."""
    return _send("GET", url, timeout=timeout, headers=headers, follow_redirects=follow_redirects, trust_env=trust_env,
                 transport=transport, max_bytes=max_bytes)


def post(url: str, *, timeout: httpx.Timeout | float, json: Any = None, data: Mapping[str, str] | None = None,
         files: Mapping[str, tuple[str, bytes, str]] | None = None, transport: Transport | None = None) -> Answer:
    """POST to `url` once (a JSON body, or a form with files); `TransientFailure` on a transport error or a 5xx."""
    return _send("POST", url, timeout=timeout, json=json, data=data, files=files, transport=transport)


def is_healthy(url: str, *, timeout: float, trust_env: bool = True) -> bool:
    """True when `url` answers 200 (a server's health check); False when it cannot be reached or answers otherwise."""
    try:
        return get(url, timeout=timeout, trust_env=trust_env).status == 200
    except TransientFailure:
        return False


def is_http_failure(exc: BaseException) -> bool:
    """True for an HTTP failure raised by httpx itself or by a client built on it (Prefect's): no connection, a
    timeout, an error status. For callers that must tell "the service is away" from a bug without importing httpx."""
    return isinstance(exc, httpx.HTTPError)


def retry_on_transient(exc: BaseException | None) -> bool:
    """True for a failure worth retrying (`TransientFailure`: transport errors and 5xx), False for anything else."""
    return isinstance(exc, TransientFailure)


def _shown(url: str) -> str:
    """The URL as logged: no user, password or query string (webhook addresses often carry a secret there)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def _read(r: httpx.Response, max_bytes: int | None) -> tuple[bytes, bool]:
    """The body, or its first `max_bytes` + 1 bytes and True when it is longer (nothing more is read)."""
    if max_bytes is None:
        return r.read(), False
    chunks: list[bytes] = []
    n = 0
    for chunk in r.iter_bytes():
        chunks.append(chunk)
        n += len(chunk)
        if n > max_bytes:
            return b"".join(chunks)[: max_bytes + 1], True
    return b"".join(chunks), False


def _send(method: str, url: str, *, timeout: httpx.Timeout | float, headers: Mapping[str, str] | None = None,
          follow_redirects: bool = False, trust_env: bool = True, transport: Transport | None = None,
          max_bytes: int | None = None, **body: Any) -> Answer:
    body = {k: v for k, v in body.items() if v is not None}
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=follow_redirects, trust_env=trust_env,
                          transport=transport) as client:
            with client.stream(method, url, headers=headers, **body) as r:
                content, over = (b"", False) if r.status_code >= 500 else _read(r, max_bytes)
    except httpx.RequestError as exc:  # transport errors, too many redirects, a body that cannot be decoded
        log.info("http failed", extra={"method": method, "url": _shown(url), "error": type(exc).__name__, "transient": True})
        raise TransientFailure(f"{url}: {exc}", url=url) from exc
    log.info("http", extra={"method": method, "url": _shown(url), "status": r.status_code,
                            "ms": round((time.perf_counter() - started) * 1000, 1), "transient": r.status_code >= 500})
    if r.status_code >= 500:
        raise TransientFailure(f"{url} answered HTTP {r.status_code}", url=url, status=r.status_code)
    return Answer(r.status_code, content, over)

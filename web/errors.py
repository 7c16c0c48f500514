"""DecisionErrors as HTTP answers: the CLI's error object `{"error": {"code", "message", …}}` with the contract's
status (PRODUCT.md): 400 bad input, 401 credentials, 403 ROLE-01/AUTH-01, 404 unknown case, 409 a procedure rule,
412 If-Match not the last seq, 429 throttled; a payload over its pack's limits (LIM-01) is bad input, 400, and only
a body past anything a pack allows is refused unread, 413; never 500 for a user's request."""

from __future__ import annotations

from typing import Any

from policies.errors import (
    BadInput,
    ConcurrentModification,
    DecisionError,
    IntegrityFailure,
    RuleRefusal,
    StorageFailure,
    Throttled,
    Unauthenticated,
    UnknownCase,
)


def status_of(exc: DecisionError) -> int:
    """The HTTP status for an error, as the contract's table says."""
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Throttled):
        return 429
    if isinstance(exc, UnknownCase):
        return 404
    if isinstance(exc, RuleRefusal):
        return 403 if exc.code in ("ROLE-01", "AUTH-01") else 409
    if isinstance(exc, ConcurrentModification):
        return 412
    if isinstance(exc, TooLarge):  # a body refused unread, past anything a pack allows
        return 413
    if isinstance(exc, BadInput):  # a payload over its pack's limits (LIM-01) included: bad input, exit 2
        return 400
    if isinstance(exc, IntegrityFailure):
        return 409
    if isinstance(exc, StorageFailure):
        return 503
    return 400


def headers_of(exc: DecisionError) -> dict[str, str]:
    """Headers an error answer carries (how to authenticate; when to retry)."""
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="juece"'}
    if isinstance(exc, Throttled):
        return {"Retry-After": str(exc.details.get("retry_after", 900))}
    return {}


def error_body(exc: DecisionError) -> dict[str, Any]:
    """The error object (the same one `--json` prints), its `field` named as the API names it: the use cases name
    the command line's options (`--decided-on`), an API caller sent `decided_on`."""
    body = exc.to_json()
    field = body["error"].get("field")
    if isinstance(field, str) and field in API_FIELDS:
        body["error"]["field"] = API_FIELDS[field]
    return body


# The command line's names for what the API takes as a body field, a query parameter, a header or a path segment.
API_FIELDS = {
    "--decided-on": "decided_on", "--idempotency-key": "Idempotency-Key", "--status": "status", "--as-of": "as_of",
    "CASE": "case_id", "EVENT": "event", "--acknowledge": "acknowledge", "--reason": "acknowledge.reason",
}


class TooLarge(BadInput):
    """A request body over the limit (LIM-01): 413."""

    code = "LIM-01"


class NotFound(BadInput):
    """A path that names nothing: 404."""

    code = "not-found"

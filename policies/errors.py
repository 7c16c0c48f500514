"""The one exception family of juece, documented in one place.

    JueceError
    ├── DecisionError          what a user caused or must know; a stable `code` and an `exit_code`
    │   ├── BadInput (2) ─ UnknownCase, WorkspaceMissing, IdempotencyConflict
    │   ├── RuleRefusal (3) ─ CalendarNotLoaded
    │   ├── IntegrityFailure (4), ConcurrentModification (6), StorageFailure (1)
    │   └── Unauthenticated (2), Throttled (2), PortalRefused (2), PrefectUnavailable (1), FlowRunUnfinished (1)
    └── OutsideFailure         the world outside failed (an HTTP endpoint, the Prefect server); also a RuntimeError
        ├── TransientFailure   could not be reached or answered 5xx: the only failure Prefect's tasks retry
        │   └── TransientPortalError, TransientDeliveryError
        ├── DeliveryRefused    a webhook answered 4xx: configuration, never retried
        └── ServerStartError   the local Prefect server did not become healthy

Every error a user can cause is a `DecisionError` with a stable `code` and an `exit_code` from the command-line
contract (PRODUCT.md): 2 bad input, 3 refused by a procedure rule, 4 integrity failure, 5 audit findings,
6 concurrent modification; 1 when storage itself failed (disk full, I/O error), with nothing written. The command
line turns them into a sentence and an exit code. An `OutsideFailure` is translated at the edge where it matters
(`raise DecisionError(...) from exc`) or retried by Prefect; anything else is a bug and is allowed to raise.
"""

from __future__ import annotations

from typing import Any


class JueceError(Exception):
    """Base of every exception juece raises on purpose."""


class DecisionError(JueceError):
    """Base of every error juece reports to a user."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        """The `{"error": {...}}` object of the JSON contract."""
        return {"error": {"code": self.code, "message": self.message, "exit_code": self.exit_code, **self.details}}


class BadInput(DecisionError):
    """Unreadable file, schema violation, unknown case or event, malformed option (exit 2)."""

    exit_code = 2
    code = "bad-input"


class UnknownCase(BadInput):
    """The case id names no case in this workspace (exit 2)."""

    code = "unknown-case"


class WorkspaceMissing(BadInput):
    """No workspace at the given home (exit 2)."""

    code = "no-workspace"


class IdempotencyConflict(BadInput):
    """An idempotency key was reused for a different command or payload (exit 2)."""

    code = "idempotency-conflict"


class RuleRefusal(DecisionError):
    """A procedure rule refused the command (exit 3); `code` is the rule id, the findings say why."""

    exit_code = 3

    def __init__(self, message: str, *, findings: list[Any], **details: Any) -> None:
        first = findings[0]
        super().__init__(message, code=first.rule, **details)
        self.findings = findings

    def to_json(self) -> dict[str, Any]:
        """The error object, with every finding that caused the refusal."""
        out = super().to_json()
        out["error"]["rule"] = self.code
        out["error"]["article"] = self.findings[0].article
        out["error"]["findings"] = [f.to_json() for f in self.findings]
        return out


class CalendarNotLoaded(RuleRefusal):
    """A date falls in a year whose State Council holiday notice is not loaded (CAL-05, exit 3)."""


class IntegrityFailure(DecisionError):
    """The stored history was altered behind the engine's back (exit 4)."""

    exit_code = 4
    code = "integrity"


class StorageFailure(DecisionError):
    """The database could not complete the write (disk full, I/O error); nothing was written (exit 1)."""

    exit_code = 1
    code = "storage"


class ConcurrentModification(DecisionError):
    """Someone else wrote first; retry the command (exit 6)."""

    exit_code = 6
    code = "concurrent-modification"


class Unauthenticated(DecisionError):
    """Missing, unknown, expired or revoked credentials; the same answer whichever it was (HTTP 401)."""

    exit_code = 2
    code = "unauthenticated"


class Throttled(DecisionError):
    """Too many failed sign-ins from one address; try again later (HTTP 429)."""

    exit_code = 2
    code = "throttled"


class PortalRefused(DecisionError):
    """The publication portal refused the post (4xx): never retried (exit 2)."""

    exit_code = 2
    code = "portal-refused"


class PrefectUnavailable(DecisionError):
    """No Prefect API to talk to, or it does not answer (exit 1)."""

    code = "prefect-server"


class FlowRunUnfinished(DecisionError):
    """A triggered flow run did not finish within the timeout — usually no worker polls the pool (exit 1)."""

    code = "flow-run-unfinished"


# --- failures of the world outside --------------------------------------------------------------------------------


class OutsideFailure(JueceError, RuntimeError):
    """Something outside juece failed: an HTTP endpoint, the Prefect server. `details` say which."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}


class TransientFailure(OutsideFailure):
    """The endpoint could not be reached or answered 5xx: worth retrying (flows/adapters/http.py)."""


class TransientPortalError(TransientFailure):
    """The publication portal could not be reached or answered 5xx."""


class TransientDeliveryError(TransientFailure):
    """The reminder webhook could not be reached or answered 5xx."""


class DeliveryRefused(OutsideFailure):
    """The reminder webhook answered 4xx: a configuration problem, never retried."""


class ServerStartError(OutsideFailure):
    """The local Prefect server did not become healthy; the message says where its log is."""

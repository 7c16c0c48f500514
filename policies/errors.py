"""The one exception family of juece, documented in one place.

Every error a user can cause is a `DecisionError` with a stable `code` and an `exit_code` from the command-line
contract (PRODUCT.md): 2 bad input, 3 refused by a procedure rule, 4 integrity failure, 5 audit findings,
6 concurrent modification; 1 when storage itself failed (disk full, I/O error), with nothing written. The command line turns them into a sentence and an exit code; anything else is a bug
and is allowed to raise.
"""

from __future__ import annotations

from typing import Any


class DecisionError(Exception):
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

"""Findings: what a rule check returns, for refusals, warnings and the auditor's list alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Enforcement = Literal["HARD", "WARN"]


@dataclass(frozen=True)
class Finding:
    """One rule that did not hold: its id, article, enforcement level, a sentence for a clerk, and the values compared."""

    rule: str
    article: str
    enforcement: Enforcement
    message: str
    values: dict[str, Any] = field(default_factory=dict)
    acknowledged: bool = False

    def sentence(self) -> str:
        """`RULE (article): message` — the form every refusal and warning is shown in."""
        return f"{self.rule} ({self.article}): {self.message}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rule": self.rule,
            "article": self.article,
            "enforcement": self.enforcement,
            "message": self.message,
            "values": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.values.items()},
            **({"acknowledged": True} if self.acknowledged else {}),
        }

"""The audit report as markdown, for the Prefect artifact a supervising office reads (templates/audit_report.md.j2)."""

from __future__ import annotations

from typing import Any, Sequence

from flows.render.templates import render
from flows.usecases.audit import VerifyReport


def audit_report_markdown(report: VerifyReport) -> str:
    """A table of verdicts, then every integrity problem, finding and acknowledged warning."""
    return render("audit_report.md.j2", {"report": report})


def deadline_sweep_markdown(today: str, items: Sequence[Any]) -> str:
    """The deadline sweep's items as a markdown table (templates/deadline_sweep.md.j2)."""
    return render("deadline_sweep.md.j2", {"today": today, "items": items})

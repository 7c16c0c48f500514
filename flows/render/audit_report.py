"""The audit report as markdown, for the Prefect artifact a supervising office reads."""

from __future__ import annotations

from flows.usecases.audit import VerifyReport


def audit_report_markdown(report: VerifyReport) -> str:
    """A table of verdicts, then every integrity problem, finding and acknowledged warning."""
    lines = [
        "# juece audit verify",
        "",
        f"Checked at {report.checked_at} · exit code {report.exit_code}",
        "",
        "| case | events | integrity | findings | acknowledged | refused attempts |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = report.verdicts
    for v in verdicts:
        lines.append(f"| {v.case_id} | {v.events} | {'intact' if v.intact else '**BROKEN**'} | {len(v.findings)} | "
                     f"{len(v.acknowledged)} | {v.refused_attempts} |")
    for v in verdicts:
        if v.broken:
            lines.append(f"\n- **integrity** {v.broken.sentence()}")
        if v.problem:
            lines.append(f"\n- **integrity** {v.case_id}: {v.problem}")
        for f in v.findings:
            lines.append(f"- **{f['rule']}** ({f['article']}) {v.case_id} #{f['seq']} {f['event']}: {f['message']}")
        for a in v.acknowledged:
            lines.append(f"- acknowledged **{a['rule']}** {v.case_id} #{a['seq']} by {a['actor']}: {a['reason']}")
    return "\n".join(lines) + "\n"

"""The audit report as markdown, for the Prefect artifact a supervising office reads."""

from __future__ import annotations

from flows.render.markdown import md
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
        lines.append(f"| {md(v.case_id)} | {v.events} | {'intact' if v.intact else '**BROKEN**'} | {len(v.findings)} | "
                     f"{len(v.acknowledged)} | {v.refused_attempts} |")
    for v in verdicts:
        if v.broken:
            lines.append(f"\n- **integrity** {md(v.broken.sentence())}")
        if v.problem:
            lines.append(f"\n- **integrity** {md(v.case_id)}: {md(v.problem)}")
        for f in v.findings:
            lines.append(f"- **{f['rule']}** ({md(f['article'])}) {md(v.case_id)} #{f['seq']} {f['event']}: "
                         f"{md(f['message'])}")
        for a in v.acknowledged:
            lines.append(f"- acknowledged **{a['rule']}** {md(v.case_id)} #{a['seq']} by {md(a['actor'])}: "
                         f"{md(a['reason'])}")
    return "\n".join(lines) + "\n"

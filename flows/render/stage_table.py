"""The case's stage table as markdown, for the Prefect artifact a supervising office sees in the Prefect UI."""

from __future__ import annotations

from flows.render.markdown import md
from flows.usecases.show import CaseView


def stage_table_markdown(view: CaseView) -> str:
    """A markdown page: the case, its stages, what it waits on, its deadlines and acknowledged warnings."""
    lines = [
        f"# {md(view.case_id)} {md(view.title)}",
        "",
        f"{md(view.organ)} · lead unit {md(view.lead_unit)} · {view.category} · flags: {', '.join(view.flags) or 'none'} · "
        f"policy `{view.policy}` · status **{view.status}** · {view.events} {'event' if view.events == 1 else 'events'}",
        "",
        "| stage (阶段) | status | on | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s.label} | {s.status} | {s.recorded_on or ''} | {md(s.detail)} |" for s in view.stages]
    steps = ", ".join(f"`{n['event']}` ({'/'.join(n['roles'])})" for n in view.next)
    lines += ["", f"**Waiting on:** {view.awaiting}" + (f" — {steps}" if steps else "")]
    if view.deadlines:
        lines += ["", "| deadline | due | rule | state |", "|---|---|---|---|"]
        lines += [f"| {md(d.what)} | {d.due or '—'} | {d.rule} | {d.state} |" for d in view.deadlines]
    if view.acknowledged:
        lines += ["", "**Acknowledged warnings:**", ""]
        lines += [f"- {a['rule']} on #{a['seq']} `{a['event']}` by {md(a['actor'])}: {md(a['reason'])}"
                  for a in view.acknowledged]
    return "\n".join(lines) + "\n"

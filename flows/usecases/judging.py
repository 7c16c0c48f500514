"""Deciding a command: the rules' findings, the user's acknowledgements of warnings, and the refusal that names the
rules (the rules themselves live in policies/; this only applies their verdict)."""

from __future__ import annotations

from typing import Mapping, Sequence

from policies.errors import BadInput, CalendarNotLoaded, RuleRefusal
from policies.findings import Finding
from policies.rules import RuleContext, check_event


def judge(ctx: RuleContext) -> list[Finding]:
    """`check_event`, with a year whose calendar is not loaded (CAL-05) as a finding like any other."""
    try:
        return check_event(ctx)
    except CalendarNotLoaded as exc:
        return list(exc.findings)


def parse_acks(acknowledge: Sequence[tuple[str, str]]) -> dict[str, str]:
    """`--acknowledge RULE --reason TEXT` pairs as {rule: reason}; a pair without a reason is refused."""
    acks: dict[str, str] = {}
    for rule, reason in acknowledge:
        if not reason or not reason.strip():
            raise BadInput(f"--acknowledge {rule} needs a written reason (--reason TEXT)", field="--reason")
        acks[rule.strip().upper()] = reason.strip()
    return acks


def apply_acks(findings: list[Finding], acks: Mapping[str, str]) -> list[Finding]:
    """Mark acknowledged WARN findings; an acknowledgement of a rule that raised no warning is refused."""
    warned = {f.rule for f in findings if f.enforcement == "WARN"}
    stray = [r for r in acks if r not in warned]
    if stray and not any(f.enforcement == "HARD" for f in findings):
        raise BadInput(
            f"--acknowledge {', '.join(stray)}: that rule raised no warning for this record, so there is nothing to "
            "acknowledge (an acknowledgement becomes part of the record; it must match a warning)",
            field="--acknowledge",
        )
    out = []
    for i, f in enumerate(findings):
        if f.enforcement == "WARN" and f.rule in acks:
            findings[i] = Finding(f.rule, f.article, f.enforcement, f.message, f.values, acknowledged=True)
            out.append(findings[i])
    return out


def ack_records(acknowledged: Sequence[Finding], acks: Mapping[str, str]) -> tuple[dict[str, str], ...]:
    """The acknowledgements as stored with the event: rule, reason, message, article."""
    return tuple({"rule": f.rule, "reason": acks[f.rule], "message": f.message, "article": f.article}
                 for f in acknowledged)


def refusal(event: str, blocking: list[Finding]) -> RuleRefusal:
    """One `RuleRefusal` naming every blocking rule, the ones that cannot be waived first."""
    blocking = sorted(blocking, key=lambda f: f.enforcement != "HARD")  # the code names a rule that cannot be waived
    lines = [f.sentence() + ("" if f.enforcement == "HARD" else f" — a warning: record it with --acknowledge {f.rule} --reason TEXT") for f in blocking]
    head = f"refused: `{event}` was not recorded. " if len(lines) > 1 else "refused: "
    return RuleRefusal(head + " | ".join(lines), findings=blocking, event=event)

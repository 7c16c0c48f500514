"""Who may record a step (ROLE-01), and the stage order: no stage is entered until the one before it is recorded
(SEQ-01 and each stage's gate rule). A stage may explain its own gate more precisely (`explains_gate`: the legality
review names LEG-02 or LEG-07); the sequence inside a stage is that stage's module's gate."""

from __future__ import annotations

from typing import Callable, Iterator

from policies.errors import RuleRefusal
from policies.pack import PolicyPack, Stage
from policies.procedure import RECORDED, StageStatus
from policies.rules import RuleContext, Violation, _home, gate, to_finding
from policies.wording import a

# (rule id, why, what to record instead of the stage's own conclusion, or "" for the generic advice) or None
GateReason = Callable[[RuleContext, StageStatus], "tuple[str, str, str] | None"]
_GATE_REASONS: dict[str, GateReason] = {}


def explains_gate(stage_id: str, *rules: str) -> Callable[[GateReason], GateReason]:
    """Register a stage's own reason for refusing entry past it while it is not recorded: (rule id, why) or None
    for the generic gate. The rule ids it may name live in the registering module."""

    def register(fn: GateReason) -> GateReason:
        for rule in rules:
            _home(rule, fn.__module__)
        _GATE_REASONS[stage_id] = fn
        return fn

    return register


def _ways_to_record(ctx: RuleContext, stage: Stage) -> str:
    """'record risk-assessed or risk-assessment-reused (…)': what would settle a stage, given the case's flags."""
    options = list(stage.conclusion)
    blocked = []
    waivers = ctx.param("waivers")
    for event in stage.waiver + stage.exemption:
        spec = waivers.get(event, {})
        refused_with = spec.get("refused_with_flag")
        required = spec.get("requires_flag")
        if refused_with and refused_with in ctx.case.flags:
            blocked.append(f"{event} is not open to a case flagged {refused_with}")
        elif required and required not in ctx.case.flags:
            blocked.append(f"{event} needs the flag {required}")
        else:
            options.append(event)
    text = " or ".join(f"`{o}`" for o in options) or "its records"
    return f"record {text} first" + (f" ({'; '.join(blocked)})" if blocked else "")


def role_violation(pack: PolicyPack, role: str, event: str, doing: str | None = None) -> Violation | None:
    """ROLE-01: the one test of who may record an event (or do what records it), from the pack's roles table."""
    roles, article = pack.roles_for(event)
    if role in roles:
        return None
    who = ", ".join(roles) or "nobody (recorded by the engine itself)"
    sentence = (f"{a(role)} cannot {doing}; under the {pack.id} pack that is done by: {who}." if doing else
                f"{a(role)} cannot record `{event}`; under the {pack.id} pack it is recorded by: {who}.")
    return Violation(
        "ROLE-01",
        sentence,
        {"role": role, "allowed": list(roles), "event": event},
        article=article or None,
    )


def require_role(pack: PolicyPack, role: str, event: str, doing: str | None = None) -> None:
    """Refuse (ROLE-01, exit 3) a use case that writes `event` for an actor whose role the pack does not name; every
    writing use case calls this (or `check_event`, whose first gate is the same test)."""
    v = role_violation(pack, role, event, doing)
    if v is not None:
        f = to_finding(pack, v)
        raise RuleRefusal(f.sentence(), findings=[f])


@gate("ROLE-01")
def role_check(ctx: RuleContext) -> Iterator[Violation]:
    """ROLE-01: each step is recorded by the body the regulation charges with it."""
    v = role_violation(ctx.pack, ctx.role, ctx.event)
    if v is not None:
        yield v


def _gate(ctx: RuleContext, stage: Stage, status: StageStatus, entering: Stage) -> Violation:
    """The refusal for entering `entering` while the earlier `stage` is not recorded."""
    rule = stage.gate_rule
    why = f"{stage.label} is not recorded yet ({status.status}{': ' + status.detail if status.detail else ''})"
    ways = _ways_to_record(ctx, stage)
    reason = _GATE_REASONS.get(stage.id)
    own = reason(ctx, status) if reason is not None else None
    if own is not None:
        rule, why, instead = own
        ways = instead or ways
    return Violation(
        rule,
        f"cannot record `{ctx.event}` ({entering.label}): {why}; {ways}.",
        {"blocking_stage": stage.id, "blocking_status": status.status, "event": ctx.event},
    )


# (pack hash, stage id) -> the stages before it that gate it, in order (drafting runs beside them and gates none)
_GATING: dict[tuple[str, str], tuple[Stage, ...]] = {}


def _gating(pack: PolicyPack, stage: Stage) -> tuple[Stage, ...]:
    key = (pack.hash, stage.id)
    found = _GATING.get(key)
    if found is None:
        earlier: list[Stage] = []
        for s in pack.stages:
            if s.id == stage.id:
                break
            if not s.concurrent_until:
                earlier.append(s)
        found = _GATING[key] = tuple(earlier)
    return found


@gate("SEQ-01")
def order_check(ctx: RuleContext) -> Iterator[Violation]:
    """Stage order: every earlier stage recorded, and a recorded stage not recorded again."""
    stage = ctx.pack.stage_of(ctx.event)
    if stage is None:
        return
    statuses = ctx.statuses
    for s in statuses.values():
        if s.status == "closed":
            yield Violation(
                "SEQ-01",
                f"cannot record `{ctx.event}`: the case ended without a decision (the meeting rejected the draft, "
                "不予通过); a new proposal starts a new case.",
                {"event": ctx.event},
            )
            return
    if stage.concurrent_until:
        return  # drafting runs beside the ordered stages: its own rule says until when (DRF-04, rules/drafting.py)
    for earlier in _gating(ctx.pack, stage):
        st = statuses[earlier.id]
        if st.status not in RECORDED and not (earlier.ongoing and st.status == "in-progress"):
            yield _gate(ctx, earlier, st, stage)
            return
    own = statuses[stage.id]
    reopened = own.status == "concluded" and own.waiting_for and ctx.event in stage.conclusion
    if own.status in RECORDED and not reopened:
        yield Violation(
            "SEQ-01",
            f"cannot record `{ctx.event}`: {stage.label} is already {own.status} ({own.detail}); a recorded stage is "
            "not recorded again — corrections are new events, never rewrites.",
            {"stage": stage.id, "status": own.status, "event": ctx.event},
        )
        return

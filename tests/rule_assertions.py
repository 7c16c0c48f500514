"""Assertions shared by the rule tests: a refusal names its rule and article and changes nothing; an acknowledged
warning is recorded, shown and listed by the audit."""

from __future__ import annotations

from typing import Any

import pytest

from flows.usecases.audit import replay_case, verify_cases
from policies.errors import RuleRefusal
from support import Driver


def stage_statuses(case: Driver) -> tuple[tuple[str, str], ...]:
    return tuple((s.stage, s.status) for s in case.show().stages)


def recorded_events(case: Driver) -> int:
    """How many events the case holds, refused attempts not counted."""
    return sum(1 for e in replay_case(case.ws, case.case_id).events if e.type != "attempt-refused")


def assert_refused(case: Driver, event: str, data: dict[str, Any] | None = None, *, rule: str, article: str,
                   enforcement: str = "HARD", actor=None, acknowledge=(), **changes: Any) -> RuleRefusal:
    """Recording is refused naming `rule` and its article, and no stage and no recorded event changes."""
    before = (stage_statuses(case), recorded_events(case))
    with pytest.raises(RuleRefusal) as exc:
        case.record(event, data, actor=actor, acknowledge=acknowledge, **changes)
    err = exc.value
    assert err.exit_code == 3
    found = [f for f in err.findings if f.rule == rule]
    assert found, f"expected {rule}, refused with {[f.rule for f in err.findings]}: {err.message}"
    assert article in found[0].article
    assert found[0].enforcement == enforcement
    assert (stage_statuses(case), recorded_events(case)) == before
    return err


def assert_acknowledged_warning(case: Driver, event: str, rule: str, reason: str, **changes: Any) -> None:
    """Recorded with the acknowledgement; `case show` and `audit verify` list it with its reason; verify exits 0."""
    result = case.record(event, acknowledge=((rule, reason),), **changes)
    assert [f.rule for f in result.acknowledged] == [rule]
    assert any(a["rule"] == rule and a["reason"] == reason and a["event"] == event for a in case.show().acknowledged)
    report = verify_cases(case.ws)
    assert report.exit_code == 0
    verdict = next(v for v in report.cases if v.case_id == case.case_id)
    assert verdict.findings == ()
    assert [(a["rule"], a["event"], a["reason"]) for a in verdict.acknowledged] == [(rule, event, reason)]

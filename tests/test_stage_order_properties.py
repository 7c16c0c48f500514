"""Stage order as a property: whatever is attempted, in whatever order and by whomever, the recorded history keeps
the procedure's order, the rigid stages are never waived, a refusal changes nothing, and the history replays to the
state the engine showed.

Each Hypothesis example gets its own workspace from `tmp_path_factory` (function-scoped fixtures are not reset
between examples).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from flows.usecases.audit import verify_cases
from models import store
from models.db import read_transaction
from models.state import replay
from policies.errors import RuleRefusal
from policies.pack import load_pack
from policies.procedure import RECORDED
from support import ADMIN, AUDITOR, CLERK, GOOD, HEAD, LEGAL, REVIEWER, ROLE_OF, SECRETARY, Driver, new_workspace, payload

PACK = load_pack("cn-2019")
STAGES = [s.id for s in PACK.stages]
NEVER_WAIVED = ("legality_review", "collective_discussion")

# Every recordable event with a good payload, in the order of the procedure.
CANON = [e for s in PACK.stages for e in s.activities + s.exemption + s.waiver + s.conclusion if e in GOOD and e in ROLE_OF]
ACTORS = [ADMIN, LEGAL, CLERK, REVIEWER, SECRETARY, HEAD, AUDITOR]
FLAGS = ["risk-relevant", "technical", "non-disclosure", "exploratory"]


MEETING_DAYS = ["2025-11-03", "2025-11-06", "2025-11-06", "2025-11-13"]


def variant(event: str, which: int) -> dict[str, Any]:
    """A good payload, or one of a few meaningful variants of it (outcomes that steer the procedure)."""
    if event == "legality-opinion-issued":
        return [
            payload(event),
            payload(event, conclusion="lawful-with-changes", required_changes=[{"item": "明确过渡期限"}]),
            payload(event, conclusion="unlawful"),
            payload(event, conclusion="unlawful", legal_risk_statement="国家尚无明确规定，法律风险已明示"),
        ][which]
    if event == "meeting-held":
        position, decision = [("approve", "approved"), ("defer", "deferred"), ("oppose", "rejected"),
                              ("approve", "approved")][which]
        return payload(event, decision=decision, held_on=MEETING_DAYS[which],
                       opinions=[{"member": m, "position": position} for m in ("刘副市长", "陈副市长", "李市长")])
    if event == "risk-assessed":
        return payload(event, controllable=which != 1, level="high" if which == 1 else "low")
    if event == "legality-review-submitted":
        return payload(event, submitted_on=["2025-10-21", "2025-10-23", "2025-10-24", "2025-10-21"][which])
    return payload(event)


Step = tuple[int, int, Any]  # (index into CANON, variant, actor or None for the right role)
step = st.tuples(
    st.integers(min_value=0, max_value=len(CANON) - 1),
    st.integers(min_value=0, max_value=3),
    st.sampled_from([None, None, None, *ACTORS]),
)


def fragments(flags: set[str]) -> list[list[list[tuple[str, int]]]]:
    """Ways through each stage as (event, variant) fragments, those the flags allow, so examples get deep."""
    return [
        [
            [("consultation-opened", 0), ("participation-concluded", 0)],
            [("participation-activity-held", 0), ("participation-concluded", 0)],
            [("hearing-announced", 0), ("hearing-held", 0), ("participation-concluded", 0)],
        ] + ([[("participation-exempted", 0)]] if "non-disclosure" in flags else []),
        [[("expert-review-concluded", 0)]] + ([] if "technical" in flags else [[("expert-review-waived", 0)]]),
        [[("risk-assessed", 0)], [("risk-assessed", 1)], [("risk-assessment-reused", 0)]]
        + ([] if "risk-relevant" in flags else [[("risk-assessment-waived", 0)]]),
        [
            [("legality-review-submitted", 0), ("legality-opinion-issued", 0)],
            [("legality-review-submitted", 0), ("legality-review-returned", 0), ("legality-review-submitted", 2),
             ("legality-opinion-issued", 0)],
            [("legality-review-submitted", 0), ("legality-opinion-issued", 1), ("legality-opinion-answered", 0)],
            [("legality-review-submitted", 0), ("legality-opinion-issued", 2), ("legality-review-submitted", 1),
             ("legality-opinion-issued", 0)],
        ] + ([[("legality-review-submitted", 0), ("legality-opinion-issued", 3)]] if "exploratory" in flags else []),
        [[("meeting-held", 0)], [("meeting-held", 3)], [("meeting-held", 1), ("meeting-held", 3)], [("meeting-held", 2)]],
        [[("party-reported", 0), ("decision-published", 0), ("execution-reported", 0)]],
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[set[str], list[Step]]:
    """Case flags and attempts: either any events in any order, or a way through the procedure with steps left
    out, stray attempts put in and now and then a step by any role."""
    flags = draw(st.sets(st.sampled_from(FLAGS)))
    if draw(st.booleans()):
        return flags, draw(st.lists(step, min_size=1, max_size=15))
    steps: list[Step] = []
    for options in fragments(flags):
        for event, which in draw(st.sampled_from(options)):
            if draw(st.integers(min_value=0, max_value=14)) == 0:
                continue
            anyone = draw(st.integers(min_value=0, max_value=14)) == 0
            steps.append((CANON.index(event), which, draw(st.sampled_from(ACTORS)) if anyone else None))
    for stray in draw(st.lists(step, max_size=3)):
        steps.insert(draw(st.integers(min_value=0, max_value=len(steps))), stray)
    return flags, steps


def stage_statuses(d: Driver) -> list[tuple[str, str]]:
    return [(s.stage, s.status) for s in d.show().stages]


def stored_events(d: Driver) -> list[Any]:
    with read_transaction(d.ws.engine) as conn:
        return store.load_stream(conn, d.case_id)


def assert_invariants(d: Driver) -> list[tuple[str, str]]:
    statuses = stage_statuses(d)
    assert [s for s, _ in statuses] == STAGES
    recorded = [status in RECORDED for _, status in statuses]
    for i, (stage, status) in enumerate(statuses):
        if recorded[i]:
            assert all(recorded[:i]), f"{stage} is {status} while an earlier stage is not recorded: {statuses}"
    for stage, status in statuses:
        if stage in NEVER_WAIVED:
            assert status not in ("waived", "exempted"), f"{stage} is {status}"
    # The history without its refused attempts replays to the state the engine shows.
    events = [e for e in stored_events(d) if e.type != "attempt-refused"]
    replayed = replay(events).statuses(PACK)
    assert [(s, replayed[s].status) for s in STAGES] == statuses
    report = verify_cases(d.ws, [d.case_id])
    (verdict,) = report.cases
    assert verdict.intact
    assert verdict.findings == (), verdict.findings
    assert report.exit_code == 0
    return statuses


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_any_sequence_of_attempts_keeps_the_stage_order_and_a_replayable_history(tmp_path_factory, scenario):
    flags, steps = scenario
    d = Driver(new_workspace(tmp_path_factory.mktemp("ws")))
    d.launch(*sorted(flags))
    statuses = assert_invariants(d)
    for index, which, actor in steps:
        event = CANON[index]
        who = actor or ROLE_OF[event]
        events_before = stored_events(d)
        recorded_before = [e for e in events_before if e.type != "attempt-refused"]
        try:
            result = d.record(event, variant(event, which), actor=who)
        except RuleRefusal as exc:
            after = stored_events(d)
            assert [e for e in after if e.type != "attempt-refused"] == recorded_before
            if exc.code == "ROLE-01":
                assert exc.findings[0].rule == "ROLE-01"
                assert len(after) == len(events_before), "a wrong-role attempt must leave nothing"
            else:
                assert len(after) - len(events_before) <= 1
                if len(after) > len(events_before):
                    assert after[-1].type == "attempt-refused"
                    assert after[-1].payload["attempted_event"] == event
                    assert exc.code in after[-1].payload["rules"]
            new_statuses = assert_invariants(d)
            assert new_statuses == statuses, f"refused `{event}` ({exc.code}) changed the stages"
        else:
            after = [e for e in stored_events(d) if e.type != "attempt-refused"]
            assert len(after) == len(recorded_before) + (0 if result.repeated else 1)
            assert who.role in PACK.roles_for(event)[0]
            statuses = assert_invariants(d)
    deepest = [stage for stage, status in statuses if status in RECORDED]
    note_event(f"stages recorded: {len(deepest)}")


@pytest.mark.parametrize(
    ("flags", "settled"),
    [
        ((), ("concluded", "waived", "waived")),
        (("risk-relevant", "technical"), ("concluded", "concluded", "concluded")),
        (("non-disclosure",), ("exempted", "waived", "waived")),
    ],
)
def test_walking_every_step_in_order_waives_what_the_flags_allow_but_never_legality_review_or_the_meeting(ws, flags, settled):
    d = Driver(ws)
    d.launch(*flags)
    recorded = []
    for event in CANON:
        if event == "legality-review-returned":
            continue
        try:
            d.record(event, actor=ROLE_OF[event])
            recorded.append(event)
        except RuleRefusal:
            pass
        statuses = dict(stage_statuses(d))
        assert statuses["legality_review"] not in ("waived", "exempted")
        assert statuses["collective_discussion"] not in ("waived", "exempted")
    statuses = dict(stage_statuses(d))
    assert (statuses["public_participation"], statuses["expert_review"], statuses["risk_assessment"]) == settled
    assert statuses["legality_review"] == statuses["collective_discussion"] == "concluded"
    assert "party-reported" in recorded
    assert "legality-opinion-issued" in recorded and "meeting-held" in recorded

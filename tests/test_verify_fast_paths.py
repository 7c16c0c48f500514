"""The audit's per-event shortcuts give exactly what the straightforward code gives.

- `check_event` runs the rules settled once per pack and event type (`policies.rules._plan`): on every context the
  audit builds for random histories, its findings (or its error) equal those of the straightforward engine kept
  below — every registered gate, then every check, each skipped when the pack does not enforce its rule, a
  violation of a rule the pack does not carry dropped, the first refusing gate ending it — and `checks_for` equals
  its definition.
- The context `rule_context` builds without the dataclass constructor equals the constructed one, field for field,
  and the stage statuses it hands the rules (a shared read-only view) equal `CaseState.statuses`.
- The local date of a stored moment, converted once per UTC date, equals the zone conversion of every moment, across
  the zone's offset changes (Asia/Shanghai's local mean time until 1901, its summer times of 1919–1949 and
  1986–1991), and a `recorded_at` not in the stored form fails as it did.
- LIM-01's limits, remembered per pack, still refuse a broken pack each time they are asked.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_replay_equivalence import FACTS, histories, long_history, make_events

from flows.usecases.recorded_on import recorded_on
from flows.usecases.clock import local_date
from flows.usecases.moments import WorkspaceTimeline, key_of, rule_context
from flows.usecases.unit_of_work import pack_of
from models.state import evolve, launch_state, record_of
from models.store import parse_utc, utc_text
from policies.errors import BadInput
from policies.findings import Finding
from policies.limits import payload_limits
from policies.pack import PolicyPack, load_pack, pack_data, pack_from_data
from policies.rules import _CHECKS, _GATES, RuleContext, check_event, checks_for, enforced, new_context, to_finding


# --- the rule engine as it was written before its plans were cached ------------------------------------------------


def _run(ctx: RuleContext, checks: Any) -> Iterator[Finding]:
    for rule, fn in checks:
        if not enforced(ctx.pack, rule):
            continue
        for v in fn(ctx):
            if v.rule in ctx.pack.rules:
                yield to_finding(ctx.pack, v)


def _gates_for(event: str) -> list[tuple[str, Any]]:
    return [(rule, fn) for rule, fn, events in _GATES if events is None or event in events]


def ref_check_event(ctx: RuleContext) -> list[Finding]:
    for rule, fn in _gates_for(ctx.event):
        found = list(_run(ctx, ((rule, fn),)))
        if found:
            return found
    return list(_run(ctx, _CHECKS.get(ctx.event, ())))


def ref_checks_for(event: str, pack: PolicyPack) -> list[str]:
    rules = [rule for rule, _ in _gates_for(event)] + [rule for rule, _ in _CHECKS.get(event, ())]
    return [r for r in dict.fromkeys(rules) if enforced(pack, r)]


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 — the outcome, whatever it is, is what is compared
        return type(exc).__name__, str(exc)


def check_history(history: Any) -> None:
    steps, flags, policy = history
    events = make_events(steps, flags, policy)
    timeline = WorkspaceTimeline(FACTS)
    state = launch_state(events[0])
    pack = pack_of(state)
    for i, ev in enumerate(events):
        before = state
        if i:
            state = evolve(state, ev)
        if ev.type == "attempt-refused":
            continue
        judged = state if i == 0 else before
        payload = record_of(ev).payload
        ctx, _ = rule_context(event=ev.type, payload=payload, state=judged, pack=pack, role=ev.role, actor=ev.actor,
                              today=local_date(ev.moment), key=key_of(ev), timeline=timeline, load_case=lambda c: ())
        built = RuleContext(event=ev.type, payload=payload, case=judged, pack=pack, calendar=ctx.calendar,
                            role=ev.role, today=local_date(ev.moment), statuses=judged.statuses(pack), actor=ev.actor,
                            linked=ctx.linked, standing=ctx.standing)
        assert ctx == built
        assert dict(ctx.statuses) == judged.statuses(pack)
        assert outcome(check_event, ctx) == outcome(ref_check_event, ctx)
        assert checks_for(ev.type, pack) == ref_checks_for(ev.type, pack)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_check_event_finds_what_running_every_registered_rule_finds(history: Any) -> None:
    check_history(history)


@pytest.mark.parametrize("seed", range(8))
def test_check_event_on_long_random_histories_finds_what_every_registered_rule_finds(seed: int) -> None:
    check_history(long_history(seed))


def test_checks_for_every_event_type_and_pack_is_its_definition() -> None:
    for pack in (load_pack("cn-2019"), load_pack("sanya-2022"), load_pack("cn-2019@1")):
        for event in sorted(set(_CHECKS) | set(pack.data["roles"])):
            assert checks_for(event, pack) == ref_checks_for(event, pack)


def test_a_context_built_without_the_constructor_is_the_constructed_one() -> None:
    values = {f.name: object() for f in fields(RuleContext)}
    fast = new_context(**values)
    assert fast == RuleContext(**values)
    assert vars(fast) == vars(RuleContext(**values))
    with pytest.raises(AttributeError):
        fast.event = "x"  # type: ignore[misc]


# --- the stage statuses the rules read ---------------------------------------------------------------------------


def test_the_statuses_the_rules_read_are_a_read_only_view_and_states_still_copy_and_pickle() -> None:
    events = make_events([(i % 7, False) for i in range(40)], frozenset({"exploratory"}))
    state = launch_state(events[0])
    pack = pack_of(state)
    for ev in events[1:]:
        state = evolve(state, ev)
        view = state.status_view(pack)
        assert dict(view) == state.statuses(pack)
        with pytest.raises(TypeError):
            view["legality_review"] = None  # type: ignore[index]
        mine = state.statuses(pack)
        mine.clear()  # a caller's copy is its own
        assert dict(state.status_view(pack)) == state.statuses(pack) != {}
    for clone in (copy.copy(state), copy.deepcopy(state), pickle.loads(pickle.dumps(state))):
        assert clone == state
        assert clone.statuses(pack) == state.statuses(pack)


# --- the local date of a stored moment ---------------------------------------------------------------------------


class _Stored:
    """What `recorded_on` reads of a stored event."""

    def __init__(self, recorded_at: str) -> None:
        self.recorded_at = recorded_at

    @property
    def moment(self) -> datetime:
        return parse_utc(self.recorded_at)


def same_local_date(text: str) -> None:
    assert outcome(recorded_on, _Stored(text)) == outcome(lambda: local_date(parse_utc(text)))


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2200, 1, 1)))
def test_the_local_date_of_any_stored_moment_is_the_zone_conversion(moment: datetime) -> None:
    same_local_date(utc_text(moment.replace(tzinfo=timezone.utc)))


@pytest.mark.parametrize("years", [(1900, 1902), (1919, 1920), (1940, 1950), (1986, 1992), (2024, 2027)])
def test_the_local_date_around_every_local_midnight_and_offset_change_is_the_zone_conversion(years: tuple[int, int]) -> None:
    day = date(years[0], 1, 1)
    while day.year < years[1]:
        start = datetime.combine(day, time(0), timezone.utc)
        probes = [start + timedelta(hours=h) for h in range(0, 24, 3)]
        for local_midnight in (14, 15, 16, 17):  # UTC hours around Asia/Shanghai's midnight (+8, +9, +8:05:43)
            at = start + timedelta(hours=local_midnight)
            probes += [at - timedelta(minutes=10), at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)]
        probes.append(start + timedelta(days=1) - timedelta(microseconds=1))
        for moment in probes:
            same_local_date(utc_text(moment))
        day += timedelta(days=1)


@pytest.mark.parametrize("text", [
    "2026-03-04T24:00:00.000000Z", "2026-03-04T23:60:00.000000Z", "2026-03-04T23:59:60.000000Z",
    "2026-02-30T10:00:00.000000Z", "2026-03-04T10:00:00Z", "2026-03-04 10:00:00.000000Z", "2026-03-04T10:00:00.000000",
])
def test_a_recorded_at_not_in_the_stored_form_fails_as_it_did(text: str) -> None:
    same_local_date("2026-03-04T01:00:00.000000Z")  # the date seen first, and remembered
    same_local_date(text)


# --- LIM-01's limits ---------------------------------------------------------------------------------------------


def test_a_pack_with_a_broken_limit_is_refused_every_time_its_limits_are_asked() -> None:
    data = copy.deepcopy(pack_data("cn-2019"))
    data["params"]["payload_max_depth"] = {"value": 0}
    broken = pack_from_data(data)
    for _ in range(2):
        with pytest.raises(BadInput, match="payload_max_depth"):
            payload_limits(broken)
    good = load_pack("cn-2019")
    assert payload_limits(good) == payload_limits(good)


def test_a_day_decoded_while_a_test_froze_time_is_a_real_date_afterwards() -> None:
    """The decoder remembers the days it parsed (models/payload_decode.py, `_DAYS`): one parsed while freezegun had
    swapped the date class must still be a real `date` when handed out later, as pydantic's path gives."""
    from datetime import date as real_date

    from freezegun import freeze_time

    from models.payload_decode import decode_payload, payload_values

    payload = {"reported_on": "2031-07-09", "unit": "市住建局", "status": "第3次执行情况报告"}
    with freeze_time("2031-07-10"):
        decode_payload("execution-reported", payload)
    later = decode_payload("execution-reported", payload)["reported_on"]
    assert type(later) is real_date and later == real_date(2031, 7, 9)
    assert type(payload_values("execution-reported", payload)["reported_on"]) is real_date


# --- LIM-01's depth, known from the shape ------------------------------------------------------------------------


def test_a_payload_decoded_by_its_shape_nests_no_deeper_than_the_shape_says() -> None:
    """`decode_bounded` gives the shape's depth only when the plan decoded the payload; every recorded type's example,
    in its stored form, nests exactly that deep at most (`value_depth`), and the model's path knows no depth."""
    from models.events import ENGINE_EVENTS, EVENT_TYPES
    from models.payload_decode import decode_bounded
    from models.payload_plan import PLAN
    from policies.limits import value_depth

    tight = 0
    for event, model in EVENT_TYPES.items():
        if event in ENGINE_EVENTS or PLAN.get(event) is None or model.example is None:
            continue
        stored = model.model_validate(model.example).model_dump(mode="json", by_alias=True)
        values, bound = decode_bounded(event, stored)
        assert values == model.model_validate(stored).model_dump(by_alias=True), event
        assert bound is not None and value_depth(stored) <= bound, (event, bound, value_depth(stored))
        tight += value_depth(stored) == bound
        try:  # a field the shape does not have: the model ignores it (no depth known) or refuses the payload
            assert decode_bounded(event, {**stored, "not_a_field": [[[[]]]]})[1] is None, event
        except ValueError:
            pass
    assert tight >= 20  # most examples fill their shape's deepest field


def test_within_bounds_counts_the_brackets_unless_the_depth_is_known_within_the_limit() -> None:
    from policies.limits import PayloadLimits, within_bounds

    limits = PayloadLimits(max_bytes=1000, max_depth=3)
    nested = b'{"a":[[[[1]]]]}'
    assert not within_bounds(nested, limits)  # 5 brackets counted: might be over
    assert within_bounds(nested, limits, 3)  # known to nest 3 levels at most
    assert not within_bounds(nested, limits, 4)  # known bound over the limit: counted
    assert not within_bounds(b"{" + b" " * 1000 + b"}", limits, 1)  # the size is always checked

"""`record` checks a new payload without pydantic when it can (models/payload_decode.py `check_new`): the body it
stores, the values the rules read and the dates it holds to today must be exactly what the model gives
(`model_dump(mode="json")`, `model_dump()`, `dates_in`), and whatever the model refuses it must not accept — it hands
it to the model, whose errors name the fields."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.events import EVENT_TYPES, dates_in
from models.payload_decode import check_new
from models.payload_plan import NEW
from test_replay_equivalence import NOT_VALIDATED_FORM, examples, same


def compare(event_type: str, raw: Any) -> str:
    """'fast' when check_new took it (and agreed with the model), 'model' when it handed it on."""
    try:
        model = EVENT_TYPES[event_type].model_validate(copy.deepcopy(raw))
    except ValidationError:
        model = None
    got = check_new(event_type, copy.deepcopy(raw)) if isinstance(raw, dict) else None
    if got is None:
        return "model"
    assert model is not None, f"check_new accepted what the model refuses: {event_type} {raw!r}"
    same(got.body, model.model_dump(mode="json", by_alias=True))
    same(got.values, model.model_dump(by_alias=True))
    same(got.dated, dates_in(model))
    return "fast"


@pytest.mark.parametrize(("event_type", "label", "raw"), examples(), ids=[f"{n}-{l}" for n, l, _ in examples()])
def test_examples_as_written_check_like_the_model(event_type: str, label: str, raw: dict[str, Any]) -> None:
    compare(event_type, raw)


# Events a clerk records every week, whose examples leave out only top-level defaults: they must take the fast path
# (or the comparisons above would compare nothing). A nested object that leaves out a default goes to the model.
COMMON = ("execution-reported", "consultation-opened", "risk-assessed", "party-reported", "expert-review-concluded",
          "legality-opinion-answered", "public-feedback-received", "participation-concluded")


@pytest.mark.parametrize("event_type", COMMON)
def test_common_events_take_the_fast_path(event_type: str) -> None:
    assert NEW[event_type] is not None
    assert compare(event_type, EVENT_TYPES[event_type].example) == "fast"


@pytest.mark.parametrize(("event_type", "payload"), NOT_VALIDATED_FORM)
def test_payloads_not_in_validated_form_are_left_to_the_model(event_type: str, payload: Any) -> None:
    assert compare(event_type, payload) == "model"


def test_a_payload_leaving_out_defaults_is_filled_as_the_model_fills_it() -> None:
    raw = {"decided_on": "2025-10-01", "reason": "已于2024年就同一事项开展评估", "reused_report_sha256": "a" * 64}
    if "risk-assessment-reused" in EVENT_TYPES and compare("risk-assessment-reused", raw) == "model":
        raw = copy.deepcopy(EVENT_TYPES["risk-assessment-reused"].example)
        raw.pop("controllable", None)
    assert compare("risk-assessment-reused", raw) == "fast"
    got = check_new("risk-assessment-reused", raw)
    assert got is not None and "controllable" in got.body


@settings(max_examples=300, deadline=None)
@given(unit=st.text(max_size=12), status=st.text(max_size=12),
       day=st.one_of(st.dates(min_value=date(1, 1, 1)).map(date.isoformat), st.text(max_size=12)),
       count=st.one_of(st.integers(), st.booleans(), st.text(max_size=3), st.none()))
def test_fuzzed_payloads_check_like_the_model(unit: str, status: str, day: str, count: Any) -> None:
    compare("execution-reported", {"reported_on": day, "unit": unit, "status": status})
    compare("public-feedback-received", {"received_on": day, "channel": "hotline-12345", "count": count, "summary": status})

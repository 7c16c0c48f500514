"""The working-day calendar (CAL-01 to CAL-05), as the rule book's worked examples W1–W3 pin it down.

Pure: the calendar is built from the notices shipped with juece, with no workspace and no clock.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.usecases.calendars import calendar_for, shipped_notices
from flows.usecases.workspace import WorkspaceFacts
from policies.calendar import WorkingDayCalendar, parse_notice
from policies.errors import BadInput, CalendarNotLoaded

# the cross-checked reference data, read through ../shared relative to the project root (never a machine's path)
SHARED_NOTICES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cn-holiday-notices-2025-2026.json"

CAL = WorkingDayCalendar.from_notices(parse_notice(n) for n in shipped_notices())
CAL_WITHOUT_MAKEUP_DAYS = WorkingDayCalendar.from_notices(
    (parse_notice(n) for n in shipped_notices()), count_makeup_days=False
)
LOADED_FIRST, LOADED_LAST = date(2025, 1, 1), date(2026, 12, 31)


def working_days_in(first_excluded: date, last_included: date) -> list[date]:
    """The working days in (first_excluded, last_included], counted one day at a time."""
    days = []
    d = first_excluded + timedelta(days=1)
    while d <= last_included:
        if CAL.is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def good_notice(**changes: Any) -> dict[str, Any]:
    """A valid notice for 2025, with top-level fields replaced."""
    data = {
        "year": 2025,
        "notice": "国务院办公厅关于2025年部分节假日安排的通知",
        "source": "test fixture",
        "rest_blocks": [{"name": "国庆节、中秋节", "from": "2025-10-01", "to": "2025-10-08"}],
        "makeup_working_days": ["2025-09-28", "2025-10-11"],
    }
    data.update(changes)
    return data


# --- the worked examples --------------------------------------------------------------------------------------


def test_w1_the_seventh_working_day_after_a_submission_on_2025_09_29_is_2025_10_15():
    assert working_days_in(date(2025, 9, 29), date(2025, 10, 15)) == [
        date(2025, 9, 30),
        date(2025, 10, 9),
        date(2025, 10, 10),
        date(2025, 10, 11),
        date(2025, 10, 13),
        date(2025, 10, 14),
        date(2025, 10, 15),
    ]
    assert CAL.add_working_days(date(2025, 9, 29), 7) == date(2025, 10, 15)
    assert CAL.working_days_between(date(2025, 9, 29), date(2025, 10, 15)) == 7
    assert CAL.working_days_between(date(2025, 9, 29), date(2025, 10, 16)) == 8


def test_w2_a_thirty_day_consultation_published_2025_09_01_ends_on_2025_10_09():
    period = CAL.period_end(date(2025, 9, 1), 30)
    assert period.nominal_last_day == date(2025, 10, 1)
    assert not CAL.is_working_day(date(2025, 10, 1))
    assert period.last_day == date(2025, 10, 9)
    assert period.extended


def test_w3_hearing_materials_for_2026_02_26_are_due_2026_02_19_and_the_suggested_day_is_2026_02_14():
    deadline = CAL.backward_deadline(date(2026, 2, 26), 7)
    assert deadline.due == date(2026, 2, 19)
    assert deadline.due_is_rest_day
    assert deadline.suggested == date(2026, 2, 14)


@pytest.mark.parametrize("day", [date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 14)])
def test_a_make_up_weekend_day_is_a_working_day(day: date):
    assert day.weekday() >= 5
    assert CAL.is_makeup_day(day)
    assert CAL.is_working_day(day)


def test_a_period_across_the_year_boundary_ends_on_the_make_up_sunday_2026_01_04():
    period = CAL.period_end(date(2025, 12, 2), 30)
    assert period.nominal_last_day == date(2026, 1, 1)
    assert period.last_day == date(2026, 1, 4)
    assert period.last_day.weekday() == 6


# --- counting (CAL-01, CAL-02) --------------------------------------------------------------------------------


def test_counting_working_days_starts_the_day_after_the_trigger():
    assert CAL.add_working_days(date(2025, 9, 29), 1) == date(2025, 9, 30)
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_a_submission_on_a_holiday_still_counts_from_the_next_day():
    assert not CAL.is_working_day(date(2025, 10, 3))
    assert CAL.add_working_days(date(2025, 10, 3), 1) == date(2025, 10, 9)


def test_a_calendar_day_period_starts_the_day_after_the_trigger():
    assert CAL.period_end(date(2025, 9, 1), 1).nominal_last_day == date(2025, 9, 2)
    assert CAL.period_end(date(2025, 9, 1), 1).last_day == date(2025, 9, 2)


def test_a_period_ending_on_a_working_day_is_not_extended():
    period = CAL.period_end(date(2025, 10, 15), 30)
    assert period.nominal_last_day == date(2025, 11, 14)
    assert period.last_day == date(2025, 11, 14)
    assert not period.extended


def test_a_period_ending_on_a_plain_weekend_runs_to_monday():
    period = CAL.period_end(date(2025, 10, 16), 30)  # day 30 is Sat 2025-11-15
    assert period.nominal_last_day == date(2025, 11, 15)
    assert period.last_day == date(2025, 11, 17)


# --- backward deadlines (CAL-04) ------------------------------------------------------------------------------


def test_a_backward_deadline_on_a_holiday_is_not_moved():
    deadline = CAL.backward_deadline(date(2025, 10, 8), 7)
    assert deadline.due == date(2025, 10, 1)
    assert deadline.due_is_rest_day
    assert deadline.suggested == date(2025, 9, 30)


def test_a_backward_deadline_on_a_working_day_suggests_that_day():
    deadline = CAL.backward_deadline(date(2025, 9, 26), 7)
    assert deadline.due == date(2025, 9, 19)
    assert not deadline.due_is_rest_day
    assert deadline.suggested == date(2025, 9, 19)


# --- the count_makeup_days switch (CAL-01 CFG) ----------------------------------------------------------------


def test_with_make_up_days_not_counted_a_make_up_saturday_is_a_rest_day():
    assert CAL_WITHOUT_MAKEUP_DAYS.is_makeup_day(date(2025, 10, 11))
    assert not CAL_WITHOUT_MAKEUP_DAYS.is_working_day(date(2025, 10, 11))
    assert CAL_WITHOUT_MAKEUP_DAYS.add_working_days(date(2025, 9, 29), 7) == date(2025, 10, 16)


def test_with_make_up_days_not_counted_the_year_boundary_period_runs_to_monday_2026_01_05():
    assert CAL_WITHOUT_MAKEUP_DAYS.period_end(date(2025, 12, 2), 30).last_day == date(2026, 1, 5)


def test_the_workspace_calendar_counts_make_up_days_unless_switched_off():
    facts = WorkspaceFacts(clock="system", simulated_now=None, calendar_notices=(), events=())
    assert calendar_for(facts).is_working_day(date(2026, 2, 14))
    assert not calendar_for(facts, count_makeup_days=False).is_working_day(date(2026, 2, 14))


# --- CAL-05: no guessing outside the loaded years -------------------------------------------------------------

OPERATIONS: dict[str, Callable[[date], Any]] = {
    "is_working_day": lambda d: CAL.is_working_day(d),
    "is_makeup_day": lambda d: CAL.is_makeup_day(d),
    "add_working_days": lambda d: CAL.add_working_days(d, 7),
    "working_days_between": lambda d: CAL.working_days_between(d, d + timedelta(days=10)),
    "period_end": lambda d: CAL.period_end(d, 30),
    "backward_deadline": lambda d: CAL.backward_deadline(d, 7),
    "next_working_day_on_or_after": lambda d: CAL.next_working_day_on_or_after(d),
    "last_working_day_on_or_before": lambda d: CAL.last_working_day_on_or_before(d),
}


def assert_cal05(exc: CalendarNotLoaded, year: int) -> None:
    assert exc.exit_code == 3
    assert exc.code == "CAL-05"
    (finding,) = exc.findings
    assert finding.rule == "CAL-05"
    assert finding.enforcement == "HARD"
    assert str(year) in finding.message


@pytest.mark.parametrize("day", [date(2024, 6, 14), date(2024, 12, 20), date(2027, 1, 15), date(2027, 6, 15)])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_any_date_in_a_year_without_a_loaded_notice_is_refused_with_cal_05(operation: str, day: date):
    with pytest.raises(CalendarNotLoaded) as exc:
        OPERATIONS[operation](day)
    assert_cal05(exc.value, day.year)


def test_a_consultation_that_starts_in_2026_but_ends_in_2027_is_refused_with_cal_05():
    with pytest.raises(CalendarNotLoaded) as exc:
        CAL.period_end(date(2026, 12, 15), 30)
    assert_cal05(exc.value, 2027)


def test_a_working_day_count_that_runs_from_2026_into_2027_is_refused_with_cal_05():
    with pytest.raises(CalendarNotLoaded) as exc:
        CAL.add_working_days(date(2026, 12, 28), 7)
    assert_cal05(exc.value, 2027)


def test_a_count_that_stays_inside_2026_near_the_year_end_is_computed():
    assert CAL.add_working_days(date(2026, 12, 28), 3) == date(2026, 12, 31)


# --- parse_notice refuses bad data, naming the field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"makeup_working_days": ["2025-09-28", "2025-10-13"]}, "makeup_working_days[1]"),
        ({"makeup_working_days": ["2025/10/11"]}, "makeup_working_days[0]"),
        ({"makeup_working_days": ["2026-01-04"]}, "makeup_working_days[0]"),
        ({"makeup_working_days": ["2025-10-04"]}, "makeup_working_days[0]"),
        ({"rest_blocks": [{"name": "元旦", "from": "2026-01-01", "to": "2026-01-03"}]}, "rest_blocks[0]"),
        ({"rest_blocks": [{"name": "跨年", "from": "2025-12-31", "to": "2026-01-01"}]}, "rest_blocks[0]"),
        ({"rest_blocks": [{"name": "国庆节", "from": "2025-10-08", "to": "2025-10-01"}]}, "rest_blocks[0]"),
        ({"rest_blocks": [{"name": "国庆节", "from": "2025-10-1", "to": "2025-10-08"}]}, "rest_blocks[0].from"),
        ({"rest_blocks": [{"name": "国庆节", "from": "2025-10-01", "to": "2025-02-30"}]}, "rest_blocks[0].to"),
        ({"year": "2025"}, "year"),
        ({"source": "  "}, "source"),
    ],
    ids=[
        "weekday-as-make-up-day",
        "make-up-day-bad-format",
        "make-up-day-other-year",
        "make-up-day-inside-a-rest-block",
        "block-outside-the-year",
        "block-crossing-the-year",
        "from-after-to",
        "block-bad-format",
        "block-impossible-date",
        "year-not-a-number",
        "no-source",
    ],
)
def test_a_notice_with_bad_data_is_refused_naming_the_field(changes: dict[str, Any], field: str):
    with pytest.raises(BadInput) as exc:
        parse_notice(good_notice(**changes))
    assert exc.value.exit_code == 2
    assert exc.value.details["field"] == field
    assert field in exc.value.message


def test_a_good_notice_is_accepted():
    notice = parse_notice(good_notice())
    assert notice.year == 2025
    assert notice.makeup_working_days == frozenset({date(2025, 9, 28), date(2025, 10, 11)})


# --- the loaded data match the reference data day by day ------------------------------------------------------


def reference_notices() -> dict[str, Any]:
    if not SHARED_NOTICES.is_file():
        pytest.skip(f"the reference holiday data {SHARED_NOTICES} is not there")
    return json.loads(SHARED_NOTICES.read_text(encoding="utf-8"))["years"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_loaded_calendar_matches_the_reference_notices_day_by_day(year: int):
    reference = reference_notices()[str(year)]
    rest: set[date] = set()
    for block in reference["rest_blocks"]:
        d, last = date.fromisoformat(block["from"]), date.fromisoformat(block["to"])
        while d <= last:
            rest.add(d)
            d += timedelta(days=1)
    makeup = {date.fromisoformat(d) for d in reference["makeup_working_days"]}
    mismatches = []
    d = date(year, 1, 1)
    while d.year == year:
        expected = d in makeup or (d.weekday() < 5 and d not in rest)
        if CAL.is_working_day(d) != expected or CAL.is_makeup_day(d) != (d in makeup):
            mismatches.append(d.isoformat())
        d += timedelta(days=1)
    assert mismatches == []
    listed = CAL.year_days(year)
    assert {d for d, kind, _ in listed if kind == "rest"} == rest
    assert {d for d, kind, _ in listed if kind == "makeup-working-day"} == makeup


# --- properties -----------------------------------------------------------------------------------------------

loaded_dates = st.dates(min_value=LOADED_FIRST, max_value=LOADED_LAST)


@settings(max_examples=150, deadline=None)
@given(start=loaded_dates, n=st.integers(min_value=1, max_value=30))
def test_the_nth_working_day_after_a_date_is_a_working_day_with_exactly_n_working_days_up_to_it(start: date, n: int):
    remaining_in_2026 = len(working_days_in(start, LOADED_LAST))
    if remaining_in_2026 < n:
        # Counting must run into 2027, whose notice is not loaded: refused, never guessed.
        with pytest.raises(CalendarNotLoaded) as exc:
            CAL.add_working_days(start, n)
        assert_cal05(exc.value, 2027)
        return
    result = CAL.add_working_days(start, n)
    assert result > start
    assert CAL.is_working_day(result)
    assert len(working_days_in(start, result)) == n


@settings(max_examples=150, deadline=None)
@given(start=loaded_dates, days=st.integers(min_value=1, max_value=60))
def test_a_period_ends_on_the_first_working_day_on_or_after_its_nominal_last_day(start: date, days: int):
    nominal = start + timedelta(days=days)
    last_working_day_2026 = CAL.last_working_day_on_or_before(LOADED_LAST)
    if nominal > last_working_day_2026:
        with pytest.raises(CalendarNotLoaded) as exc:
            CAL.period_end(start, days)
        assert_cal05(exc.value, 2027)
        return
    period = CAL.period_end(start, days)
    assert period.nominal_last_day == nominal
    assert period.last_day >= nominal
    assert CAL.is_working_day(period.last_day)
    d = nominal
    while d < period.last_day:
        assert not CAL.is_working_day(d), f"{d} is a working day inside the extension of the period"
        d += timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(event_day=st.dates(min_value=date(2025, 1, 9), max_value=LOADED_LAST), days=st.integers(min_value=1, max_value=7))
def test_a_backward_deadline_is_never_moved_and_its_suggestion_is_the_last_working_day_on_or_before_it(
    event_day: date, days: int
):
    due = event_day - timedelta(days=days)  # on or after 2025-01-02, a working day, so the suggestion stays in 2025
    deadline = CAL.backward_deadline(event_day, days)
    assert deadline.due == due
    assert deadline.due_is_rest_day == (not CAL.is_working_day(due))
    assert deadline.suggested <= due
    assert CAL.is_working_day(deadline.suggested)
    between = [deadline.suggested + timedelta(days=i) for i in range(1, (due - deadline.suggested).days + 1)]
    assert not any(CAL.is_working_day(d) for d in between)

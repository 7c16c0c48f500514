"""The Asia/Shanghai date a stored event was recorded on — the `today` its rules were given, which the audit gives
them again — with one zone conversion per UTC date rather than one per event (the audit asks for every event).

Through a UTC date at one UTC offset (its first and last microsecond at the same offset: a zone's offset changes at
most once a day), the local date changes at most once, at the UTC time of local midnight: before it the date of the
first microsecond, from it that of the last. A UTC date whose offset changes, or a `recorded_at` not in the stored
form, is converted event by event, `local_date(ev.moment)`, as the audit did for every event before.
tests/test_verify_fast_paths.py compares the two across Asia/Shanghai's offset changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flows.usecases.clock import LOCAL, local_date
from models.store import StoredEvent, utc_day, utc_text

# UTC date -> what `_one_offset_day` says of it: a pure function of the date and the zone, shared by every audit
_DAYS: dict[str, tuple[date, str, date] | None] = {}
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


def recorded_on(ev: StoredEvent) -> date:
    """`local_date(ev.moment)`: the local date of the moment `ev` was recorded."""
    text = ev.recorded_at
    day = utc_day(text)
    if day is not None:
        if day not in _DAYS:
            if len(_DAYS) >= 100_000:
                _DAYS.clear()
            _DAYS[day] = _one_offset_day(ev.moment)  # parse_utc vouches for the date
        known = _DAYS[day]
        if known is not None:
            before, switch, after = known
            return before if text[11:] < switch else after
    return local_date(ev.moment)


def _one_offset_day(moment: datetime) -> tuple[date, str, date] | None:
    """For the UTC date of `moment`: (the local date at its start, the stored time of day from which the local date
    is the next one, that next date), or None when the offset changes that day."""
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    first, last = start.astimezone(LOCAL), (start + _DAY - _TICK).astimezone(LOCAL)
    offset = first.utcoffset()
    if offset is None or offset != last.utcoffset():
        return None
    if first.date() == last.date():
        return first.date(), "~", first.date()  # no stored time of day reaches "~": the same date all day
    midnight = datetime.combine(last.date(), datetime.min.time(), timezone(offset)).astimezone(timezone.utc)
    if last.date() - first.date() != _DAY or midnight.date() != start.date():
        return None
    return first.date(), utc_text(midnight)[11:], last.date()

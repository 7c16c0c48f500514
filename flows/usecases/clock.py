"""The one place the clock is read. Everything below receives dates as values; a simulated workspace's clock is
the time its `@workspace` stream was last set to."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flows.usecases.workspace import WorkspaceFacts

LOCAL = ZoneInfo("Asia/Shanghai")


def system_now() -> datetime:
    """The machine's time, aware, UTC (freezegun freezes this)."""
    return datetime.now(timezone.utc)


def now(facts: WorkspaceFacts) -> datetime:
    """The workspace's current moment: the simulated clock if it has one, else the system clock."""
    if facts.clock == "simulated" and facts.simulated_now is not None:
        return facts.simulated_now
    return system_now()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of a moment."""
    return moment.astimezone(LOCAL).date()


def parse_moment(text: str, *, field: str) -> datetime:
    """Parse a user's DATETIME (ISO 8601; a date alone means 00:00 Asia/Shanghai; no zone means Asia/Shanghai)."""
    from policies.errors import BadInput

    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{field}: {text!r} is not a date-time such as 2025-09-01T09:00+08:00", field=field) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    try:  # a moment that is no moment in UTC or Beijing time (9999-12-31T23:00-12:00 is in the year 10000 there)
        moment.astimezone(timezone.utc).astimezone(LOCAL)
    except OverflowError as exc:
        raise BadInput(f"{field}: {text!r} is outside the years 1 to 9999 in UTC or Asia/Shanghai time",
                       field=field) from exc
    return moment

"""The official working-day calendar (CAL-01 to CAL-05), built from the State Council's annual holiday notices.

A working day (工作日) is a Monday to Friday outside every rest block (放假) of the year's notice, or a weekend day the
notice designates as a make-up working day (调休上班). The notices are data, one file per year; a date in a year
without a loaded notice is refused (CAL-05), never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from policies.errors import BadInput, CalendarNotLoaded
from policies.findings import Finding

CAL05_ARTICLE = "国务院办公厅年度节假日安排通知 (annual State Council holiday notice)"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso(value: Any, where: str) -> date:
    if not isinstance(value, str) or not _ISO.match(value):
        raise BadInput(f"{where}: expected a date written YYYY-MM-DD, got {value!r}", field=where)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{where}: {value!r} is not a calendar date", field=where) from exc


@dataclass(frozen=True)
class RestBlock:
    """One 放假 block of a notice, every calendar day from `first` to `last` inclusive."""

    name: str
    first: date
    last: date


@dataclass(frozen=True)
class YearNotice:
    """One year's holiday notice (or a local overlay): rest blocks and make-up working days, with its source."""

    year: int
    notice: str
    source: str
    rest_blocks: tuple[RestBlock, ...]
    makeup_working_days: frozenset[date]
    kind: str = "state-council-notice"
    issued_on: date | None = None

    def to_json(self) -> dict[str, Any]:
        """The notice as the JSON it is loaded from."""
        return {
            "year": self.year,
            "kind": self.kind,
            "notice": self.notice,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "source": self.source,
            "rest_blocks": [
                {"name": b.name, "from": b.first.isoformat(), "to": b.last.isoformat()} for b in self.rest_blocks
            ],
            "makeup_working_days": sorted(d.isoformat() for d in self.makeup_working_days),
        }


def _required_text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name}: the notice's title and the source it was read from are required", field=name)
    return value


def parse_notice(data: Mapping[str, Any]) -> YearNotice:
    """Validate one year's notice data; every problem is a `BadInput` naming the field."""
    if not isinstance(data, Mapping):
        raise BadInput("a calendar file must hold one JSON object", field="(root)")
    year = data.get("year")
    if not isinstance(year, int) or not 1990 <= year <= 2200:
        raise BadInput(f"year: expected a year such as 2027, got {year!r}", field="year")
    notice, source = _required_text(data, "notice"), _required_text(data, "source")
    blocks = []
    for i, raw in enumerate(data.get("rest_blocks") or []):
        where = f"rest_blocks[{i}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise BadInput(f"{where}: expected {{name, from, to}}", field=where)
        first, last = _iso(raw.get("from"), f"{where}.from"), _iso(raw.get("to"), f"{where}.to")
        if first > last:
            raise BadInput(f"{where}: from {first} is after to {last}", field=where)
        if first.year != year or last.year != year:
            raise BadInput(f"{where}: {first}..{last} is not inside {year}", field=where)
        blocks.append(RestBlock(raw["name"], first, last))
    makeup = set()
    for i, raw in enumerate(data.get("makeup_working_days") or []):
        where = f"makeup_working_days[{i}]"
        d = _iso(raw, where)
        if d.year != year:
            raise BadInput(f"{where}: {d} is not in {year}", field=where)
        if d.weekday() < 5:
            raise BadInput(f"{where}: {d} is a weekday; a make-up working day (调休上班) is a weekend day", field=where)
        if any(b.first <= d <= b.last for b in blocks):
            raise BadInput(f"{where}: {d} lies inside a rest block", field=where)
        makeup.add(d)
    issued = data.get("issued_on")
    return YearNotice(
        year=year,
        notice=notice.strip(),
        source=source.strip(),
        rest_blocks=tuple(sorted(blocks, key=lambda b: b.first)),
        makeup_working_days=frozenset(makeup),
        kind=str(data.get("kind") or "state-council-notice"),
        issued_on=_iso(issued, "issued_on") if issued else None,
    )


@dataclass(frozen=True)
class PeriodEnd:
    """A forward period in calendar days (CAL-02), and its last day once extended past rest days (CAL-03)."""

    start: date
    days: int
    nominal_last_day: date
    last_day: date

    @property
    def extended(self) -> bool:
        """True when the nominal last day was a rest day and the period runs on (民法典 art. 203)."""
        return self.last_day != self.nominal_last_day


@dataclass(frozen=True)
class BackwardDeadline:
    """A 'N日前' deadline counted back from an event (CAL-04); never moved, but flagged when it is a rest day."""

    event_day: date
    days: int
    due: date
    due_is_rest_day: bool
    suggested: date


@dataclass(frozen=True)
class WorkingDayCalendar:
    """The working-day calendar over the loaded years; `count_makeup_days` is the CAL-01 CFG switch (default true)."""

    notices: Mapping[int, YearNotice]
    count_makeup_days: bool = True
    _rest: frozenset[date] = field(init=False, repr=False, compare=False)
    _makeup: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rest: set[date] = set()
        makeup: set[date] = set()
        for n in self.notices.values():
            for b in n.rest_blocks:
                rest.update(b.first + timedelta(days=i) for i in range((b.last - b.first).days + 1))
            makeup.update(n.makeup_working_days)
        object.__setattr__(self, "_rest", frozenset(rest))
        object.__setattr__(self, "_makeup", frozenset(makeup))

    @classmethod
    def from_notices(cls, notices: Iterable[YearNotice], *, count_makeup_days: bool = True) -> "WorkingDayCalendar":
        """Build a calendar; where two files give the same year, the later one wins (a corrected notice)."""
        by_year: dict[int, YearNotice] = {}
        overlays: list[YearNotice] = []
        for n in notices:
            if n.kind == "local-overlay":
                overlays.append(n)
            else:
                by_year[n.year] = n
        merged = dict(by_year)
        for o in overlays:
            base = merged.get(o.year)
            if base is None:
                continue  # an overlay never makes a year without a State Council notice computable
            merged[o.year] = YearNotice(
                year=base.year,
                notice=f"{base.notice}; {o.notice}",
                source=f"{base.source}; {o.source}",
                rest_blocks=base.rest_blocks + o.rest_blocks,
                makeup_working_days=base.makeup_working_days | o.makeup_working_days,
                kind=base.kind,
                issued_on=base.issued_on,
            )
        return cls(notices=merged, count_makeup_days=count_makeup_days)

    @property
    def years(self) -> list[int]:
        """The years with a loaded notice."""
        return sorted(self.notices)

    def require(self, d: date) -> None:
        """Refuse (CAL-05) a date in a year whose holiday notice is not loaded."""
        if d.year not in self.notices:
            loaded = ", ".join(str(y) for y in self.years) or "none"
            finding = Finding(
                rule="CAL-05",
                article=CAL05_ARTICLE,
                enforcement="HARD",
                message=(
                    f"{d.isoformat()} falls in {d.year}, and the State Council holiday notice for {d.year} "
                    f"(节假日安排通知) is not loaded (loaded: {loaded}); juece will not guess working days. "
                    f"An administrator can load it with `juece calendar load FILE`."
                ),
                values={"date": d, "year": d.year, "loaded_years": self.years},
            )
            raise CalendarNotLoaded(finding.sentence(), findings=[finding])

    def is_working_day(self, d: date) -> bool:
        """CAL-01: Mon–Fri outside the rest blocks, or a make-up working day (调休上班)."""
        self.require(d)
        if d in self._rest:
            return False
        if d in self._makeup:
            return self.count_makeup_days
        return d.weekday() < 5

    def is_makeup_day(self, d: date) -> bool:
        """True for a weekend day the notice makes a working day (调休上班日)."""
        self.require(d)
        return d in self._makeup

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start`; counting begins the day after (CAL-01, 民法典 art. 201)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        d, counted = start, 0
        while counted < n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie after `start` up to and including `end`."""
        count, d = 0, start
        while d < end:
            d += timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return count

    def next_working_day_on_or_after(self, d: date) -> date:
        """The first working day on or after `d`."""
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def last_working_day_on_or_before(self, d: date) -> date:
        """The last working day on or before `d`."""
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def period_end(self, start: date, days: int) -> PeriodEnd:
        """A forward period of `days` calendar days (CAL-02), extended past a rest day at its end (CAL-03)."""
        nominal = start + timedelta(days=days)
        self.require(start)
        return PeriodEnd(start, days, nominal, self.next_working_day_on_or_after(nominal))

    def backward_deadline(self, event_day: date, days: int) -> BackwardDeadline:
        """'N日前': the act must be done by `event_day - days`; not moved by holidays (CAL-04)."""
        due = event_day - timedelta(days=days)
        rest = not self.is_working_day(due)
        return BackwardDeadline(event_day, days, due, rest, self.last_working_day_on_or_before(due))

    def year_days(self, year: int) -> list[tuple[date, str, str]]:
        """Every day of a loaded year that is not a plain weekday/weekend: (date, kind, name)."""
        self.require(date(year, 1, 1))
        notice = self.notices[year]
        out: list[tuple[date, str, str]] = []
        for b in notice.rest_blocks:
            d = b.first
            while d <= b.last:
                out.append((d, "rest", b.name))
                d += timedelta(days=1)
        out.extend((d, "makeup-working-day", "调休上班") for d in notice.makeup_working_days)
        return sorted(out)

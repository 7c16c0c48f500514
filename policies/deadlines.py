"""Every time limit of the procedure, computed in one place on the official working-day calendar: the rules that judge
a record (PP-05, HRG-04, LEG-04, PUB-04) and the dates `case show` and the deadline sweep list (EXE-02, PDE-01,
CAL-04) call the same functions. Every number is a parameter of the case's policy pack, cited there with its article.
Pure: dates in, dates out; a year whose holiday notice is not loaded is refused by the calendar (CAL-05).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Mapping, Sequence

from policies.calendar import BackwardDeadline, PeriodEnd, WorkingDayCalendar
from policies.errors import CalendarNotLoaded
from policies.pack import PolicyPack
from policies.procedure import CaseFacts

ADOPTING = ("approved", "approved-with-changes")


# --- the limits -------------------------------------------------------------------------------------------------


def consultation_period(pack: PolicyPack, calendar: WorkingDayCalendar, published_on: date) -> PeriodEnd:
    """PP-05: the open consultation runs `consultation_min_days` calendar days (CAL-02), past a rest day (CAL-03)."""
    return calendar.period_end(published_on, pack.param("consultation_min_days"))


def hearing_material_days(pack: PolicyPack) -> int:
    """HRG-04: how many calendar days before the hearing the materials must arrive (one more for clear days)."""
    days: int = pack.param("hearing_material_days")
    return days + (1 if pack.param("hearing_strict_clear_days") else 0)


def hearing_materials_due(pack: PolicyPack, calendar: WorkingDayCalendar, hearing_on: date) -> BackwardDeadline:
    """HRG-04 / CAL-04: the last day for the materials, counted back from the hearing and never moved."""
    return calendar.backward_deadline(hearing_on, pack.param("hearing_material_days"))


@dataclass(frozen=True)
class ReviewWindow:
    """LEG-04: the reviewer's working days, counted from the complete submission."""

    submitted_on: date
    working_days: int
    last_day: date  # a meeting on or before it falls inside the window

    @property
    def first_clean_day(self) -> date:
        """The first day a meeting needs no acknowledgement."""
        return self.last_day + timedelta(days=1)


def legality_review_window(
    pack: PolicyPack, calendar: WorkingDayCalendar, submissions: Sequence[Mapping[str, Any]]
) -> ReviewWindow | None:
    """LEG-04 (条例 art. 26(2)): the window of the last complete submission (or the first, per the pack's CFG)."""
    if not submissions:
        return None
    basis = submissions[-1] if pack.param("legality_clock_restarts_on_resubmission") else submissions[0]
    days = pack.param("legality_review_min_working_days")
    return ReviewWindow(basis["submitted_on"], days, calendar.add_working_days(basis["submitted_on"], days))


@dataclass(frozen=True)
class DisclosureLimit:
    """PUB-04: the decision is published within the limit of working days after it was formed (the meeting)."""

    formed_on: date
    limit: int
    due: date
    warn_from: int
    warn_on: date


def disclosure_limit(pack: PolicyPack, calendar: WorkingDayCalendar, formed_on: date) -> DisclosureLimit:
    """PUB-04 (政府信息公开条例 art. 26): due on the limit's last working day, reminders from `warn_from`."""
    limit = pack.param("disclosure_limit_working_days")
    warn = pack.param("publication_warn_working_days")
    return DisclosureLimit(formed_on, limit, calendar.add_working_days(formed_on, limit), warn,
                           calendar.add_working_days(formed_on, warn))


def adopting_meeting(case: CaseFacts) -> Mapping[str, Any] | None:
    """The last meeting that adopted the draft: the date the decision was formed (PUB-04's conservative default)."""
    meetings = [m for m in case.records("meeting-held") if m["decision"] in ADOPTING]
    return meetings[-1] if meetings else None


def execution_report_every(pack: PolicyPack, plan: Mapping[str, Any]) -> int:
    """EXE-02: the reporting period the decision set, else the pack's."""
    days: int = plan.get("report_every_days") or pack.param("execution_report_every_days")
    return days


# --- the dates a case must respect (case show, the sweep) ------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A date the case must respect, with the rule it comes from."""

    what: str
    due: str | None
    rule: str
    note: str = ""
    state: str = "open"  # open | met | closed | due-soon | overdue | suggested | unknown

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"what": self.what, "due": self.due, "rule": self.rule, "note": self.note, "state": self.state}


def deadlines_of(case: CaseFacts, calendar: WorkingDayCalendar, pack: PolicyPack, today: date, *,
                 ended: bool = False) -> list[Deadline]:
    """The dates the case must respect, computed on the official calendar (CAL-05 shown, never guessed)."""
    out: list[Deadline] = []

    def guarded(what: str, compute: Callable[[], Deadline | None]) -> None:
        try:
            d = compute()
        except CalendarNotLoaded as exc:
            out.append(Deadline(what, None, "CAL-05", exc.findings[0].message, "unknown"))
        else:
            if d is not None:
                out.append(d)

    closed = bool(case.records("participation-concluded"))
    for c in case.records("consultation-opened"):
        def consultation(c: Mapping[str, Any] = c) -> Deadline:
            period = consultation_period(pack, calendar, c["published_on"])
            note = f"day {period.days} is {period.nominal_last_day}"
            if period.extended:
                note += f", a rest day: the period runs to {period.last_day} (CAL-03)"
            if c.get("shortened_reason"):
                note += f"; shortened: {c['shortened_reason']}"
            return Deadline("public consultation closes (公开征求意见截止)", c["deadline"].isoformat(), "PP-05", note,
                            "met" if closed else ("open" if today <= c["deadline"] else "closed"))
        guarded("public consultation closes", consultation)

    held = bool(case.records("hearing-held"))
    for h in case.records("hearing-announced"):
        def materials(h: Mapping[str, Any] = h) -> Deadline:
            b = hearing_materials_due(pack, calendar, h["scheduled_on"])
            note = f"{b.days} days before the hearing on {h['scheduled_on']}"
            if b.due_is_rest_day:
                note += (f"; {b.due} is a rest day and backward deadlines do not move (CAL-04): deliver by "
                         f"{b.suggested}, the last working day before it")
            state = "met" if held else ("overdue" if today > b.due else "open")
            return Deadline("hearing materials to every participant (听证材料送达)", b.due.isoformat(), "HRG-04", note, state)
        guarded("hearing materials", materials)

    if not case.records("meeting-held"):
        def review() -> Deadline | None:
            w = legality_review_window(pack, calendar, case.records("legality-review-submitted"))
            if w is None:
                return None
            span = [w.submitted_on + timedelta(days=i) for i in range(1, (w.last_day - w.submitted_on).days + 1)]
            makeup = [d for d in span if calendar.is_makeup_day(d)]
            note = (f"{w.working_days} working days from {w.submitted_on}; a meeting on or before {w.last_day} needs "
                    "LEG-04 acknowledged")
            if makeup:
                note += "; counts make-up working day(s) " + ", ".join(d.isoformat() for d in makeup) + " (调休上班日)"
            return Deadline("legality reviewer's 7 working days end (合法性审查时间)", w.last_day.isoformat(), "LEG-04",
                            note, "met" if today > w.last_day else "open")
        guarded("legality review time", review)

    meeting = adopting_meeting(case)
    if meeting is not None and not case.records("decision-published"):
        def disclosure() -> Deadline:
            lim = disclosure_limit(pack, calendar, meeting["held_on"])
            state = "overdue" if today > lim.due else ("due-soon" if today >= lim.warn_on else "open")
            return Deadline("publish the decision (20个工作日内公开)", lim.due.isoformat(), "PUB-04",
                            f"{lim.limit} working days from the meeting on {lim.formed_on} (政府信息公开条例 art. 26); "
                            f"reminders from working day {lim.warn_from}, {lim.warn_on}", state)
        guarded("publication limit", disclosure)

    published = case.records("decision-published")
    if published and not ended:
        plan = published[-1].get("execution") or {}
        every = execution_report_every(pack, plan)
        reports = [r["reported_on"] for r in case.records("execution-reported")]
        last = max(reports) if reports else published[-1]["published_on"]
        due = last + timedelta(days=every)
        feedback = sum(r["count"] for r in case.records("public-feedback-received"))
        threshold = pack.param("evaluation_feedback_threshold")
        if feedback >= threshold and not case.records("post-evaluation-done"):
            out.append(Deadline("consider a post-decision evaluation (决策后评估)", None, "PDE-01",
                                f"{feedback} opinions on execution received (threshold {threshold}; 条例第三十六条第一款第二项)",
                                "suggested"))
        problems = case.records("execution-problem-reported")
        decided = case.records("adjustment-decided")
        if problems and (not decided or decided[-1]["decided_on"] < problems[-1]["reported_on"]):
            out.append(Deadline("decide whether to adjust the decision (决策调整, 条例第三十七条)", None, "EXE-03",
                                f"{problems[-1]['kind']} reported on {problems[-1]['reported_on']} by {problems[-1]['unit']} "
                                "(条例第三十五条); the organ decides whether to suspend, stop, amend or repeal", "suggested"))
        soon = pack.param("execution_report_due_soon_days")
        out.append(Deadline("next execution report (执行情况报告)", due.isoformat(), "EXE-02",
                            f"every {every} days as the decision requires; last {'report' if reports else 'publication'} {last}",
                            "overdue" if today > due else ("due-soon" if (due - today).days <= soon else "open")))
    return out

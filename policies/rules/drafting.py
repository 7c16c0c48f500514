"""Drafting: DRF-04, consulting the departments and lower governments whose duties the draft touches (条例 art. 13).

Drafting runs beside the ordered stages, from launch until collective discussion (the pack's `drafting` stage,
`concurrent_until`). A consulted unit that does not agree opens a dispute; the dispute is settled for the organ by a
dispute statement that names the unit — the main points in dispute, each unit's opinion, and the undertaking unit's
opinion with reasons and basis — or by the unit agreeing in a later consultation. No meeting discusses the draft while
a dispute is open.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator, Mapping

from policies.pack import PolicyPack
from policies.procedure import RECORDED, CaseFacts, StageStatus
from policies.rules import RuleContext, Violation, check

ART_13 = "不能取得一致意见的，应当向决策机关说明争议的主要问题，有关单位的意见，决策承办单位的意见、理由和依据"


def disputes(drafting_records: list[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, date], dict[str, date]]:
    """(open disputes: unit → date the disagreement was recorded, statements: unit → date of its latest statement),
    folded over the drafting records in order."""
    open_: dict[str, date] = {}
    stated: dict[str, date] = {}
    for event, p in drafting_records:
        if event == "departments-consulted":
            for c in p["consultations"]:
                if c["agreed"]:
                    open_.pop(c["unit"], None)
                else:
                    open_[c["unit"]] = p["consulted_on"]
        elif event == "dispute-stated":
            for u in p["unit_opinions"]:
                if open_.pop(u["unit"], None) is not None:
                    stated[u["unit"]] = p["stated_on"]
    return open_, stated


def _drafting(ctx: RuleContext) -> tuple[dict[str, date], dict[str, date]]:
    stage = ctx.pack.stage_of("departments-consulted")
    return disputes(list(ctx.case.stage_records(stage)) if stage else [])


@check("DRF-04", "departments-consulted", "dispute-stated")
def before_the_decision(ctx: RuleContext) -> Iterator[Violation]:
    """DRF-04: drafting records reach the organ before it decides; after the meeting decided they are refused."""
    stage = ctx.pack.stage_of(ctx.event)
    if stage is None or stage.concurrent_until is None:
        return
    until = ctx.pack.stage(stage.concurrent_until)
    status = ctx.statuses.get(until.id)
    if status is not None and status.status in RECORDED:
        yield Violation(
            "DRF-04",
            f"cannot record `{ctx.event}`: {stage.label} runs until {until.label}, which is already {status.status} "
            f"({status.detail}); the departments' opinions and any dispute reach the organ before it decides.",
            {"event": ctx.event, "until": until.id, "status": status.status},
        )


@check("DRF-04", "departments-consulted")
def consultation_record(ctx: RuleContext) -> Iterator[Violation]:
    """DRF-04: each consulted unit once per record, its reply not dated after the record."""
    p = ctx.payload
    seen: set[str] = set()
    for c in p["consultations"]:
        if c["unit"] in seen:
            yield Violation("DRF-04", f"{c['unit']} is listed twice in one consultation record; record one answer per "
                            "unit (a later answer is a new `departments-consulted`).", {"unit": c["unit"]})
            return
        seen.add(c["unit"])
        if c.get("replied_on") and c["replied_on"] > p["consulted_on"]:
            yield Violation("DRF-04", f"{c['unit']}'s reply is dated {c['replied_on']}, after the consultation record "
                            f"of {p['consulted_on']}; record the consultation once its replies are in.",
                            {"unit": c["unit"], "replied_on": c["replied_on"], "consulted_on": p["consulted_on"]})


@check("DRF-04", "dispute-stated")
def dispute_statement(ctx: RuleContext) -> Iterator[Violation]:
    """DRF-04: a dispute statement answers recorded disagreements, and is not dated before them."""
    p = ctx.payload
    open_, _ = _drafting(ctx)
    named = [u["unit"] for u in p["unit_opinions"]]
    if not open_:
        yield Violation("DRF-04", "no consulted unit is recorded as not agreeing, so there is no dispute to state; "
                        "record the units' answers first (`departments-consulted`, agreed: false).", {"units": named})
        return
    strangers = [u for u in named if u not in open_]
    if strangers:
        yield Violation(
            "DRF-04",
            f"the statement gives the opinion of {', '.join(strangers)}, which no recorded consultation shows as "
            f"disagreeing; the units in dispute are: {', '.join(open_)}.",
            {"units": strangers, "in_dispute": list(open_)},
        )
        return
    early = {u: open_[u] for u in named if p["stated_on"] < open_[u]}
    if early:
        unit, day = next(iter(early.items()))
        yield Violation("DRF-04", f"the dispute statement is dated {p['stated_on']}, before {unit}'s disagreement "
                        f"was recorded ({day}); it states a dispute that had not yet arisen.",
                        {"stated_on": p["stated_on"], "unit": unit, "consulted_on": day})


@check("DRF-04", "meeting-held")
def dispute_before_discussion(ctx: RuleContext) -> Iterator[Violation]:
    """DRF-04: the organ does not discuss a draft while a unit's disagreement has no dispute statement."""
    open_, stated = _drafting(ctx)
    held = ctx.payload["held_on"]
    if open_:
        units = ", ".join(f"{u} (since {d})" for u, d in open_.items())
        yield Violation(
            "DRF-04",
            f"consulted units do not agree and no dispute statement was recorded for them: {units}. Before the "
            f"collective discussion the organ must receive the statement ({ART_13}): record `dispute-stated`, or the "
            "units' agreement in a new `departments-consulted`.",
            {"in_dispute": list(open_)},
        )
        return
    late = {u: d for u, d in stated.items() if d > held}
    if late:
        unit, day = next(iter(late.items()))
        yield Violation("DRF-04", f"the dispute statement for {unit} is dated {day}, after the meeting of {held}; the "
                        "organ receives it before it discusses the draft.", {"unit": unit, "stated_on": day, "held_on": held})


def drafting_notes(case: CaseFacts, pack: PolicyPack, statuses: Mapping[str, StageStatus]) -> tuple[str, ...]:
    """What `case show` says about drafting while the organ has not yet decided: the units whose disagreement still
    needs a dispute statement before the meeting (DRF-04)."""
    stage = pack.stage_of("dispute-stated")
    if stage is None or "DRF-04" not in pack.rules or not stage.concurrent_until:
        return ()
    if statuses[stage.concurrent_until].status in RECORDED:
        return ()
    open_, _ = disputes(list(case.stage_records(stage)))
    if not open_:
        return ()
    units = ", ".join(f"{u} (since {d})" for u, d in open_.items())
    return (f"DRF-04: {units} did not agree, and no dispute statement is recorded: the meeting is refused until "
            "`dispute-stated` is recorded, or the unit agrees in a new `departments-consulted`.",)

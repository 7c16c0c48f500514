"""Public participation (公众参与) and hearings (听证): PP-01, PP-04, PP-05, PP-07, HRG-02 to HRG-05."""

from __future__ import annotations

from datetime import date
from typing import Iterator

from policies.deadlines import consultation_period, hearing_material_days
from policies.rules import RuleContext, Violation, check

ACTIVITIES = ("consultation-opened", "hearing-held", "participation-activity-held")


NON_DISCLOSURE_BASES = ("信息公开条例", "保守国家秘密法", "保密法")


def cites_non_disclosure_law(basis: str) -> bool:
    """A basis for not disclosing cites 政府信息公开条例 (arts. 14–16) or the state-secrets law."""
    return any(law in basis for law in NON_DISCLOSURE_BASES)


@check("PP-01", "participation-exempted")
def exemption_needs_non_disclosure(ctx: RuleContext) -> Iterator[Violation]:
    """Only a matter lawfully not disclosed (依法不予公开) is exempt from hearing the public, on a cited legal basis."""
    if not cites_non_disclosure_law(ctx.payload["basis"]):
        yield Violation(
            "PP-01",
            f"the basis {ctx.payload['basis']!r} does not cite the law that keeps the matter undisclosed: "
            "《政府信息公开条例》第十四条至第十六条 or 《保守国家秘密法》.",
            {"basis": ctx.payload["basis"]},
        )
    if "non-disclosure" not in ctx.case.flags:
        yield Violation(
            "PP-01",
            "public participation can only be exempted for a matter that is lawfully not disclosed (依法不予公开的决策事项); "
            "this case is not flagged non-disclosure, so the public must be heard (应当…充分听取意见).",
            {"flags": sorted(ctx.case.flags)},
        )


@check("PP-01", "participation-concluded")
def participation_needs_an_activity(ctx: RuleContext) -> Iterator[Violation]:
    """Participation cannot be concluded without having heard the public in some way."""
    if not any(ctx.case.records(e) for e in ACTIVITIES):
        yield Violation(
            "PP-01",
            "participation cannot be concluded before the public was heard: record a consultation, a hearing or another "
            "participation activity first (座谈会、听证会、实地走访、书面征求意见、向社会公开征求意见、问卷调查、民意调查).",
        )


@check("PP-04", "consultation-opened")
def consultation_publishes_what_the_public_needs(ctx: RuleContext) -> Iterator[Violation]:
    """The draft, its explanation, a channel with a reference, and how to comment (deadline is required by schema)."""
    p = ctx.payload
    missing = []
    if not p.get("draft_sha256"):
        missing.append("the draft (决策草案, draft_sha256)")
    if not p.get("explanation_sha256"):
        missing.append("its explanation (说明, explanation_sha256)")
    if not p.get("comment_methods"):
        missing.append("how to comment (提出意见的方式, comment_methods)")
    channels = p.get("channels") or ()
    if not channels:
        missing.append("at least one publication channel (政府网站、政务新媒体、报刊、广播、电视; channels)")
    for i, ch in enumerate(channels):
        if not str(ch.get("ref", "")).strip():
            missing.append(f"the address or issue of channel {i + 1} ({ch.get('kind')}; channels[{i}].ref)")
    if missing:
        yield Violation(
            "PP-04",
            "the consultation notice must publish " + "; ".join(missing) + ".",
            {"missing": missing},
        )


@check("PP-05", "consultation-opened")
def consultation_runs_thirty_days(ctx: RuleContext) -> Iterator[Violation]:
    """At least 30 calendar days unless shortening is explained in the notice; a rest-day end extends it (CAL-03)."""
    p = ctx.payload
    published: date = p["published_on"]
    deadline: date = p["deadline"]
    period = consultation_period(ctx.pack, ctx.calendar, published)
    days = period.days
    values = {
        "published_on": published,
        "deadline": deadline,
        "nominal_last_day": period.nominal_last_day,
        "last_day": period.last_day,
    }
    if deadline <= published:
        yield Violation("PP-05", f"the deadline {deadline} is not after the publication day {published}.", values)
    elif deadline < period.nominal_last_day:
        if not (p.get("shortened_reason") or "").strip():
            yield Violation(
                "PP-05",
                f"the deadline {deadline} gives the public fewer than {days} days (day {days} is "
                f"{period.nominal_last_day}); a shorter period must be explained in the notice itself "
                "(因情况紧急等原因需要缩短期限的，公开征求意见时应当予以说明: shortened_reason).",
                values,
            )
    elif deadline < period.last_day:
        yield Violation(
            "PP-05",
            f"day {days} of the consultation, {period.nominal_last_day}, is a rest day, so under 民法典 art. 203 the "
            f"period runs to {period.last_day} (以法定休假日结束的次日为期间的最后一日); the stated deadline {deadline} "
            f"cuts it short. Set the deadline to {period.last_day}, or acknowledge PP-05 with a reason.",
            values,
            part="holiday-extension",
        )


@check("PP-05", "participation-concluded")
def participation_waits_for_the_deadline(ctx: RuleContext) -> Iterator[Violation]:
    """Participation is not concluded while a consultation is still open to comment."""
    concluded: date = ctx.payload["concluded_on"]
    for c in ctx.case.records("consultation-opened"):
        if concluded <= c["deadline"]:
            yield Violation(
                "PP-05",
                f"the consultation published {c['published_on']} is open for comment until {c['deadline']} "
                f"(24:00); participation cannot be concluded on {concluded}.",
                {"deadline": c["deadline"], "concluded_on": concluded},
                part="early-close",
            )


@check("PP-07", "participation-concluded")
def participation_has_a_handling_report(ctx: RuleContext) -> Iterator[Violation]:
    """The opinions are compiled and studied, and reasonable ones adopted: the handling report (研究采纳情况)."""
    report = ctx.payload.get("handling_report") or {}
    missing = []
    if not report.get("main_opinions", "").strip():
        missing.append("the main opinions received (main_opinions)")
    if not (report.get("adopted", "").strip() or report.get("not_adopted", "").strip()):
        missing.append("what was adopted and what was not (adopted / not_adopted)")
    if report.get("not_adopted", "").strip() and not report.get("reasons", "").strip():
        missing.append("the reasons for not adopting (reasons)")
    if missing:
        yield Violation(
            "PP-07",
            "the handling report on public opinions (意见研究采纳情况) must state " + "; ".join(missing) + ".",
            {"missing": missing},
        )


@check("HRG-02", "hearing-announced", "hearing-held")
def hearing_notice_comes_first(ctx: RuleContext) -> Iterator[Violation]:
    """The draft, time and place are published before the hearing (提前公布)."""
    p = ctx.payload
    day = p.get("held_on") or p.get("scheduled_on")
    if p["notice_published_on"] >= day:
        yield Violation(
            "HRG-02",
            f"the hearing notice (published {p['notice_published_on']}) must come before the hearing ({day}).",
            {"notice_published_on": p["notice_published_on"], "hearing_on": day},
        )


@check("HRG-03", "hearing-held")
def hearing_participants_selected_openly(ctx: RuleContext) -> Iterator[Violation]:
    """Selection method published before selection; participant list published before the hearing; all sides heard."""
    p = ctx.payload
    held: date = p["held_on"]
    if p.get("selected_on"):
        method_on = p.get("selection_method_published_on")
        if method_on is None or method_on >= p["selected_on"]:
            yield Violation(
                "HRG-03",
                f"participants were selected on {p['selected_on']}, but the selection method (遴选办法) was "
                f"{'never published' if method_on is None else 'published only on ' + str(method_on)}; it must be "
                "published before the selection.",
                {"selected_on": p["selected_on"], "selection_method_published_on": method_on},
            )
        listed = p.get("list_published_on")
        if listed is None or listed >= held:
            yield Violation(
                "HRG-03",
                f"the participant list (听证参加人名单) must be published before the hearing on {held} "
                f"({'not published' if listed is None else 'published ' + str(listed)}).",
                {"list_published_on": listed, "held_on": held},
            )
    present = {part["side"] for part in p["participants"]}
    missing = [s for s in p.get("sides", ()) if s not in present]
    if missing:
        yield Violation(
            "HRG-03",
            f"no participant represents {', '.join(missing)} (保证相关各方都有代表参加听证会).",
            {"unrepresented": missing},
            part="unrepresented-side",
        )


@check("HRG-04", "hearing-held")
def hearing_materials_seven_days_before(ctx: RuleContext) -> Iterator[Violation]:
    """Materials reach every participant 7 calendar days before the hearing (CFG: 7 clear days)."""
    p = ctx.payload
    days = hearing_material_days(ctx.pack)
    late = [
        f"{part['name']} ({part['materials_delivered_on']}, {(p['held_on'] - part['materials_delivered_on']).days} days before)"
        for part in p["participants"]
        if (p["held_on"] - part["materials_delivered_on"]).days < days
    ]
    if late:
        yield Violation(
            "HRG-04",
            f"hearing materials must reach each participant {ctx.param('hearing_material_days')} days before the "
            f"hearing on {p['held_on']} (听证会材料应当于召开听证会7日前送达); late for: {'; '.join(late)}.",
            {"held_on": p["held_on"], "late": late, "days_required": days},
        )


@check("HRG-05", "hearing-held")
def hearing_record_signed(ctx: RuleContext) -> Iterator[Violation]:
    """Every participant confirms and signs the record, or the refusal is recorded."""
    unsigned = [
        part["name"]
        for part in ctx.payload["participants"]
        if not part["confirmed"] and not (part.get("refusal_note") or "").strip()
    ]
    if unsigned:
        yield Violation(
            "HRG-05",
            "the hearing record cannot be finalised: " + ", ".join(unsigned) + " neither confirmed and signed it "
            "(确认听证会记录并签字) nor has a refusal been recorded (refusal_note).",
            {"unsigned": unsigned},
        )


@check("PP-03", "participation-concluded")
def special_groups_are_consulted(ctx: RuleContext) -> Iterator[Violation]:
    """A case touching a specific group's interests consults its organisations and representatives."""
    if "special-group" not in ctx.case.flags:
        return
    heard = {g for e in ("participation-activity-held", "hearing-held") for r in ctx.case.records(e)
             for g in r.get("participant_groups", ())}
    if not heard & {"people-organisation", "social-organisation", "interested-party"}:
        yield Violation(
            "PP-03",
            "this case touches a specific group's interests (涉及特定群体利益): record the consultation with the relevant "
            "people's organisations, social organisations or mass representatives (人民团体、社会组织以及群众代表) — a "
            "`participation-activity-held` with participant_groups.",
            {"heard": sorted(heard)},
        )


@check("HRG-01", "participation-concluded")
def hearing_held_where_the_law_requires_one(ctx: RuleContext) -> Iterator[Violation]:
    """Flagged hearing-required (e.g. 价格法 art. 23): participation cannot conclude without a hearing."""
    if "hearing-required" in ctx.case.flags and not ctx.case.records("hearing-held"):
        yield Violation(
            "HRG-01",
            "a law requires a hearing for this matter (flag hearing-required; 法律、法规、规章对召开听证会另有规定的，依照其规定): "
            "record `hearing-held` before concluding participation.",
        )

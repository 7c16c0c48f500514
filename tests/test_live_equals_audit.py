"""The live check and the auditor's re-check are one: for generated histories — good and bad records, backwards dates,
wrong roles, acknowledgements that fit or do not, calendar overlays loaded in between — the verdict the use case gave
each attempt equals the auditor's re-check of it, finding for finding (issue 9, PROCEDURE.md (d) CAL-08).

A recorded event's live verdict is the warnings it was recorded with (acknowledged); the audit must find exactly
those. A refused attempt's live verdict is the refusal's findings; the auditor's path (flows.usecases.audit, on the case's
stored events before the attempt, the calendar and cases as they stood) must refuse it with the same ones.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flows.usecases.audit import _case_loader, _rechecked, recheck
from flows.usecases.calendars import load_calendar
from flows.usecases.launch import launch_case
from flows.usecases.clock import now
from flows.usecases.workspace import read_workspace_facts
from models import store
from models.canonical import canonical_bytes
from models.db import read_transaction
from models.events import EVENT_TYPES
from models.store import StoredEvent, utc_text
from policies.errors import BadInput, RuleRefusal
from policies.findings import Finding
from policies.pack import load_pack
from policies.rules.dates import DATE_OF
from support import ADMIN, CLERK, LEGAL, ROLE_OF, SECRETARY, Driver, new_workspace, payload

PACK = load_pack("cn-2019")
EVENTS = [e for s in PACK.stages for e in s.activities + s.exemption + s.waiver + s.conclusion
          if e in ROLE_OF and e not in ("adjustment-decided", "adjustment-completed")]
WARNINGS = ["LEG-04", "ORD-02", "RSK-07", "PP-05", "EXP-04", "HRG-03", "PUB-04", "PDE-03"]
OVERLAYS = [
    {"year": 2025, "kind": "local-overlay", "notice": "测试：台风停工通知（非官方）", "source": "tests/test_live_equals_audit.py",
     "rest_blocks": [{"name": "台风停工", "from": "2025-10-22", "to": "2025-10-24"}], "makeup_working_days": []},
    {"year": 2025, "kind": "local-overlay", "notice": "测试：市政府临时休息日（非官方）", "source": "tests/test_live_equals_audit.py",
     "rest_blocks": [{"name": "临时休息", "from": "2025-11-04", "to": "2025-11-07"}], "makeup_working_days": []},
]


def variant(event: str, which: int) -> dict[str, Any]:
    """A good payload or one that steers the procedure or breaks a rule."""
    if event == "risk-assessed":
        return [payload(event), payload(event, level="high", controllable=False), payload(event, level="medium")][which]
    if event == "legality-opinion-issued":
        return [payload(event), payload(event, conclusion="lawful-with-changes", required_changes=[{"item": "明确过渡期限"}]),
                payload(event, adviser_opinions=[])][which]
    if event == "meeting-held":
        return [payload(event), payload(event, held_on="2025-10-29"), payload(event, head_reasons="", decision="deferred")][which]
    if event == "expert-review-concluded":
        return [payload(event), payload(event, experts=[dict(e, affiliation="海南大学") for e in payload(event)["experts"]]),
                payload(event, adoption_report="")][which]
    return payload(event)


def shifted(event: str, body: dict[str, Any], days: int) -> dict[str, Any]:
    field = DATE_OF.get(event)
    if days and field and isinstance(body.get(field), str):
        body = dict(body, **{field: (date.fromisoformat(body[field]) + timedelta(days=days)).isoformat()})
    return body


# Ways through each stage, so that generated histories reach the meeting, publication and execution.
FRAGMENTS = [
    [["consultation-opened", "participation-concluded"], ["participation-activity-held", "participation-concluded"],
     ["hearing-announced", "hearing-held", "participation-concluded"], ["participation-exempted"]],
    [["expert-review-concluded"], ["expert-review-waived"]],
    [["risk-assessed"], ["risk-assessment-reused"], ["risk-assessment-waived"], ["risk-assessed", "risk-assessed"]],
    [["legality-review-submitted", "legality-opinion-issued"],
     ["legality-review-submitted", "legality-opinion-issued", "legality-opinion-answered"]],
    [["meeting-held"]],
    [["party-reported"]],
    [["decision-published"], ["npc-reported", "decision-published"], ["publication-exempted"]],
    [["execution-reported", "execution-problem-reported", "public-feedback-received"], ["execution-reported"]],
    [["post-evaluation-done"], []],
]


@st.composite
def record_step(draw: Any, event: str) -> tuple[Any, ...]:
    """One attempt at `event`: mostly as it should be, sometimes with a date moved, by another role, or with
    acknowledgements that may or may not match a warning."""
    which = draw(st.sampled_from([0, 0, 0, 1, 2]))
    shift = draw(st.sampled_from([0, 0, 0, 0, 0, -3, -30, -60, 1]))
    who = draw(st.sampled_from([None] * 8 + [CLERK, LEGAL, SECRETARY]))
    acks = draw(st.lists(st.sampled_from(WARNINGS), max_size=2, unique=True)) if draw(st.integers(0, 3)) == 0 else []
    return ("record", event, which, shift, who, acks)


def refused_by(flags: tuple[str, ...]) -> set[str]:
    """The waivers and exemptions these flags rule out (the generator still tries them now and then, out of turn)."""
    out = set()
    if "non-disclosure" not in flags:
        out |= {"participation-exempted", "publication-exempted"}
    if "technical" in flags:
        out.add("expert-review-waived")
    if "risk-relevant" in flags:
        out.add("risk-assessment-waived")
    return out


@st.composite
def histories(draw: Any) -> tuple[Any, ...]:
    launcher = draw(st.sampled_from([LEGAL, LEGAL, LEGAL, CLERK]))
    flags = draw(st.sampled_from([(), ("risk-relevant", "technical"), ("non-disclosure",), ("npc-report", "public-concern")]))
    steps: list[tuple[Any, ...]] = []
    for options in FRAGMENTS[: draw(st.sampled_from([3, 6, 7, 8, 9, 9, 9]))]:
        allowed = [f for f in options if not set(f) & refused_by(flags)] or options
        for event in draw(st.sampled_from(allowed)):
            if draw(st.integers(0, 2)) == 0:
                steps.append(("calendar", draw(st.integers(0, len(OVERLAYS) - 1))))
            if draw(st.integers(0, 7)) == 0:  # now and then an attempt out of turn
                steps.append(draw(record_step(draw(st.sampled_from(EVENTS)))))
            steps.append(draw(record_step(event)))
    return launcher, flags, steps


def synthetic(case_id: str, event: str, body: dict[str, Any], actor: Any, recorded_at: str,
              acks: list[str]) -> StoredEvent:
    """The attempted record as the store would have held it, placed after everything stored."""
    stored = EVENT_TYPES[event].model_validate(body).model_dump(mode="json", by_alias=True)
    envelope = {"payload": stored, "acknowledgements": [{"rule": r, "reason": "经核实，事后补录"} for r in acks], "type": event}
    return StoredEvent(10**12, case_id, 10**6, event, recorded_at, actor.label, actor.role, "", canonical_bytes(envelope),
                       "", "")


def audit_of_attempt(ws: Any, case_id: str, event: str, body: dict[str, Any], actor: Any, recorded_at: str,
                     acks: list[str] = ()) -> list[Finding]:  # type: ignore[assignment]
    """What the auditor's path says of an attempted record, on the case's stored events before it: the findings its
    acknowledgements do not cover."""
    facts = read_workspace_facts(ws)
    with read_transaction(ws.engine) as conn:
        before = [e for e in store.load_stream(conn, case_id)] if event != "case-launched" else []
        attempt = synthetic(case_id, event, body, actor, recorded_at, list(acks))
        *_, last = _rechecked(before + [attempt], facts, load_case=_case_loader(conn))
    return [f for f in last[2] if not f.acknowledged]


def list_walk(items: list[Any]) -> Any:
    """Iterate a list that may grow while it is walked."""
    i = 0
    while i < len(items):
        yield items[i]
        i += 1


def hard_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.enforcement != "HARD")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@example((LEGAL, (), [("record", e, 0, 0, None, []) for e in (
    "consultation-opened", "participation-concluded", "expert-review-concluded", "risk-assessed",
    "legality-review-submitted", "legality-opinion-issued", "meeting-held")] + [("calendar", 0)] + [
    ("record", "party-reported", 0, 0, None, []), ("record", "decision-published", 0, 0, None, [])]))
@given(histories())
def test_the_live_verdict_of_every_attempt_equals_the_auditors_recheck_finding_for_finding(tmp_path_factory, history):
    launcher, flags, steps = history
    ws = new_workspace(tmp_path_factory.mktemp("diff") / "ws")
    d = Driver(ws)
    launch = dict(title="差分测试事项", category="public-construction", organ="三亚市人民政府", lead_unit="三亚市住房和城乡建设局",
                  flags=flags)
    try:
        d.case_id, _ = launch_case(ws, launcher, **launch)
    except RuleRefusal as exc:
        body = {**launch, "flags": list(flags), "policy": PACK.id, "policy_hash": PACK.hash, "launched_on": "2025-08-25",
                "decided_on": "2025-08-25", "co_units": [], "catalog_item": None}
        assert hard_first(audit_of_attempt(ws, "JC-2025-0001", "case-launched", body, launcher,
                                           utc_text(now(read_workspace_facts(ws))))) == exc.findings
        d.case_id, _ = launch_case(ws, LEGAL, **launch)
    live: dict[int, list[Finding]] = {1: []}
    refusals = 0
    for step in steps:
        if step[0] == "calendar":
            f = tmp_path_factory.mktemp("cal") / "overlay.json"
            f.write_text(json.dumps(OVERLAYS[step[1]], ensure_ascii=False), encoding="utf-8")
            load_calendar(ws, ADMIN, f)
            continue
        _, event, which, shift, who, acks = step
        attempts = [(shifted(event, variant(event, which), shift), who or ROLE_OF[event], acks)]
        if (which, shift, who, acks) != (0, 0, None, []):
            attempts.append((variant(event, 0), ROLE_OF[event], []))  # then as it should have been
        for body, actor, acks in list_walk(attempts):
            try:
                result = d.record(event, body, actor=actor, acknowledge=tuple((r, "经核实，事后补录") for r in acks))
            except RuleRefusal as exc:
                moment = utc_text(now(read_workspace_facts(ws)))
                assert hard_first(audit_of_attempt(ws, d.case_id, event, body, actor, moment, acks)) == exc.findings, event
                refusals += 1
                if all(f.enforcement == "WARN" for f in exc.findings):  # a clerk acknowledges what was warned
                    attempts.insert(attempts.index((body, actor, acks)) + 1,
                                    (body, actor, acks + [f.rule for f in exc.findings if f.rule not in acks]))
            except BadInput:
                continue  # an acknowledgement of a rule that raised no warning: nothing was judged, nothing written
            else:
                if not result.repeated:
                    live[result.seq] = list(result.acknowledged)
                break
    facts = read_workspace_facts(ws)
    with read_transaction(ws.engine) as conn:
        events = store.load_stream(conn, d.case_id)
        audited = {c.seq: list(c.findings) for c, _ in recheck(events, facts, _case_loader(conn))
                   if c.type != "attempt-refused"}
    assert audited == live
    from hypothesis import event as note
    meeting = next((seq for seq, e in enumerate(stored_types(ws, d.case_id), 1) if e == "meeting-held"), None)
    note(f"a calendar load after a recorded meeting: {meeting is not None and loaded_after(ws, d.case_id, meeting)}")
    note(f"recorded {len(live)}")
    note(f"with warnings {sum(1 for v in live.values() if v)}")
    note(f"refusals compared {min(refusals, 5)}{'+' if refusals >= 5 else ''}")
    note(f"calendar loads {sum(1 for s in steps if s[0] == 'calendar')}")


def stored_types(ws: Any, case_id: str) -> list[str]:
    with read_transaction(ws.engine) as conn:
        return [e.type for e in store.load_stream(conn, case_id)]


def loaded_after(ws: Any, case_id: str, seq: int) -> bool:
    with read_transaction(ws.engine) as conn:
        at = store.load_stream(conn, case_id)[seq - 1].recorded_at
    return any(e.type == "calendar-loaded" and e.recorded_at >= at for e in read_workspace_facts(ws).events)

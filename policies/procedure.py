"""The procedure's shape: what each stage's status is, given its records, and what is waited on next.

A stage is *recorded* once it is concluded, or waived/exempted by a recorded decision where the pack allows it.
No stage can be entered until every stage before it is recorded (PROCEDURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Protocol, Sequence

from policies.pack import Stage

RECORDED = frozenset({"concluded", "waived", "exempted"})


class CaseFacts(Protocol):
    """What rules may read about a case: its facts and its records so far (payloads as plain values)."""

    case_id: str
    category: str
    organ: str
    flags: frozenset[str]
    parent_case: str | None
    launch_decided_on: date | None

    def records(self, event_type: str) -> Sequence[Mapping[str, Any]]: ...

    def stage_records(self, stage: Stage) -> Sequence[tuple[str, Mapping[str, Any]]]: ...

    def latest(self, dated: Sequence[tuple[str, str]]) -> tuple[str, Any] | None:
        """The latest value of a field among the records of some event types: (event type, value), or None."""
        ...


@dataclass(frozen=True)
class LinkedCase:
    """What a rule may read about another case this one names (a parent, an adjustment's child case), as that case
    stood when the event being judged was recorded: the live check and the auditor's re-check see the same facts."""

    case_id: str
    exists: bool
    parent_case: str | None = None  # the case whose adjustment opened this one (`case adjust`)
    adjustment: str | None = None  # stop | amend | repeal, for a child case
    decision: str | None = None  # the last meeting's decision (approved, approved-with-changes, rejected, deferred)
    decided_on: date | None = None  # the day of the meeting that adopted the draft, once one did

    @property
    def adopted(self) -> bool:
        """True once a meeting adopted the child's draft (通过 / 修改后通过)."""
        return self.decided_on is not None


@dataclass(frozen=True)
class StageStatus:
    """A stage's status, the record that settled it, and what it waits on while open."""

    status: str  # pending | in-progress | concluded | waived | exempted | closed
    detail: str = ""
    waiting_for: str = ""  # an event type the stage waits on, e.g. "legality-opinion-issued"
    since: date | None = None  # risk assessment: the day an assessment found the risk not controllable (RSK-08)


def legality_status(records: Sequence[tuple[str, Mapping[str, Any]]], exploratory: bool = False) -> StageStatus:
    """Legality review: submitted → (returned → resubmitted)* → opinion → (answered when changes are required)."""
    state = StageStatus("pending", waiting_for="legality-review-submitted")
    for event, p in records:
        if event == "legality-review-submitted":
            state = StageStatus("in-progress", "submitted, awaiting the opinion (待出具审查意见)", "legality-opinion-issued")
        elif event == "legality-review-returned":
            state = StageStatus("in-progress", "returned for completion (退回补充)", "legality-review-submitted")
        elif event == "legality-opinion-issued":
            c = p["conclusion"]
            if c == "lawful":
                state = StageStatus("concluded", "opinion: lawful (合法)")
            elif c == "lawful-with-changes":
                state = StageStatus(
                    "in-progress", "opinion: lawful with changes; awaiting the unit's response", "legality-opinion-answered"
                )
            elif exploratory and p.get("legal_risk_statement", "").strip():
                # 条例 art. 25(2): an exploratory reform item may go forward with its legal risk stated.
                state = StageStatus("concluded", "opinion: unlawful; exploratory item, legal risk stated (明示法律风险)")
            else:
                state = StageStatus(
                    "in-progress", "opinion: unlawful (不合法); revise and resubmit", "legality-review-submitted"
                )
        elif event == "legality-opinion-answered":
            state = StageStatus("concluded", "opinion answered (已根据审查意见调整)")
    return state


def risk_status(stage: Stage, records: Sequence[tuple[str, Mapping[str, Any]]]) -> StageStatus:
    """Risk assessment, read as PROCEDURE.md (d) reads RSK-08 (条例 art. 24): once an assessment finds the risk not
    controllable, the stage waits for a new `risk-assessed` dated after that assessment; a reused report, or an
    assessment of that day or earlier, does not clear it."""
    state = StageStatus("pending", waiting_for=stage.conclusion[0])
    for event, p in records:
        day: date | None = p.get("assessed_on") or p.get("decided_on")
        if event in stage.waiver:
            state = StageStatus("waived", f"{event}")
        elif event not in stage.conclusion:
            if state.status == "pending":
                state = StageStatus("in-progress", f"{event}", stage.conclusion[0])
        elif p.get("controllable") is False:
            state = StageStatus("concluded", f"risk found not controllable on {day} (风险不可控): adjust the draft and "
                                "assess it again", "risk-assessed", since=day)
        elif state.since is not None and (event != "risk-assessed" or day is None or day <= state.since):
            why = "a reused report does not clear it" if event != "risk-assessed" else f"the assessment of {day} is not dated after it"
            state = StageStatus("concluded", f"risk found not controllable on {state.since} (风险不可控); {why}: assess "
                                f"the adjusted draft again, after {state.since}", "risk-assessed", since=state.since)
        else:
            state = StageStatus("concluded", f"{event}")
    return state


def meeting_status(records: Sequence[tuple[str, Mapping[str, Any]]]) -> StageStatus:
    """Collective discussion: a deferred decision keeps it open for another meeting."""
    state = StageStatus("pending", waiting_for="meeting-held")
    for event, p in records:
        if event == "meeting-held":
            d = p["decision"]
            if d == "deferred":
                state = StageStatus("in-progress", f"deferred at the meeting of {p['held_on']} (暂缓)", "meeting-held")
            else:
                state = StageStatus("concluded", f"{d} at the meeting of {p['held_on']}")
    return state


# Stages whose status needs more than the event types of their records (the payloads, or a step back): their folds
# are above. Every other stage's status is a fold of `plain_step` from `plain_start`.
FOLDED_WITH_PAYLOADS = frozenset({"legality_review", "collective_discussion", "risk_assessment"})


def plain_start(stage: Stage) -> StageStatus:
    """A plain stage's status before any of its records."""
    return StageStatus("pending", waiting_for=(stage.conclusion or stage.activities)[0])


def plain_step(stage: Stage, status: StageStatus, event: str) -> StageStatus:
    """A plain stage's status after one more record of `event` (the status itself when the record changes nothing)."""
    if event in stage.conclusion:
        return StageStatus("concluded", f"{event}")
    if event in stage.waiver:
        return StageStatus("waived", f"{event}")
    if event in stage.exemption:
        return StageStatus("exempted", f"{event}")
    if status.status == "pending":
        return StageStatus("in-progress", f"{event}", (stage.conclusion or stage.activities)[0])
    return status


def at_end(status: StageStatus) -> StageStatus:
    """A stage's status once the case ended without a decision: what was still open is closed."""
    if status.status in {"pending", "in-progress"}:
        return StageStatus("closed", "the case ended without a decision (决策未通过)")
    return status


def stage_status(
    stage: Stage, records: Sequence[tuple[str, Mapping[str, Any]]], *, flags: frozenset[str], ended: bool
) -> StageStatus:
    """The status of one stage from its records, in order."""
    if stage.id == "legality_review":
        status = legality_status(records, exploratory="exploratory" in flags)
    elif stage.id == "collective_discussion":
        status = meeting_status(records)
    elif stage.id == "risk_assessment":
        status = risk_status(stage, records)
    else:
        status = plain_start(stage)
        for event, _ in records:
            status = plain_step(stage, status, event)
    return at_end(status) if ended else status


def awaiting_name(stage: Stage, status: StageStatus) -> str:
    """A Prefect-style state name for what the case waits on, e.g. 'AwaitingLegalityOpinion'."""
    event = status.waiting_for or (stage.conclusion or stage.activities or (stage.id,))[0]
    words = {
        "legality-opinion-issued": "LegalityOpinion",
        "legality-review-submitted": "LegalityReviewSubmission",
        "legality-opinion-answered": "ResponseToLegalityOpinion",
        "meeting-held": "CollectiveDiscussion",
        "participation-concluded": "PublicParticipation",
        "expert-review-concluded": "ExpertReview",
        "risk-assessed": "RiskAssessment",
        "party-reported": "PartyReport",
        "decision-published": "Publication",
        "execution-reported": "ExecutionReport",
        "post-evaluation-done": "PostEvaluation",
    }
    return "Awaiting" + words.get(event, "".join(w.title() for w in event.split("-")))

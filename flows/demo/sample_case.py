"""The demo's sample case as data: 河西片区棚户区改造 in Sanya — who acts, each step of the procedure (day, actor,
event, payload, what it shows), the public comments' texts, the decision text and the console's demo accounts.
The payloads are the events' own examples (models/events.py), so the schema and the demo cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.usecases.workspace import Actor
from models.events import EVENT_TYPES

ADMIN = Actor("admin", "系统管理员")
LEGAL = Actor("legal-office", "张伟")
CLERK = Actor("clerk", "李明")
REVIEWER = Actor("reviewer", "王芳")
SECRETARY = Actor("secretary", "陈静")


@dataclass(frozen=True)
class Step:
    """One step of the walk: on which day, who, what, and the payload."""

    day: str
    actor: Actor
    event: str
    payload: dict[str, Any]
    say: str
    acknowledge: tuple[tuple[str, str], ...] = ()


def step(day: str, actor: Actor, event: str, say: str, **changes: Any) -> Step:
    """A step recording the event's example payload (the examples are this demo case's records)."""
    return Step(day, actor, event, {**EVENT_TYPES[event].example, **changes}, say)


SUBMISSION = EVENT_TYPES["legality-review-submitted"].example
MEETING = EVENT_TYPES["meeting-held"].example
STEPS = [
    step(
        "2025-09-01",
        CLERK,
        "consultation-opened",
        "Day 30 of the consultation is 2025-10-01, inside the National Day break, so the period runs to 2025-10-09 (W2).",
    ),
    step(
        "2025-09-05",
        CLERK,
        "hearing-announced",
        "The hearing is announced three weeks ahead; its materials are due 7 days before it (HRG-04).",
    ),
    step(
        "2025-09-26",
        CLERK,
        "hearing-held",
        "Every side is represented; one participant refused to sign, and the refusal is recorded (HRG-05).",
    ),
    step(
        "2025-10-10",
        CLERK,
        "participation-concluded",
        "412 comments; the handling report says what was adopted and why the rest was not (PP-07).",
    ),
    step(
        "2025-10-14",
        CLERK,
        "expert-review-concluded",
        "Three experts of differing views, none with an interest (EXP-04); every opinion signed and sealed (EXP-02).",
    ),
    step(
        "2025-10-20",
        CLERK,
        "risk-assessed",
        "Risk assessed low and controllable, with departments heard, risk points, measures and a plan (RSK-04).",
    ),
    step(
        "2025-10-21",
        CLERK,
        "legality-review-submitted",
        "Sent to 市司法局 with the draft, the legal basis and the statement of procedures (LEG-03).",
    ),
    step(
        "2025-10-27",
        REVIEWER,
        "legality-opinion-issued",
        "Lawful with one required change; the meeting must wait for the unit's answer (LEG-07).",
    ),
    step("2025-10-28", CLERK, "legality-opinion-answered", "The change is made."),
]
AFTER = [
    step("2025-11-03", LEGAL, "party-reported", "Reported to the municipal Party committee before issuance (PTY-01)."),
    step(
        "2025-11-10",
        LEGAL,
        "decision-published",
        "Published in the gazette and on the website with the decision text's sha256, its interpretation (PUB-02) and who executes it, how and by when (EXE-01).",
    ),
]


FORM_LETTER = "我们坚决要求提高货币补偿标准，补偿系数不低于1.3，并保障原地就近安置！"
OPINIONS = [
    "安置房选址离河西小学太远，孩子上学不方便，建议就近安置。",
    "施工期间请做好交通疏导，解放路早晚高峰已经很堵。",
    "过渡期租金补贴应按月足额发放，不要拖欠。",
    "希望公布补偿评估机构的选定程序，做到公开透明。",
    "老人多的家庭希望优先安排低楼层。",
    "建议保留片区内的老榕树和骑楼街立面。",
    "商铺的停业损失如何补偿？方案没有写清楚。",
    "支持改造，房子漏雨多年了，希望早日开工。",
]



DECISION_TEXT = """三亚市人民政府关于河西片区棚户区改造的决定

一、改造范围：河西片区1,204户棚户区房屋。
二、补偿标准：货币补偿系数1.15，增设河西小学周边安置点。
三、过渡安置期限不超过24个月。
四、本决定自公布之日起施行。
""".encode()



# The demo's people as accounts of the console (made after the case, so its records predate them; AUTH-01 applies to
# whatever is recorded from now on).
DEMO_PEOPLE = ((ADMIN.name, ("admin",)), (LEGAL.name, ("legal-office",)), (CLERK.name, ("clerk",)),
               (REVIEWER.name, ("reviewer",)), (SECRETARY.name, ("secretary",)), ("周档案", ("archivist",)),
               ("赵审计", ("auditor",)))

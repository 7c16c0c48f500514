"""Test support: a case driver over a real workspace (real SQLite), and good payloads along one realistic timeline.

The timeline (2025, 三亚市河西片区棚户区改造): launch 08-25 · consultation 09-01→10-09 · hearing 09-26 ·
participation concluded 10-10 · expert review 10-14 · risk assessed 10-20 · legality submitted 10-21, opinion 10-27 ·
meeting 11-03 (the 7th working day after 10-21 is 10-30) · party report 11-05 · published 11-10.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterable

from flows.usecases.launch import launch_case
from flows.usecases.record import record_event
from flows.usecases.show import show_case
from flows.usecases.clock import LOCAL
from flows.usecases.workspace import Actor, Workspace, init_workspace, read_workspace_facts, set_clock
from models.events import EVENT_TYPES

ADMIN = Actor("admin", "系统管理员")
LEGAL = Actor("legal-office", "张伟")
CLERK = Actor("clerk", "李明")
REVIEWER = Actor("reviewer", "王芳")
SECRETARY = Actor("secretary", "陈静")
HEAD = Actor("head", "李市长")
AUDITOR = Actor("auditor", "赵审计")

ROLE_OF = {
    "consultation-opened": CLERK,
    "hearing-announced": CLERK,
    "hearing-held": CLERK,
    "participation-activity-held": CLERK,
    "participation-concluded": CLERK,
    "participation-exempted": LEGAL,
    "expert-review-concluded": CLERK,
    "expert-review-waived": LEGAL,
    "risk-assessed": CLERK,
    "risk-assessment-reused": CLERK,
    "risk-assessment-waived": LEGAL,
    "legality-review-submitted": CLERK,
    "legality-review-returned": REVIEWER,
    "legality-opinion-issued": REVIEWER,
    "legality-opinion-answered": CLERK,
    "meeting-held": SECRETARY,
    "party-reported": LEGAL,
    "npc-reported": LEGAL,
    "decision-published": LEGAL,
    "execution-reported": CLERK,
    "execution-problem-reported": CLERK,
    "public-feedback-received": CLERK,
    "publication-exempted": LEGAL,
    "post-evaluation-done": LEGAL,
    "adjustment-decided": HEAD,
    "adjustment-completed": LEGAL,
    "departments-consulted": CLERK,
    "dispute-stated": CLERK,
}

H = "ab" * 32  # a sha256-shaped digest

GOOD: dict[str, dict[str, Any]] = {
    "consultation-opened": {
        "published_on": "2025-09-01",
        "deadline": "2025-10-09",
        "channels": [{"kind": "website", "ref": "https://www.sanya.gov.cn/zjdc/0901.html"}],
        "draft_sha256": H,
        "explanation_sha256": H,
        "comment_methods": ["电子邮件 sycjb@sanya.gov.cn"],
    },
    "hearing-announced": {"notice_published_on": "2025-09-05", "scheduled_on": "2025-09-26", "place": "市政府第一会议室"},
    "hearing-held": {
        "notice_published_on": "2025-09-05",
        "held_on": "2025-09-26",
        "selection_method_published_on": "2025-09-05",
        "selected_on": "2025-09-12",
        "list_published_on": "2025-09-15",
        "sides": ["被征收户", "周边居民"],
        "participants": [
            {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-16", "confirmed": True},
            {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-16", "confirmed": True},
        ],
    },
    "participation-activity-held": {"method": "forum", "held_on": "2025-09-18", "description": "河西片区座谈会"},
    "participation-concluded": {
        "concluded_on": "2025-10-10",
        "comments_received": 412,
        "handling_report": {"main_opinions": "补偿标准偏低", "adopted": "提高补偿系数", "not_adopted": "原地回迁", "reasons": "防洪规划控制区"},
    },
    "participation-exempted": {"basis": "《政府信息公开条例》第十四条", "decided_on": "2025-09-01"},
    "expert-review-concluded": {
        "held_on": "2025-10-14",
        "method": "hearing-of-experts",
        "experts": [
            {"name": "李建国", "affiliation": "海南大学", "stance": "支持分期", "conflict_of_interest": None},
            {"name": "黄雅琴", "affiliation": "海南省建筑设计院", "stance": "主张整体改造", "conflict_of_interest": None},
        ],
        "opinions": [
            {"author": "李建国", "summary": "必要可行", "signed": True, "sealed": True},
            {"author": "黄雅琴", "summary": "结构安全可控", "signed": True, "sealed": True},
        ],
        "adoption_report": "采纳分期实施意见",
    },
    "expert-review-waived": {"reason": "不涉及专业性、技术性较强的问题", "decided_on": "2025-10-14"},
    "risk-assessed": {
        "assessed_on": "2025-10-20",
        "departments_consulted": ["市公安局", "市信访局"],
        "risk_points": ["补偿争议"],
        "level": "low",
        "measures": ["一户一策"],
        "contingency_plan": "应急处置小组",
        "controllable": True,
    },
    "risk-assessment-reused": {
        "decided_on": "2025-10-20",
        "prior_report": {"ref": "三发改投资〔2025〕88号", "issuer": "市发展改革委", "issued_on": "2025-06-30", "scope": "全部建设内容"},
        "controllable": True,
    },
    "risk-assessment-waived": {"reason": "不可能造成不利影响", "decided_on": "2025-10-20"},
    "legality-review-submitted": {
        "submitted_on": "2025-10-21",
        "materials": [
            {"kind": "draft", "title": "实施方案（送审稿）"},
            {"kind": "procedure-statement", "title": "履行法定程序的说明"},
        ],
        "legal_basis": ["《国有土地上房屋征收与补偿条例》"],
    },
    "legality-review-returned": {"returned_on": "2025-10-22", "missing": ["资金来源说明"]},
    "legality-opinion-issued": {
        "issued_on": "2025-10-27",
        "conclusion": "lawful",
        "findings": {"authority": "属于市政府职权", "procedure": "程序完备", "content": "内容合法"},
        "adviser_opinions": [{"name": "赵明", "role": "legal-adviser"}],
    },
    "legality-opinion-answered": {"answered_on": "2025-10-28", "responses": [{"item": "明确过渡期限", "change": "增加第五条"}]},
    "meeting-held": {
        "meeting_type": "executive",
        "held_on": "2025-11-03",
        "members_present": ["刘副市长", "陈副市长", "李市长"],
        "opinions": [
            {"member": "刘副市长", "position": "approve"},
            {"member": "陈副市长", "position": "approve"},
            {"member": "李市长", "position": "approve"},
        ],
        "head": "李市长",
        "decision": "approved",
        "package": [
            {"kind": "draft", "title": "草案"},
            {"kind": "participation-report", "title": "公众意见采纳情况"},
            {"kind": "expert-report", "title": "专家意见采纳情况"},
            {"kind": "risk-report", "title": "风险评估报告"},
            {"kind": "legality-opinion", "title": "合法性审查意见"},
        ],
    },
    "party-reported": {"reported_on": "2025-11-05", "reference": "三府呈〔2025〕41号"},
    "npc-reported": {"reported_on": "2025-11-06", "reference": "三府函〔2025〕118号"},
    "decision-published": {
        "published_on": "2025-11-10",
        "channels": [{"kind": "gazette", "ref": "《三亚市人民政府公报》2025年第11期"}],
        "text_sha256": H,
        "adoption_explanation": "采纳补偿系数等3项意见",
        "interpretation": [{"kind": "press-conference", "on": "2025-11-10", "ref": "第45场新闻发布会"}],
        "execution": {
            "units": ["三亚市住房和城乡建设局"], "goals": "2027年底前完成改造", "procedure": "签约—腾退—建设—回迁",
            "time_limit": "2027-12-31", "feedback": "每季度报告", "report_every_days": 90,
        },
    },
    "publication-exempted": {"decided_on": "2025-11-10", "basis": "《政府信息公开条例》第十四条", "withheld": "安置房源位置"},
    "execution-problem-reported": {
        "reported_on": "2026-01-20", "occurred_on": "2026-01-19", "unit": "市住建局", "kind": "force-majeure",
        "description": "台风损毁工地",
        "reported_to": "三亚市人民政府",
    },
    "public-feedback-received": {"received_on": "2026-01-10", "channel": "hotline-12345", "count": 57, "summary": "补贴延迟"},
    "post-evaluation-done": {
        "evaluated_on": "2026-02-10", "evaluator": "海南省社会科学院", "trigger": "条例第三十六条第一款第三项",
        "public_input": "问卷1,032份", "participant_groups": ["npc-deputy"],
    },
    "adjustment-completed": {"completed_on": "2026-03-06", "child_case": "JC-2026-0001"},
    "adjustment-decided": {
        "decided_on": "2026-01-21", "kind": "suspend", "ground": "条例第三十五条：不可抗力", "urgency_reason": "工地存在坍塌危险",
    },
    "execution-reported": {"reported_on": "2025-12-15", "unit": "市住建局", "status": "入户调查完成"},
    "departments-consulted": {
        "consulted_on": "2025-09-20",
        "consultations": [
            {"unit": "三亚市财政局", "replied_on": "2025-09-15", "opinion": "资金已纳入预算，同意", "agreed": True},
            {"unit": "三亚市自然资源和规划局", "replied_on": "2025-09-18", "opinion": "安置地块位于防洪控制区，建议另选址",
             "agreed": False},
        ],
    },
    "dispute-stated": {
        "stated_on": "2025-09-25",
        "points": ["安置地块是否位于防洪规划控制区内"],
        "unit_opinions": [{"unit": "三亚市自然资源和规划局", "opinion": "建议另选址"}],
        "undertaking_unit_opinion": {"opinion": "维持原选址并抬高场地标高", "reasons": "另选址将推迟回迁两年",
                                     "basis": "《三亚市防洪规划》第4.2条"},
    },
}

# The shortest clean path through the five mandatory stages, then party report and publication.
MANDATORY_PATH = (
    "consultation-opened",
    "participation-concluded",
    "expert-review-concluded",
    "risk-assessed",
    "legality-review-submitted",
    "legality-opinion-issued",
    "meeting-held",
)


def payload(event: str, **changes: Any) -> dict[str, Any]:
    """A good payload for an event, with top-level fields replaced."""
    p = copy.deepcopy(GOOD[event])
    p.update(changes)
    return p


def _dates(value: Any) -> Iterable[date]:
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            yield date.fromisoformat(value)
        except ValueError:
            return
    elif isinstance(value, dict):
        for v in value.values():
            yield from _dates(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dates(v)


@dataclass
class Driver:
    """Drives one case in a real workspace: moves the simulated clock to each record's day, then records."""

    ws: Workspace
    case_id: str = ""
    flags: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)

    def launch(self, *flags: str, category: str = "public-construction", **kw: Any) -> str:
        """Launch a case with the given flags."""
        self.flags = flags
        self.case_id, _ = launch_case(
            self.ws, LEGAL, title=kw.pop("title", "三亚市河西片区棚户区改造项目"), category=category,
            organ="三亚市人民政府", lead_unit="三亚市住房和城乡建设局", flags=flags, **kw,
        )
        return self.case_id

    def clock_to(self, day: date) -> None:
        """Move the simulated clock to 18:00 of `day` if it is behind."""
        facts = read_workspace_facts(self.ws)
        target = datetime.combine(day, time(18, 0), tzinfo=LOCAL)
        if facts.simulated_now is None or facts.simulated_now < target:
            set_clock(self.ws, ADMIN, target)

    def record(self, event: str, data: dict[str, Any] | None = None, *, actor: Actor | None = None,
               acknowledge: tuple[tuple[str, str], ...] = (), **changes: Any):
        """Record an event (good payload unless given), as the role that records it."""
        body = data if data is not None else payload(event, **changes)
        future_ok = getattr(EVENT_TYPES.get(event), "future_dates", frozenset())
        days = [d for k, v in body.items() if k not in future_ok and isinstance(v, str) for d in _dates(v)]
        if days:
            self.clock_to(max(days))
        result = record_event(self.ws, actor or ROLE_OF[event], self.case_id, event, body, acknowledge=acknowledge)
        self.log.append(event)
        return result

    def walk(self, events: Iterable[str]) -> None:
        """Record good payloads for each event in turn."""
        for e in events:
            self.record(e)

    def show(self):
        """The case view now."""
        return show_case(self.ws, self.case_id)

    def status(self, stage: str) -> str:
        """One stage's status."""
        return next(s.status for s in self.show().stages if s.stage == stage)


def new_workspace(path: Path, start: datetime | None = None) -> Workspace:
    """A fresh workspace with a simulated clock (default 2025-08-25 09:00 Asia/Shanghai)."""
    ws, _ = init_workspace(path, ADMIN, simulated_clock=start or datetime(2025, 8, 25, 9, 0, tzinfo=LOCAL))
    return ws


def process_running(pid: int) -> bool:
    """True while the process runs; a zombie (ended, waiting for its parent to collect it) has ended. In this sandbox
    the parent of a server started by a command that already exited may be slow to collect it."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


def group_running(pgid: int) -> bool:
    """True while any process of the group runs (zombies, ended and awaiting collection, do not count)."""
    from pathlib import Path

    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False

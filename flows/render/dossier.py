"""The readable dossier page (案卷, templates/dossier.html.j2) and the 四性 check report, rendered deterministically
from the history alone.

Because both are pure functions of the history (and the policy pack the case ran under), `archive verify` renders
them again from the bag and compares bytes: an edited page is caught even when the bag's manifests were
regenerated after the edit.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from flows.render.templates import render
from models.state import CaseState, replay
from models.store import StoredEvent
from policies.pack import PolicyPack

POSITION_ZH = {"approve": "同意", "oppose": "反对", "approve-with-changes": "修改后同意", "defer": "暂缓"}
DECISION_ZH = {"approved": "通过", "approved-with-changes": "修改后通过", "rejected": "不予通过", "deferred": "暂缓"}
STATUS_ZH = {"concluded": "已完成", "waived": "经决定不开展", "exempted": "依法免除", "in-progress": "进行中",
             "pending": "未开展", "closed": "终止"}
MEETING_ZH = {"executive": "常务会议", "plenary": "全体会议", "mayor-office": "市长办公会", "topic": "专题会", "other": "其他会议"}
EVENT_ZH = {
    "case-launched": "启动决策程序", "attempt-refused": "操作被拒绝", "document-attached": "文件归入",
    "consultation-opened": "公开征求意见", "hearing-announced": "听证公告", "hearing-held": "举行听证会",
    "participation-activity-held": "公众参与活动", "participation-concluded": "公众参与结束",
    "participation-exempted": "依法免除公众参与", "expert-review-concluded": "专家论证",
    "expert-review-waived": "决定不开展专家论证", "risk-assessed": "风险评估", "risk-assessment-reused": "沿用已有风险评估",
    "risk-assessment-waived": "决定不开展风险评估", "legality-review-submitted": "送请合法性审查",
    "legality-review-returned": "退回补充", "legality-opinion-issued": "出具合法性审查意见",
    "legality-opinion-answered": "根据审查意见调整", "meeting-held": "集体讨论决定", "party-reported": "向党委请示报告",
    "decision-published": "决策公布", "publication-exempted": "依法不予公开", "execution-reported": "执行情况报告",
    "execution-problem-reported": "执行问题报告", "public-feedback-received": "公众意见反馈",
    "post-evaluation-done": "决策后评估", "adjustment-decided": "决策调整", "adjustment-completed": "调整生效",
    "comments-imported": "公众意见导入", "comment-disposed": "公众意见处理", "dossier-archived": "归档",
    "departments-consulted": "征求有关部门意见", "dispute-stated": "说明争议情况",
}

def mono(text: str) -> dict[str, str]:
    """A table cell shown in a monospace span (hashes, pack ids)."""
    return {"mono": text}


def dossier_html(
    events: Sequence[StoredEvent], pack: PolicyPack, meta: Mapping[str, str], withheld: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The printable dossier page (Chinese): facts, stages, the meeting's opinions, warnings, every record
    (templates/dossier.html.j2; this function only gathers what the page shows)."""
    state: CaseState = replay(events)
    statuses = state.statuses(pack)
    stage_rows = []
    for s in pack.stages:
        st = statuses[s.id]
        recorded = [r for r in state.history if r.type in s.events]
        stage_rows.append((s.zh, STATUS_ZH.get(st.status, st.status),
                           ", ".join(f"#{r.seq} {EVENT_ZH.get(r.type, r.type)}" for r in recorded), st.detail))
    meetings = []
    for m in (r for r in state.history if r.type == "meeting-held"):
        p = m.payload
        meeting = MEETING_ZH.get(p["meeting_type"], p["meeting_type"])
        meetings.append({
            "held_on": p["held_on"], "session": p.get("session") or meeting, "meeting": meeting, "head": p["head"],
            "decision": DECISION_ZH.get(p["decision"], p["decision"]), "minutes_ref": p.get("minutes_ref"),
            "head_reasons": p.get("head_reasons"),
            "opinion_rows": [(str(i), o["member"] + ("（行政首长）" if o["member"] == p["head"] else ""),
                              POSITION_ZH.get(o["position"], o["position"]), o.get("remarks", ""))
                             for i, o in enumerate(p["opinions"], 1)],
        })
    withheld_hashes = {w["sha256"] for w in withheld}
    documents = [
        (f"#{r.seq}", r.payload["display_name"], r.payload.get("title", ""), r.payload["size"],
         ("依法不予公开" + ("（本公开版未收录）" if r.payload["sha256"] in withheld_hashes else ""))
         if r.payload["disclosure"] == "non-disclosure" else "公开",
         mono(r.payload["sha256"]))
        for r in state.history if r.type == "document-attached"
    ]
    disposed = [e for e in events if e.type == "comment-disposed"]
    latest = {e.payload["target"]: e.seq for e in disposed}
    return render("dossier.html.j2", {
        "meta": meta,
        "state": state,
        "units": state.lead_unit + ("、" + "、".join(state.co_units) if state.co_units else ""),
        "flags": "、".join(sorted(state.flags)),
        "stage_rows": stage_rows,
        "meetings": meetings,
        "acks": [(f"#{r.seq} {EVENT_ZH.get(r.type, r.type)}", a["rule"], a.get("article", ""), r.actor, a["reason"])
                 for r, a in state.acknowledgements],
        "refused": [(f"#{r.seq}", r.recorded_at[:19], r.actor,
                     EVENT_ZH.get(r.payload["attempted_event"], r.payload["attempted_event"]), "、".join(r.payload["rules"]))
                    for r in state.refused],
        "documents": documents,
        "imports": [(f"#{e.seq}", e.recorded_at[:19], e.actor.split(":", 1)[-1], e.payload["rows"], e.payload["new_rows"],
                     e.payload["late"], e.payload["received_total"], e.payload["distinct_total"],
                     e.payload["clusters_total"])
                    for e in events if e.type == "comments-imported"],
        "disposed": [(f"#{e.seq}", _target_zh(e.payload["target"]), e.payload["comments"],
                      DISPOSITION_ZH.get(e.payload["disposition"], e.payload["disposition"])
                      + ("" if latest[e.payload["target"]] == e.seq else f"（已由#{latest[e.payload['target']]}更正）"),
                      e.payload.get("reason", ""), e.actor.split(":", 1)[-1])
                     for e in disposed],
        "records": [(str(e.seq), e.recorded_at[:19], EVENT_ZH.get(e.type, e.type), e.actor.split(":", 1)[-1], e.role,
                     mono(e.hash[:16] + "…"))
                    for e in events],
    })


DISPOSITION_ZH = {"adopted": "采纳", "partly-adopted": "部分采纳", "not-adopted": "不予采纳"}


def _target_zh(target: str) -> str:
    kind, number = target.split(":", 1)
    return f"第{number}组意见" if kind == "cluster" else f"第{number}号意见"


def four_properties_report(checks: Mapping[str, Any]) -> str:
    """The 四性 (authenticity, integrity, usability, security) report as stable JSON (DA/T 70 items that apply)."""
    return json.dumps(checks, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

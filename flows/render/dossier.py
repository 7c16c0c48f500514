"""The readable dossier page (案卷) and the 四性 check report, rendered deterministically from the history alone.

Because both are pure functions of the history (and the policy pack the case ran under), `archive verify` renders
them again from the bag and compares bytes: an edited page is caught even when the bag's manifests were
regenerated after the edit.
"""

from __future__ import annotations

import html
import json
from typing import Any, Mapping, Sequence

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

_CSS = """
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif; margin: 2em auto; max-width: 960px;
       color: #111; line-height: 1.6; }
h1 { font-size: 1.6em; text-align: center; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #444; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #666; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; } .meta td:first-child { width: 8em; background: #f6f6f6; } .mono { font-family: monospace; }
.note { color: #555; font-size: 0.9em; } .warn { color: #8a5300; } .refused { color: #a00; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
"""


def _e(value: Any) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    out = [f'<table{f" class={cls!r}" if cls else ""}><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "".join(out) + "</tbody></table>"


def dossier_html(
    events: Sequence[StoredEvent], pack: PolicyPack, meta: Mapping[str, str], withheld: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The printable dossier page (Chinese): facts, stages, the meeting's opinions, warnings, every record."""
    state: CaseState = replay(events)
    statuses = state.statuses(pack)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_e(meta['题名'])} — 重大行政决策档案</title><style>{_CSS}</style></head><body>",
        "<h1>重大行政决策档案</h1>",
        f'<p style="text-align:center">{_e(meta["题名"])}</p>',
        _table(("项目", "内容"), [
            ("档号", _e(meta["档号"])), ("题名", _e(meta["题名"])), ("责任者", _e(meta["责任者"])),
            ("承办单位", _e(state.lead_unit) + ("、" + "、".join(_e(u) for u in state.co_units) if state.co_units else "")),
            ("日期", _e(meta["日期"])), ("保管期限", _e(meta["保管期限"])), ("密级", _e(meta["密级"])),
            ("决策事项类别", _e(state.category)), ("标记", _e("、".join(sorted(state.flags)) or "无")),
            ("程序规则包", f'<span class="mono">{_e(state.policy)} {_e(state.policy_hash[:16])}…</span>'),
            ("案件编号", _e(state.case_id)),
        ], cls="meta"),
        "<h2>一、程序履行情况</h2>",
    ]
    rows = []
    for s in pack.stages:
        st = statuses[s.id]
        recorded = [r for r in state.history if r.type in s.events]
        rows.append((_e(s.zh), _e(STATUS_ZH.get(st.status, st.status)),
                     _e(", ".join(f"#{r.seq} {EVENT_ZH.get(r.type, r.type)}" for r in recorded)), _e(st.detail)))
    parts.append(_table(("阶段", "状态", "记录", "说明"), rows))

    meetings = [r for r in state.history if r.type == "meeting-held"]
    if meetings:
        parts.append("<h2>二、集体讨论决定</h2>")
        for m in meetings:
            p = m.payload
            parts.append(
                f"<p>{_e(p['held_on'])} {_e(p.get('session') or MEETING_ZH.get(p['meeting_type'], p['meeting_type']))}"
                f"（{_e(MEETING_ZH.get(p['meeting_type'], p['meeting_type']))}），行政首长：{_e(p['head'])}；"
                f"决定：<b>{_e(DECISION_ZH.get(p['decision'], p['decision']))}</b>"
                + (f"；会议纪要：{_e(p['minutes_ref'])}" if p.get("minutes_ref") else "") + "</p>"
            )
            parts.append(_table(("发言顺序", "组成人员", "意见", "说明"), [
                (str(i), _e(o["member"]) + ("（行政首长）" if o["member"] == p["head"] else ""),
                 _e(POSITION_ZH.get(o["position"], o["position"])), _e(o.get("remarks", "")))
                for i, o in enumerate(p["opinions"], 1)
            ]))
            if p.get("head_reasons"):
                parts.append(f"<p>行政首长说明理由：{_e(p['head_reasons'])}</p>")

    acks = state.acknowledgements
    parts.append("<h2>三、经确认的程序警示</h2>")
    if acks:
        parts.append(_table(("记录", "规则", "依据", "确认人", "理由"), [
            (f"#{r.seq} {_e(EVENT_ZH.get(r.type, r.type))}", _e(a["rule"]), _e(a.get("article", "")), _e(r.actor), _e(a["reason"]))
            for r, a in acks
        ]))
    else:
        parts.append('<p class="note">无。</p>')
    parts.append("<h2>四、被拒绝的操作</h2>")
    if state.refused:
        parts.append(_table(("记录", "时间(UTC)", "操作人", "试图记录", "拒绝依据"), [
            (f"#{r.seq}", _e(r.recorded_at[:19]), _e(r.actor), _e(EVENT_ZH.get(r.payload["attempted_event"], r.payload["attempted_event"])),
             _e("、".join(r.payload["rules"])))
            for r in state.refused
        ], cls="refused"))
    else:
        parts.append('<p class="note">无。</p>')

    docs = [r for r in state.history if r.type == "document-attached"]
    parts.append("<h2>五、文件目录</h2>")
    withheld_hashes = {w["sha256"] for w in withheld}
    if docs:
        parts.append(_table(("记录", "文件名", "题名", "大小(字节)", "公开属性", "SHA-256"), [
            (f"#{r.seq}", _e(r.payload["display_name"]), _e(r.payload.get("title", "")), _e(r.payload["size"]),
             _e("依法不予公开" + ("（本公开版未收录）" if r.payload["sha256"] in withheld_hashes else "")
                if r.payload["disclosure"] == "non-disclosure" else "公开"),
             f'<span class="mono">{_e(r.payload["sha256"])}</span>')
            for r in docs
        ]))
    else:
        parts.append('<p class="note">无附件。</p>')

    parts += _comments_section(events)
    parts.append("<h2>七、全部记录（全程留痕）</h2>")
    by_seq = {e.seq: e for e in events}
    parts.append(_table(("序号", "记录时间(UTC)", "事项", "操作人", "角色", "哈希"), [
        (str(e.seq), _e(e.recorded_at[:19]), _e(EVENT_ZH.get(e.type, e.type)), _e(e.actor.split(":", 1)[-1]), _e(e.role),
         f'<span class="mono">{_e(by_seq[e.seq].hash[:16])}…</span>')
        for e in events
    ]))
    parts.append(f'<p class="note">本页由 juece 依据事件历史生成；校验：{_e(meta.get("校验", ""))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


DISPOSITION_ZH = {"adopted": "采纳", "partly-adopted": "部分采纳", "not-adopted": "不予采纳"}


def _target_zh(target: str) -> str:
    kind, number = target.split(":", 1)
    return f"第{number}组意见" if kind == "cluster" else f"第{number}号意见"


def _comments_section(events: Sequence[StoredEvent]) -> list[str]:
    """公众意见及其处理: each import as recorded, and every disposition in the order recorded (条例 art. 18)."""
    parts = ["<h2>六、公众意见及其处理</h2>"]
    imports = [e for e in events if e.type == "comments-imported"]
    disposed = [e for e in events if e.type == "comment-disposed"]
    if not imports and not disposed:
        parts.append('<p class="note">无导入的公众意见。</p>')
        return parts
    if imports:
        parts.append(_table(("记录", "导入时间(UTC)", "操作人", "文件条数", "新增", "其中逾期", "累计收到", "去重后", "归并后(组)"), [
            (f"#{e.seq}", _e(e.recorded_at[:19]), _e(e.actor.split(":", 1)[-1]), _e(e.payload["rows"]), _e(e.payload["new_rows"]),
             _e(e.payload["late"]), _e(e.payload["received_total"]), _e(e.payload["distinct_total"]), _e(e.payload["clusters_total"]))
            for e in imports
        ]))
    if disposed:
        latest = {e.payload["target"]: e.seq for e in disposed}
        parts.append(_table(("记录", "意见", "涉及条数", "处理", "理由", "操作人"), [
            (f"#{e.seq}", _e(_target_zh(e.payload["target"])), _e(e.payload["comments"]),
             _e(DISPOSITION_ZH.get(e.payload["disposition"], e.payload["disposition"]))
             + ("" if latest[e.payload["target"]] == e.seq else f"（已由#{latest[e.payload['target']]}更正）"),
             _e(e.payload.get("reason", "")), _e(e.actor.split(":", 1)[-1]))
            for e in disposed
        ]))
    parts.append('<p class="note">意见原文见 data/comments/comments.jsonl（公开版不含个人姓名），其哈希值记录于导入事项。</p>')
    return parts


def four_properties_report(checks: Mapping[str, Any]) -> str:
    """The 四性 (authenticity, integrity, usability, security) report as stable JSON (DA/T 70 items that apply)."""
    return json.dumps(checks, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

"""Chinese first, English beside: the words the console shows for events, fields, statuses and roles."""

from __future__ import annotations

EVENTS = {
    "consultation-opened": "公开征求意见 open public consultation",
    "hearing-announced": "听证公告 hearing announced",
    "hearing-held": "举行听证会 hearing held",
    "participation-activity-held": "座谈会等公众参与 participation activity",
    "participation-concluded": "公众参与结束 participation concluded",
    "participation-exempted": "依法不公开征求意见 participation exempted",
    "expert-review-concluded": "专家论证 expert review concluded",
    "expert-review-waived": "免于专家论证 expert review waived",
    "expert-panel-drawn": "抽取专家 expert panel drawn",
    "risk-assessed": "风险评估 risk assessed",
    "risk-assessment-reused": "沿用风险评估 risk assessment reused",
    "risk-assessment-waived": "免于风险评估 risk assessment waived",
    "legality-review-submitted": "送请合法性审查 legality review submitted",
    "legality-review-returned": "退回补充材料 legality review returned",
    "legality-opinion-issued": "出具合法性审查意见 legality opinion issued",
    "legality-opinion-answered": "根据审查意见修改 legality opinion answered",
    "meeting-held": "集体讨论决定 meeting held",
    "party-reported": "向党委请示报告 party reported",
    "npc-reported": "向人大常委会报告 NPC reported",
    "decision-published": "公布决策 decision published",
    "publication-exempted": "依法不予公开 publication exempted",
    "execution-reported": "执行情况报告 execution reported",
    "execution-problem-reported": "执行问题报告 execution problem",
    "public-feedback-received": "执行中的公众意见 public feedback",
    "post-evaluation-done": "决策后评估 post-evaluation",
    "adjustment-decided": "决策调整 adjustment decided",
    "adjustment-completed": "调整完成 adjustment completed",
    "case-launched": "决策启动 case launched",
    "attempt-refused": "被拒绝的尝试 refused attempt",
    "document-attached": "附件 document attached",
    "comments-imported": "导入公众意见 comments imported",
    "dossier-archived": "归档 dossier archived",
    "decision-posted": "网上发布 decision posted",
}

FIELDS = {
    "published_on": "发布日期 published on", "deadline": "截止日期 deadline", "channels": "渠道 channels",
    "draft_sha256": "草案 sha256 draft", "explanation_sha256": "起草说明 sha256 explanation",
    "comment_methods": "提交意见方式 comment methods", "shortened_reason": "缩短期限理由 shortened reason",
    "concluded_on": "结束日期 concluded on", "handling_report": "意见处理情况 handling report",
    "comments_received": "收到意见数 comments received", "held_on": "召开日期 held on", "experts": "专家 experts",
    "opinions": "意见 opinions", "adoption_report": "采纳情况 adoption report", "method": "方式 method",
    "assessed_on": "评估日期 assessed on", "departments_consulted": "征求意见部门 departments consulted",
    "risk_points": "风险点 risk points", "level": "风险等级 level", "measures": "防范措施 measures",
    "contingency_plan": "应急预案 contingency plan", "controllable": "风险可控 controllable",
    "submitted_on": "送审日期 submitted on", "materials": "送审材料 materials", "legal_basis": "法律依据 legal basis",
    "issued_on": "出具日期 issued on", "conclusion": "审查结论 conclusion", "findings": "审查意见 findings",
    "adviser_opinions": "法律顾问意见 adviser opinions", "legal_risk_statement": "法律风险提示 legal risk",
    "meeting_type": "会议类型 meeting type", "members_present": "出席成员 members present", "head": "行政首长 head",
    "decision": "决定 decision", "head_reasons": "首长决定理由 head's reasons", "package": "上会材料 package",
    "reported_on": "报告日期 reported on", "reference": "文号 reference", "text_sha256": "决策文本 sha256 text",
    "decided_on": "决定日期 decided on", "reason": "理由 reason", "basis": "依据 basis", "unit": "单位 unit",
    "status": "情况 status", "evaluated_on": "评估日期 evaluated on", "evaluator": "评估机构 evaluator",
    "trigger": "启动情形 trigger", "kind": "类别 kind", "ground": "理由 ground", "child_case": "调整案件 child case",
    "notice_published_on": "公告日期 notice published on", "participants": "听证参加人 participants",
    "prior_report": "已有评估报告 prior report", "session": "会次 session", "minutes_ref": "会议纪要 minutes",
    "attendees": "列席 attendees", "answered_on": "答复日期 answered on", "responses": "修改情况 responses",
    "returned_on": "退回日期 returned on", "missing": "缺少材料 missing", "scheduled_on": "计划日期 scheduled on",
    "place": "地点 place", "interpretation": "解读 interpretation", "execution": "执行安排 execution",
    "adoption_explanation": "意见采纳说明 adoption explanation", "withheld": "不公开内容 withheld",
}

STATUSES = {
    "pending": "未开始 pending", "in-progress": "进行中 in progress", "concluded": "已完成 concluded",
    "waived": "已免除 waived", "exempted": "已豁免 exempted", "closed": "已终止 closed",
    "open": "办理中 open", "decided": "已决定 decided", "published": "已公布 published", "ended": "已结束 ended",
    "met": "已满足 met", "overdue": "已逾期 overdue", "due-soon": "即将到期 due soon", "unknown": "无法计算 unknown",
    "suggested": "建议 suggested", "upcoming": "将到期 upcoming",
}

ROLES = {
    "legal-office": "法制机构 legal office", "clerk": "承办单位 clerk", "reviewer": "合法性审查 reviewer",
    "secretary": "会议秘书 secretary", "head": "行政首长 head", "auditor": "审计 auditor", "archivist": "档案 archivist",
    "admin": "系统管理员 admin",
}


def field_label(name: str) -> str:
    """'发布日期 published on' for a payload field (the field name itself when there is no translation)."""
    return FIELDS.get(name, name.replace("_", " "))


def event_label(event: str) -> str:
    """The Chinese name of an event, with the English."""
    return EVENTS.get(event, event)

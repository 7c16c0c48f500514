"""One frozen payload model per event type, named as PRODUCT.md names the events.

Each class says which stage its event belongs to and what it does there (`activity`, `conclusion`, `waiver`,
`exemption`), and carries a realistic example that `juece example EVENT` prints. Fields that a rule reads to decide
(a deadline, a list of channels) are checked by the rule, so that a missing one is refused naming the rule and
article; fields that are structure are checked here, so that a malformed one is bad input naming the field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models.fields import IsoDate, Name, NonEmptyText, Sha256, Text
from models.payload_base import Payload

SCHEMA_VERSION = 1


# --- the case itself -------------------------------------------------------------------------------------------

Category = Literal["public-policy", "plan", "resources", "public-construction", "other"]
Flag = Literal[
    "technical",
    "risk-relevant",
    "special-group",
    "market-activity",
    "public-concern",
    "livelihood",
    "non-disclosure",
    "exploratory",
    "npc-report",
    "hearing-required",
]


ProposerType = Literal[
    "leader", "department", "lower-government", "npc-deputy", "cppcc-member", "citizen", "organisation"
]


class Proposal(BaseModel):
    """Where the decision item came from (条例 art. 10): who proposed it and, for a department or a lower-level
    government, the five things its proposal must argue (INI-01); for the others, the unit that studied it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    proposer_type: ProposerType
    proposer: Name
    received_on: IsoDate | None = None
    content: Text = ""
    problem: Text = ""  # 拟解决的主要问题
    reasons_basis: Text = ""  # 建议理由和依据
    preliminary_plan: Text = ""  # 解决问题的初步方案
    necessity: Text = ""  # 必要性
    feasibility: Text = ""  # 可行性
    study_unit: Text = ""  # 交有关单位研究论证 (a leader's, a deputy's, a member's or the public's proposal)
    study_result: Text = ""


class CaseLaunched(Payload):
    """The decision organ launched the procedure for a decision item (条例 arts. 10–11).

    `category` is judged by SCP-02/SCP-03 and `lead_unit` by INI-03 (refusals naming the rule, not bad input);
    `decided_on` is the organ's launch decision (INI-02), absent in cases launched before it was recorded."""

    event_type = "case-launched"
    title: Name
    category: Name
    organ: Name
    lead_unit: Name | None = None
    co_units: tuple[Name, ...] = ()
    catalog_item: Name | None = None
    catalog_version: int | None = None  # the version of the organ's catalog the item was found in (SCP-05)
    flags: tuple[Flag, ...] = ()
    policy: Name
    policy_hash: Sha256
    launched_on: IsoDate
    parent_case: Name | None = None
    adjustment: Literal["stop", "amend", "repeal"] | None = None
    decided_on: IsoDate | None = None
    proposal: Proposal | None = None


class AttemptRefused(Payload):
    """A refused attempt, kept so the history shows who tried what and which rule refused it; no stage changes."""

    event_type = "attempt-refused"
    attempted_event: Name
    rules: tuple[Name, ...]
    message: Text
    payload_sha256: Sha256


class DocumentAttached(Payload):
    """A document (draft, report, minutes) was put in the content-addressed store; events cite it by sha256."""

    event_type = "document-attached"
    sha256: Sha256
    size: int = Field(ge=0, le=2**50)
    display_name: Name
    media_type: Name = "application/octet-stream"
    title: Text = ""
    disclosure: Literal["public", "non-disclosure"] = "public"
    disclosure_basis: Text = ""


class CommentsImported(Payload):
    """A file of public comments was imported (rows kept in the comments table; this record binds them to the chain:
    `stored_sha256` is the sha256 of the row hashes stored by this import, `public_sha256` that of the stored rows as
    a public register shows them — every column, the author only where the pack classes it an organisation — so a
    public archive without private persons' names still verifies; imports recorded before it carry none)."""

    event_type = "comments-imported"
    import_id: Sha256
    file_sha256: Sha256
    stored_sha256: Sha256
    public_sha256: Sha256 | None = None
    rows: int = Field(ge=0)
    new_rows: int = Field(ge=0)
    late: int = Field(ge=0)
    received_total: int = Field(ge=0)
    distinct_total: int = Field(ge=0)
    clusters_total: int = Field(ge=0)


DISPOSITION_TARGET = r"^(comment|cluster):[1-9][0-9]{0,17}$"  # one comment by its id, or one cluster by its number


class CommentDisposed(Payload):
    """How one public comment or one cluster of them was handled (采纳 / 部分采纳 / 不予采纳) and why (条例 art. 18);
    recorded by `juece comments dispose`. A later disposition of the same target supersedes, it never edits."""

    event_type = "comment-disposed"
    target: Annotated[str, StringConstraints(pattern=DISPOSITION_TARGET)]
    disposition: Literal["adopted", "partly-adopted", "not-adopted"]
    reason: Text = ""
    comments: int = Field(ge=1)  # how many comments the target covered when it was disposed


class DecisionPosted(Payload):
    """The decision text was posted to a publication portal by the publication flow; where it now is."""

    event_type = "decision-posted"
    portal: NonEmptyText
    url: NonEmptyText
    text_sha256: Sha256
    posted_on: IsoDate


class DossierArchived(Payload):
    """The case's dossier was exported as a BagIt package; the tag manifest's hash binds the bag to the history."""

    event_type = "dossier-archived"
    archive_id: NonEmptyText
    bag_name: NonEmptyText
    export: Literal["full", "public"]
    tagmanifest_sha256: Sha256
    tree_size: int = Field(ge=1)
    checkpoint_root: Sha256
    archived_on: IsoDate
    supplement_of: Text = ""
    documents: tuple[Sha256, ...] = ()  # the attached documents handed over from the store (ARC-02)


# --- public participation (公众参与) --------------------------------------------------------------------------


class Channel(BaseModel):
    """Where a notice was published: the website address, the new-media account, the newspaper issue."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    kind: Literal["website", "new-media", "newspaper", "broadcast", "television", "gazette", "other"]
    ref: Text = ""


class ConsultationOpened(Payload):
    """The draft was published for public comment (向社会公开征求意见, 条例 art. 15)."""

    event_type = "consultation-opened"
    stage = "public_participation"
    future_dates = frozenset({"deadline"})
    published_on: IsoDate
    deadline: IsoDate
    channels: tuple[Channel, ...] = ()
    draft_sha256: Sha256 | None = None
    explanation_sha256: Sha256 | None = None
    comment_methods: tuple[NonEmptyText, ...] = ()
    shortened_reason: Text | None = None
    example = {
        "published_on": "2025-09-01",
        "deadline": "2025-10-09",
        "channels": [
            {"kind": "website", "ref": "https://www.sanya.gov.cn/sanyasite/zjdc/202509/hx-penggai.html"},
            {"kind": "new-media", "ref": "“三亚发布”微信公众号 2025-09-01"},
            {"kind": "newspaper", "ref": "《三亚日报》2025年9月1日 第3版"},
        ],
        "draft_sha256": "3b5d5c3712955042212316173ccf37be800cb2ef0b2bd3e6d7c1d0c2f1a1b0f0",
        "explanation_sha256": "9f2c4b1e7a0d3c5b6e8f1a2d4c6b8e0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b",
        "comment_methods": ["电子邮件 sycjb@sanya.gov.cn", "信函：三亚市住房和城乡建设局（邮编572000）"],
    }


class HearingAnnounced(Payload):
    """A hearing was announced: notice, time and place (条例 art. 16(2)); gives the materials deadline (CAL-04)."""

    event_type = "hearing-announced"
    stage = "public_participation"
    future_dates = frozenset({"scheduled_on"})
    notice_published_on: IsoDate
    scheduled_on: IsoDate
    place: NonEmptyText
    example = {"notice_published_on": "2025-09-05", "scheduled_on": "2025-09-26", "place": "三亚市人民政府第一会议室"}


class HearingParticipant(BaseModel):
    """One hearing participant: the side represented, when the materials reached them, and the signed record."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: Name
    side: NonEmptyText
    materials_delivered_on: IsoDate
    confirmed: bool
    refusal_note: Text | None = None


class HearingHeld(Payload):
    """A public hearing was held (听证会, 条例 arts. 16–17)."""

    event_type = "hearing-held"
    stage = "public_participation"
    notice_published_on: IsoDate
    held_on: IsoDate
    place: Text = ""
    selection_method_published_on: IsoDate | None = None
    selected_on: IsoDate | None = None
    list_published_on: IsoDate | None = None
    sides: tuple[NonEmptyText, ...] = ()
    participants: tuple[HearingParticipant, ...] = Field(min_length=1)
    transcript_sha256: Sha256 | None = None
    participant_groups: tuple[
        Literal[
            "npc-deputy", "cppcc-member", "people-organisation", "grassroots", "social-organisation", "interested-party"
        ],
        ...,
    ] = ()
    example = {
        "notice_published_on": "2025-09-05",
        "held_on": "2025-09-26",
        "place": "三亚市人民政府第一会议室",
        "selection_method_published_on": "2025-09-05",
        "selected_on": "2025-09-12",
        "list_published_on": "2025-09-15",
        "sides": ["被征收户", "周边居民", "建设单位"],
        "participants": [
            {"name": "王海生", "side": "被征收户", "materials_delivered_on": "2025-09-16", "confirmed": True},
            {
                "name": "符秀英",
                "side": "被征收户",
                "materials_delivered_on": "2025-09-16",
                "confirmed": False,
                "refusal_note": "对补偿标准有异议，拒绝签字，已记录在案",
            },
            {"name": "陈美玲", "side": "周边居民", "materials_delivered_on": "2025-09-17", "confirmed": True},
            {
                "name": "林志强（三亚城投集团）",
                "side": "建设单位",
                "materials_delivered_on": "2025-09-16",
                "confirmed": True,
            },
        ],
    }


class ParticipationActivityHeld(Payload):
    """Another way of hearing the public (座谈会, 实地走访, 书面征求意见, 问卷调查, 民意调查; 条例 art. 14(2))."""

    event_type = "participation-activity-held"
    stage = "public_participation"
    method: Literal["forum", "field-visit", "written-consultation", "questionnaire", "opinion-poll", "other"]
    held_on: IsoDate
    description: NonEmptyText
    participants: tuple[NonEmptyText, ...] = ()
    participant_groups: tuple[
        Literal[
            "npc-deputy", "cppcc-member", "people-organisation", "grassroots", "social-organisation", "interested-party"
        ],
        ...,
    ] = ()
    example = {
        "method": "forum",
        "held_on": "2025-09-18",
        "description": "河西片区棚改座谈会：社区居委会、被征收户代表、人大代表、政协委员",
        "participants": ["河西社区居委会", "被征收户代表12人", "市人大代表 符雪梅", "市政协委员 黎明"],
        "participant_groups": ["grassroots", "interested-party", "npc-deputy", "cppcc-member"],
    }


class HandlingReport(BaseModel):
    """The study and adoption of public opinions (意见研究采纳情况, 条例 arts. 18, 29(2))."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    main_opinions: Text = ""
    adopted: Text = ""
    not_adopted: Text = ""
    reasons: Text = ""


class ParticipationConcluded(Payload):
    """Public participation was concluded, with the handling report (条例 art. 18)."""

    event_type = "participation-concluded"
    stage = "public_participation"
    kind = "conclusion"
    concluded_on: IsoDate
    comments_received: int = Field(default=0, ge=0, le=10**9)
    handling_report: HandlingReport | None = None
    hearing_feedback_published_on: IsoDate | None = None
    example = {
        "concluded_on": "2025-10-10",
        "comments_received": 412,
        "handling_report": {
            "main_opinions": "补偿标准偏低；安置房选址距离学校较远；施工期间交通组织",
            "adopted": "货币补偿系数提高至1.15；增设河西小学周边安置点",
            "not_adopted": "全部实行原地回迁",
            "reasons": "原址位于防洪规划控制区，不具备原地回迁条件",
        },
    }


class ParticipationExempted(Payload):
    """Public participation exempted because the matter is lawfully not disclosed (依法不予公开, 条例 art. 14(1))."""

    event_type = "participation-exempted"
    stage = "public_participation"
    kind = "exemption"
    basis: NonEmptyText
    decided_on: IsoDate
    example = {"basis": "《政府信息公开条例》第十四条：公开后可能危及社会稳定", "decided_on": "2025-09-01"}


# --- expert review (专家论证) ------------------------------------------------------------------------------------


class Expert(BaseModel):
    """One expert or institution on the panel, with the declared interest (null when none)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: Name
    affiliation: NonEmptyText
    specialty: Text = ""
    stance: Text = ""
    conflict_of_interest: Text | None = None


class ExpertOpinion(BaseModel):
    """A written expert opinion, signed and sealed as 条例 art. 19(2) requires."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    author: Name
    summary: NonEmptyText
    signed: bool = False
    sealed: bool = False


class ExpertReviewConcluded(Payload):
    """Experts argued the draft's necessity, feasibility and soundness (专家论证, 条例 arts. 19–20)."""

    event_type = "expert-review-concluded"
    stage = "expert_review"
    kind = "conclusion"
    held_on: IsoDate
    method: Literal["hearing-of-experts", "written-consultation", "commissioned-study"]
    expert_bank: Text = ""
    experts: tuple[Expert, ...] = Field(min_length=1)
    opinions: tuple[ExpertOpinion, ...] = Field(min_length=1)
    adoption_report: Text = ""
    publication_ref: Text = ""
    example = {
        "held_on": "2025-10-14",
        "method": "hearing-of-experts",
        "expert_bank": "海南省决策咨询论证专家库",
        "experts": [
            {
                "name": "李建国",
                "affiliation": "海南大学土木建筑工程学院",
                "specialty": "城市更新",
                "stance": "支持分期实施",
                "conflict_of_interest": None,
            },
            {
                "name": "黄雅琴",
                "affiliation": "海南省建筑设计院",
                "specialty": "结构安全",
                "stance": "主张整体改造",
                "conflict_of_interest": None,
            },
            {
                "name": "吴德明",
                "affiliation": "中山大学城市规划系",
                "specialty": "住房保障",
                "stance": "对补偿方案有保留",
                "conflict_of_interest": None,
            },
        ],
        "opinions": [
            {"author": "李建国", "summary": "项目必要，建议分两期实施", "signed": True, "sealed": True},
            {"author": "黄雅琴", "summary": "现状房屋多为C、D级危房，改造可行", "signed": True, "sealed": True},
            {"author": "吴德明", "summary": "补偿标准应与周边市场价格挂钩", "signed": True, "sealed": True},
        ],
        "adoption_report": "采纳分期实施及补偿与市场价格挂钩的意见；整体改造意见因资金约束部分采纳",
    }


class PoolExpert(BaseModel):
    """An expert in the decision-consultation pool (决策咨询论证专家库), with declared interests."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: Name
    affiliation: NonEmptyText
    specialty: NonEmptyText
    stance: Text = ""
    interests: tuple[NonEmptyText, ...] = ()  # units or matters the expert declared a direct interest in


class ExpertPanelDrawn(Payload):
    """A recorded random draw from the pool (条例 arts. 20–21): the seed, who was excluded and why, who was drawn."""

    event_type = "expert-panel-drawn"
    stage = "expert_review"
    drawn_on: IsoDate
    pool_sha256: Sha256
    seed: NonEmptyText
    specialty: Text = ""
    excluded: tuple[dict[str, str], ...] = ()
    drawn: tuple[PoolExpert, ...] = Field(min_length=1)
    example = {
        "drawn_on": "2025-10-10",
        "pool_sha256": "ab" * 32,
        "seed": "c0ffee",
        "specialty": "",
        "excluded": [{"name": "周建华", "reason": "declared interest: 三亚城投集团"}],
        "drawn": [{"name": "李建国", "affiliation": "海南大学", "specialty": "城市更新", "stance": "支持分期实施"}],
    }


class ExpertReviewWaived(Payload):
    """A recorded decision that the item is not specialised enough to need experts (条例 art. 19, 应评未评 audit)."""

    event_type = "expert-review-waived"
    stage = "expert_review"
    kind = "waiver"
    reason: NonEmptyText
    decided_on: IsoDate
    example = {"reason": "事项为既有政策延续，不涉及专业性、技术性较强的问题", "decided_on": "2025-10-12"}


# --- risk assessment (风险评估) -----------------------------------------------------------------------------------


class RiskAssessed(Payload):
    """The draft's risk was assessed (社会稳定风险评估, 条例 arts. 22–23)."""

    event_type = "risk-assessed"
    stage = "risk_assessment"
    kind = "conclusion"
    assessed_on: IsoDate
    assessor: Text = ""
    departments_consulted: tuple[NonEmptyText, ...] = ()
    risk_points: tuple[NonEmptyText, ...] = ()
    level: Literal["high", "medium", "low"]
    measures: tuple[NonEmptyText, ...] = ()
    contingency_plan: Text = ""
    controllable: bool
    publication_ref: Text = ""
    example = {
        "assessed_on": "2025-10-20",
        "assessor": "三亚市社会稳定风险评估中心",
        "departments_consulted": ["市公安局", "市信访局", "天涯区人民政府", "市自然资源和规划局"],
        "risk_points": ["补偿争议引发群体性上访", "施工期间交通拥堵", "过渡安置期延长"],
        "level": "low",
        "measures": ["一户一策入户协商", "设立现场接待点", "交警部门制定交通疏导方案"],
        "contingency_plan": "成立应急处置小组，24小时值班；突发事件30分钟内到场",
        "controllable": True,
    }


class PriorReport(BaseModel):
    """An earlier assessment that already covers this risk (RSK-02)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    ref: Text = ""
    issuer: Text = ""
    issued_on: IsoDate | None = None
    scope: Text = ""


class RiskAssessmentReused(Payload):
    """An existing assessment was reused rather than repeated (不作重复评估, 条例 art. 22(2))."""

    event_type = "risk-assessment-reused"
    stage = "risk_assessment"
    kind = "conclusion"
    decided_on: IsoDate
    prior_report: PriorReport
    controllable: bool = True
    example = {
        "decided_on": "2025-10-20",
        "prior_report": {
            "ref": "三发改投资〔2025〕88号 社会稳定风险评估报告",
            "issuer": "三亚市发展和改革委员会",
            "issued_on": "2025-06-30",
            "scope": "河西片区棚户区改造项目全部建设内容",
        },
        "controllable": True,
    }


class RiskAssessmentWaived(Payload):
    """A recorded decision that no adverse impact is possible, so no assessment (条例 art. 22, 应评未评 audit)."""

    event_type = "risk-assessment-waived"
    stage = "risk_assessment"
    kind = "waiver"
    reason: NonEmptyText
    decided_on: IsoDate
    example = {"reason": "事项仅涉及内部管理流程，不可能对社会稳定、公共安全造成不利影响", "decided_on": "2025-10-20"}


# --- legality review (合法性审查) ---------------------------------------------------------------------------------


class Material(BaseModel):
    """One item sent with a submission or to the meeting."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    kind: Literal[
        "draft",
        "explanation",
        "legal-basis",
        "procedure-statement",
        "participation-report",
        "expert-report",
        "risk-report",
        "legality-opinion",
        "fair-competition-review",
        "dispute-statement",
        "legal-risk-statement",
        "other",
    ]
    title: NonEmptyText
    sha256: Sha256 | None = None


class LegalityReviewSubmitted(Payload):
    """The draft was sent to the legality-review department (送请合法性审查, 条例 art. 26)."""

    event_type = "legality-review-submitted"
    stage = "legality_review"
    submitted_on: IsoDate
    materials: tuple[Material, ...] = ()
    legal_basis: tuple[NonEmptyText, ...] = ()
    example = {
        "submitted_on": "2025-10-21",
        "materials": [
            {
                "kind": "draft",
                "title": "三亚市河西片区棚户区改造实施方案（送审稿）",
                "sha256": "3b5d5c3712955042212316173ccf37be800cb2ef0b2bd3e6d7c1d0c2f1a1b0f0",
            },
            {"kind": "explanation", "title": "关于《实施方案（送审稿）》的起草说明"},
            {"kind": "procedure-statement", "title": "履行决策法定程序的说明"},
            {"kind": "participation-report", "title": "公众意见研究采纳情况"},
            {"kind": "expert-report", "title": "专家论证意见研究采纳情况"},
            {"kind": "risk-report", "title": "社会稳定风险评估报告"},
        ],
        "legal_basis": [
            "《国有土地上房屋征收与补偿条例》",
            "《海南省城镇棚户区改造实施办法》",
            "《重大行政决策程序暂行条例》",
        ],
    }


class LegalityReviewReturned(Payload):
    """The reviewer returned an incomplete submission or asked for more (退回 / 要求补充, 条例 art. 26(1))."""

    event_type = "legality-review-returned"
    stage = "legality_review"
    returned_on: IsoDate
    missing: tuple[NonEmptyText, ...] = Field(min_length=1)
    example = {"returned_on": "2025-10-09", "missing": ["征收补偿资金来源说明"]}


class Findings(BaseModel):
    """The three things a legality review must find on (条例 art. 27)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    authority: Text = ""
    procedure: Text = ""
    content: Text = ""


class AdviserOpinion(BaseModel):
    """A legal adviser's or public-sector lawyer's opinion (法律顾问、公职律师, 条例 art. 28)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: Name
    role: Literal["legal-adviser", "public-lawyer"]
    summary: Text = ""


class RequiredChange(BaseModel):
    """One change or supplement the opinion asks for (条例 art. 28)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    item: NonEmptyText


class LegalityOpinionIssued(Payload):
    """The legality-review department issued its opinion (合法性审查意见, 条例 arts. 27–28)."""

    event_type = "legality-opinion-issued"
    stage = "legality_review"
    kind = "conclusion"
    issued_on: IsoDate
    conclusion: Literal["lawful", "lawful-with-changes", "unlawful"]
    findings: Findings = Findings()
    adviser_opinions: tuple[AdviserOpinion, ...] = ()
    required_changes: tuple[RequiredChange, ...] = ()
    legal_risk_statement: Text = ""
    example = {
        "issued_on": "2025-10-27",
        "conclusion": "lawful-with-changes",
        "findings": {
            "authority": "属于市人民政府法定职权（《国有土地上房屋征收与补偿条例》第四条）",
            "procedure": "已履行公众参与、听证、专家论证、风险评估程序",
            "content": "补偿标准符合《国有土地上房屋征收与补偿条例》第十九条；过渡期限未明确",
        },
        "adviser_opinions": [
            {"name": "赵明律师", "role": "legal-adviser", "summary": "同意"},
            {"name": "孙丽", "role": "public-lawyer", "summary": "建议明确过渡安置期限"},
        ],
        "required_changes": [{"item": "明确过渡安置期限"}],
    }


class Response(BaseModel):
    """How the undertaking unit answered one required change."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    item: NonEmptyText
    change: NonEmptyText


class LegalityOpinionAnswered(Payload):
    """The undertaking unit answered the opinion's required changes (根据审查意见调整或者补充, 条例 art. 28)."""

    event_type = "legality-opinion-answered"
    stage = "legality_review"
    answered_on: IsoDate
    responses: tuple[Response, ...] = Field(min_length=1)
    example = {
        "answered_on": "2025-10-28",
        "responses": [{"item": "明确过渡安置期限", "change": "方案第五条增加“过渡安置期限不超过24个月”"}],
    }


# --- collective discussion (集体讨论决定) -------------------------------------------------------------------------

Position = Literal["approve", "oppose", "approve-with-changes", "defer"]


class MemberOpinion(BaseModel):
    """One member's opinion, in speaking order."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    member: Name
    position: Position
    remarks: Text = ""


class MeetingHeld(Payload):
    """The draft was discussed at the executive or plenary meeting and the head decided (条例 arts. 29–30)."""

    event_type = "meeting-held"
    stage = "collective_discussion"
    kind = "conclusion"
    required_on_record = ("members_present",)  # CD-05: the attendance list the opinions are checked against
    meeting_type: Literal["executive", "plenary", "mayor-office", "topic", "other"]
    session: Text = ""
    held_on: IsoDate
    members_present: tuple[Name, ...] = ()
    opinions: tuple[MemberOpinion, ...] = ()
    head: Name
    decision: Literal["approved", "approved-with-changes", "rejected", "deferred"]
    head_reasons: Text = ""
    package: tuple[Material, ...] = ()
    minutes_ref: Text = ""
    attendees: tuple[NonEmptyText, ...] = ()  # 列席 (CD-07, REC): stakeholders, public, experts, media
    example = {
        "meeting_type": "executive",
        "session": "八届市政府第72次常务会议",
        "held_on": "2025-10-30",
        "members_present": ["刘副市长", "陈副市长", "周副市长", "王秘书长", "李市长"],
        "opinions": [
            {"member": "刘副市长", "position": "approve"},
            {"member": "陈副市长", "position": "approve-with-changes", "remarks": "安置房交付时间应写入方案"},
            {"member": "周副市长", "position": "approve"},
            {"member": "王秘书长", "position": "approve"},
            {"member": "李市长", "position": "approve"},
        ],
        "head": "李市长",
        "decision": "approved",
        "package": [
            {
                "kind": "draft",
                "title": "三亚市河西片区棚户区改造实施方案（草案）",
                "sha256": "3b5d5c3712955042212316173ccf37be800cb2ef0b2bd3e6d7c1d0c2f1a1b0f0",
            },
            {"kind": "participation-report", "title": "公众意见研究采纳情况"},
            {"kind": "expert-report", "title": "专家论证意见研究采纳情况"},
            {"kind": "risk-report", "title": "社会稳定风险评估报告"},
            {"kind": "legality-opinion", "title": "市司法局合法性审查意见书"},
        ],
        "minutes_ref": "三府纪〔2025〕72号",
    }


# --- after the decision ---------------------------------------------------------------------------------------


class PartyReported(Payload):
    """The decision was reported to the same-level Party committee before issuance (请示报告, 条例 art. 31)."""

    event_type = "party-reported"
    stage = "party_report"
    kind = "conclusion"
    reported_on: IsoDate
    reference: NonEmptyText
    example = {"reported_on": "2025-11-03", "reference": "三府呈〔2025〕41号"}


class Interpretation(BaseModel):
    """How the decision was explained to the public (宣传解读, 条例 art. 32)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    kind: Literal["press-conference", "interview", "policy-reading", "other"]
    on: IsoDate
    ref: Text = ""


class ExecutionPlan(BaseModel):
    """What the decision says about its execution: who, to what end, how, by when, how reported (条例 art. 34;
    三亚(二十): 执行主体、执行目标、执行程序、执行时限、执行反馈)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    units: tuple[NonEmptyText, ...] = ()
    goals: Text = ""
    procedure: Text = ""
    time_limit: IsoDate | None = None
    feedback: Text = ""
    report_every_days: int = Field(default=0, ge=0, le=366)  # 0: the pack's period (EXE-02, CFG)


class NpcReported(Payload):
    """Reported to the people's congress standing committee (and the CPPCC heard) before issuance (条例 art. 8)."""

    event_type = "npc-reported"
    stage = "publication"
    reported_on: IsoDate
    reference: NonEmptyText
    cppcc_heard_on: IsoDate | None = None
    example = {"reported_on": "2025-11-04", "reference": "三府函〔2025〕118号", "cppcc_heard_on": "2025-11-03"}


class DecisionPublished(Payload):
    """The decision was published (决策公布, 条例 art. 32)."""

    event_type = "decision-published"
    stage = "publication"
    kind = "conclusion"
    future_dates = frozenset()
    published_on: IsoDate
    channels: tuple[Channel, ...] = ()
    text_sha256: Sha256
    adoption_explanation: Text = ""
    interpretation: tuple[Interpretation, ...] = ()
    execution: ExecutionPlan = ExecutionPlan()
    example = {
        "published_on": "2025-11-10",
        "channels": [
            {"kind": "gazette", "ref": "《三亚市人民政府公报》2025年第11期"},
            {"kind": "website", "ref": "https://www.sanya.gov.cn/sanyasite/zfwj/202511/hx-penggai.html"},
        ],
        "text_sha256": "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce",
        "adoption_explanation": "公众意见412条，采纳补偿系数、安置点选址等3项；专家意见采纳分期实施及补偿与市场价格挂钩",
        "interpretation": [{"kind": "press-conference", "on": "2025-11-10", "ref": "市政府新闻办第45场新闻发布会"}],
        "execution": {
            "units": ["三亚市住房和城乡建设局", "天涯区人民政府"],
            "goals": "2027年底前完成河西片区1,204户棚户区改造",
            "procedure": "入户调查—签约—腾退—建设—回迁",
            "time_limit": "2027-12-31",
            "feedback": "每季度向市政府报告执行情况",
            "report_every_days": 90,
        },
    }


class PublicationExempted(Payload):
    """Publication withheld, wholly or in part, as lawfully not disclosed (依法不予公开, 条例 art. 32)."""

    event_type = "publication-exempted"
    stage = "publication"
    kind = "exemption"
    decided_on: IsoDate
    basis: NonEmptyText
    withheld: NonEmptyText
    partial_publication_ref: Text = ""
    example = {
        "decided_on": "2025-11-05",
        "basis": "《政府信息公开条例》第十四条",
        "withheld": "安置房源具体位置及户籍人员名单",
        "partial_publication_ref": "https://www.sanya.gov.cn/sanyasite/zfwj/202511/decision-summary.html",
    }


class ExecutionReported(Payload):
    """An execution unit reported on execution (决策执行情况, 条例 art. 34)."""

    event_type = "execution-reported"
    stage = "execution"
    reported_on: IsoDate
    unit: Name
    status: NonEmptyText
    example = {
        "reported_on": "2026-01-15",
        "unit": "三亚市住房和城乡建设局",
        "status": "完成入户调查1,204户，签约率62%",
    }


class ExecutionProblemReported(Payload):
    """A problem, a major change of circumstances or force majeure reported to the organ (条例 art. 35(1))."""

    event_type = "execution-problem-reported"
    stage = "execution"
    reported_on: IsoDate
    occurred_on: IsoDate | None = None  # when it happened or was found (EXE-03)
    unit: Name
    kind_of_problem: Literal["problem", "major-change", "force-majeure"] = Field(alias="kind")
    description: NonEmptyText
    reported_to: NonEmptyText
    example = {
        "reported_on": "2026-07-08",
        "occurred_on": "2026-07-06",
        "unit": "三亚市住房和城乡建设局",
        "kind": "force-majeure",
        "description": "台风“摩羯”损毁二期安置房工地围挡及塔吊",
        "reported_to": "三亚市人民政府",
    }


class PublicFeedbackReceived(Payload):
    """Opinions from citizens and organisations on execution (信件、电话、电子邮件, 条例 art. 35(2))."""

    event_type = "public-feedback-received"
    stage = "execution"
    received_on: IsoDate
    channel: Literal["letter", "phone", "email", "hotline-12345", "other"]
    count: int = Field(ge=1, le=10**9)
    summary: NonEmptyText
    example = {
        "received_on": "2026-03-31",
        "channel": "hotline-12345",
        "count": 57,
        "summary": "过渡期租金补贴发放延迟",
    }


class PostEvaluationDone(Payload):
    """A post-decision evaluation was done (决策后评估, 条例 art. 36)."""

    event_type = "post-evaluation-done"
    stage = "post_evaluation"
    evaluated_on: IsoDate
    evaluator: Name
    trigger: NonEmptyText
    public_input: Text = ""
    participant_groups: tuple[
        Literal["npc-deputy", "cppcc-member", "people-organisation", "grassroots", "social-organisation"], ...
    ] = ()
    report_sha256: Sha256 | None = None
    recommendations: Text = ""
    example = {
        "evaluated_on": "2026-06-30",
        "evaluator": "海南省社会科学院",
        "trigger": "条例第三十六条第一款第三项：决策机关认为有必要",
        "public_input": "问卷调查1,032份，座谈会2场",
        "participant_groups": ["npc-deputy", "cppcc-member", "grassroots"],
        "recommendations": "加快二期安置房建设；过渡期补贴按月发放",
    }


class AdjustmentDecided(Payload):
    """An adjustment of the decision (条例 art. 37): the head's urgent suspension (中止执行), or a stop, amendment or
    repeal, which opens a child case that goes through the statutory procedure again."""

    event_type = "adjustment-decided"
    stage = "post_evaluation"
    decided_on: IsoDate
    kind_of_adjustment: Literal["suspend", "stop", "amend", "repeal"] = Field(alias="kind")
    ground: NonEmptyText
    urgency_reason: Text = ""
    child_case: Name | None = None
    example = {
        "decided_on": "2026-07-10",
        "kind": "suspend",
        "ground": "条例第三十五条：不可抗力（台风损毁安置房工地），见执行问题报告",
        "urgency_reason": "工地存在坍塌危险，须立即停工",
    }


class AdjustmentCompleted(Payload):
    """The child case of a stop, amendment or repeal was decided; the adjustment takes effect (条例 art. 37)."""

    event_type = "adjustment-completed"
    stage = "post_evaluation"
    completed_on: IsoDate
    child_case: Name
    example = {"completed_on": "2026-09-30", "child_case": "JC-2026-0003"}


# --- the workspace stream (@workspace): the clock and the calendar data, recorded like everything else ---------


class WorkspaceInitialised(Payload):
    """The workspace was created, with the system clock or a simulated one."""

    event_type = "workspace-initialised"
    clock: Literal["system", "simulated"]
    simulated_now: Text | None = None


class ClockSet(Payload):
    """A simulated workspace's clock was moved forward."""

    event_type = "clock-set"
    moved_from: Text
    moved_to: Text


class ExpertsImported(Payload):
    """The expert pool was loaded (replacing the previous one) from a bank's list."""

    event_type = "experts-imported"
    bank: NonEmptyText
    sha256: Sha256
    experts: tuple[PoolExpert, ...] = Field(min_length=1)


class CalendarLoaded(Payload):
    """A holiday notice (or a local overlay) was loaded as calendar data (CAL-05, CAL-06)."""

    event_type = "calendar-loaded"
    year: int = Field(ge=1990, le=2200)
    sha256: Sha256
    notice: dict[str, Any]


# --- the decision catalog, drafting consultations (catalog helper: SCP-05, DRF-04) ------------------------------


class CatalogItem(BaseModel):
    """One item of a decision catalog (决策事项目录): its number, title, category, criteria, lead unit, quarter."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    item_no: Name
    title: NonEmptyText
    category: Category
    criteria: Text = ""
    lead_unit: Text = ""
    planned_quarter: Text = ""


class PartyConsent(BaseModel):
    """The same-level Party committee's consent to a catalog version: when, and its document reference."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    decided_on: IsoDate | None = None
    ref: Text = ""


class CatalogPublished(Payload):
    """A version of an organ's decision catalog for a year was published, with the Party committee's consent
    (条例 art. 3(3); 三亚(十八)); an adjustment is a new version. Kept in the `@workspace` stream."""

    event_type = "catalog-published"
    organ: Name
    year: int = Field(ge=1990, le=2200)
    version: int = Field(ge=1, le=100000)
    items: tuple[CatalogItem, ...] = ()
    party_consent: PartyConsent | None = None
    published_on: IsoDate
    url: Text = ""
    adjustment_reason: Text = ""
    example = {
        "organ": "三亚市人民政府",
        "year": 2025,
        "version": 1,
        "items": [
            {"item_no": "7", "title": "三亚市河西片区棚户区改造项目", "category": "public-construction",
             "criteria": "涉及群众切身利益的重大公共建设项目，总投资10亿元以上", "lead_unit": "三亚市住房和城乡建设局",
             "planned_quarter": "2025Q3"},
            {"item_no": "8", "title": "三亚市公共停车场建设规划（2025—2035年）", "category": "plan",
             "criteria": "全市性专项规划", "lead_unit": "三亚市交通运输局", "planned_quarter": "2025Q4"},
        ],
        "party_consent": {"decided_on": "2025-02-20", "ref": "中共三亚市委办公室 三委办〔2025〕12号"},
        "published_on": "2025-02-25",
        "url": "https://www.sanya.gov.cn/sanyasite/zdxzjc/202502/mulu2025.html",
    }


class DepartmentConsultation(BaseModel):
    """One department's or lower government's answer on the draft (征求有关部门意见): agreed or not, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    unit: Name
    replied_on: IsoDate | None = None
    opinion: NonEmptyText
    agreed: bool


class DepartmentsConsulted(Payload):
    """The undertaking unit consulted the departments and lower governments whose duties the draft touches
    (充分协商, 条例 art. 13); a unit that later agrees settles its earlier disagreement."""

    event_type = "departments-consulted"
    stage = "drafting"
    consulted_on: IsoDate
    draft_sha256: Sha256 | None = None
    consultations: tuple[DepartmentConsultation, ...] = Field(min_length=1)
    example = {
        "consulted_on": "2025-09-20",
        "consultations": [
            {"unit": "三亚市财政局", "replied_on": "2025-09-15", "opinion": "资金来源已纳入三年滚动预算，同意", "agreed": True},
            {"unit": "三亚市自然资源和规划局", "replied_on": "2025-09-18",
             "opinion": "安置地块位于防洪规划控制区，建议另选址", "agreed": False},
        ],
    }


class UnitOpinion(BaseModel):
    """A consulted unit's opinion as the dispute statement puts it before the organ."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    unit: Name
    opinion: NonEmptyText


class UndertakingOpinion(BaseModel):
    """The undertaking unit's own opinion on the dispute, with its reasons and basis (意见、理由和依据)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    opinion: NonEmptyText
    reasons: NonEmptyText
    basis: NonEmptyText


class DisputeStated(Payload):
    """Agreement could not be reached: the statement the organ receives — the main points in dispute, each unit's
    opinion, the undertaking unit's opinion with reasons and basis (条例 art. 13)."""

    event_type = "dispute-stated"
    stage = "drafting"
    stated_on: IsoDate
    points: tuple[NonEmptyText, ...] = Field(min_length=1)
    unit_opinions: tuple[UnitOpinion, ...] = Field(min_length=1)
    undertaking_unit_opinion: UndertakingOpinion
    example = {
        "stated_on": "2025-09-25",
        "points": ["二期安置地块是否位于防洪规划控制区内"],
        "unit_opinions": [{"unit": "三亚市自然资源和规划局", "opinion": "安置地块位于防洪规划控制区，建议另选址"}],
        "undertaking_unit_opinion": {
            "opinion": "维持原选址，抬高场地标高至50年一遇防洪水位以上",
            "reasons": "另选址将使回迁推迟两年以上，被征收户意见强烈",
            "basis": "《三亚市防洪规划（2021—2035年）》第4.2条：控制区内采取工程措施后可以建设",
        },
    }


def _account_events() -> tuple[type[Payload], ...]:
    from models.account_events import ACCOUNT_EVENTS  # its own module; it builds on Payload above

    return ACCOUNT_EVENTS


_PAYLOADS: tuple[type[Payload], ...] = (
    CaseLaunched,
    AttemptRefused,
    DocumentAttached,
    CommentsImported,
    CommentDisposed,
    DecisionPosted,
    DossierArchived,
    ConsultationOpened,
    HearingAnnounced,
    HearingHeld,
    ParticipationActivityHeld,
    ParticipationConcluded,
    ParticipationExempted,
    ExpertPanelDrawn,
    ExpertReviewConcluded,
    ExpertReviewWaived,
    RiskAssessed,
    RiskAssessmentReused,
    RiskAssessmentWaived,
    LegalityReviewSubmitted,
    LegalityReviewReturned,
    LegalityOpinionIssued,
    LegalityOpinionAnswered,
    MeetingHeld,
    PartyReported,
    NpcReported,
    DecisionPublished,
    PublicationExempted,
    ExecutionReported,
    ExecutionProblemReported,
    PublicFeedbackReceived,
    PostEvaluationDone,
    AdjustmentDecided,
    AdjustmentCompleted,
    WorkspaceInitialised,
    ClockSet,
    CalendarLoaded,
    ExpertsImported,
    CatalogPublished,
    DepartmentsConsulted,
    DisputeStated,
    *_account_events(),
)
EVENT_TYPES: dict[str, type[Payload]] = {cls.event_type: cls for cls in _PAYLOADS}

# Events recorded by the engine itself, never by `juece record`.
ENGINE_EVENTS = frozenset(
    {
        "case-launched",
        "attempt-refused",
        "document-attached",
        "dossier-archived",
        "comments-imported",
        "comment-disposed",
        "decision-posted",
        "workspace-initialised",
        "clock-set",
        "calendar-loaded",
        "experts-imported",
        "expert-panel-drawn",
        "catalog-published",
        *(cls.event_type for cls in _account_events()),
    }
)
RECORDABLE = tuple(name for name in EVENT_TYPES if name not in ENGINE_EVENTS)


def dates_in(payload: Payload) -> dict[str, date]:
    """The payload's own date fields that must not lie in the future (top level only)."""
    out = {}
    for name in type(payload).model_fields:
        value = getattr(payload, name)
        if isinstance(value, date) and name not in payload.future_dates:
            out[name] = value
    return out

"""Public comments (公众意见) at scale: imported whole or not at all, idempotent, NFC; form-letter campaigns grouped;
late comments kept and flagged; dispositions feeding the handling report that PP-07 requires. On a real workspace."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.usecases.audit import verify_cases
from flows.usecases.show import show_case
from flows.adapters.similarity import matching_key, matching_keys
from flows.usecases.comment_dispositions import record_disposition
from flows.usecases.comment_report import handling_report_draft
from flows.usecases.comments import COMMENTS_IMPORTED, comment_summary, import_comments, verify_comments
from models import comments as db
from models import store
from models.db import read_transaction
from models.events import HandlingReport
from policies.errors import BadInput, ConcurrentModification, RuleRefusal, UnknownCase
from support import CLERK, LEGAL, REVIEWER, payload

LETTER = (
    "尊敬的三亚市住房和城乡建设局：我们是河西片区棚户区改造范围内的被征收户。我们支持改造，但认为《实施方案（征求意见稿）》"
    "规定的货币补偿标准明显低于周边同类房屋的市场价格。为此提出以下意见：一、货币补偿应以周边近六个月二手房成交均价为基础，"
    "补偿系数不低于1.2；二、评估机构应由被征收户投票选定，评估报告逐户公示；三、过渡期租金补贴按每月每平方米30元足额发放，"
    "由ABC物业统一登记。恳请采纳。联名人：{name}"
)
SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何"
GIVEN = ("志强", "秀英", "建国", "丽华", "海燕")
SENTENCES = (
    "希望安置房选址离河西小学近一些，方便孩子上学",
    "担心施工期间交通拥堵，建议增设临时公交站点",
    "建议保留片区内的老榕树和骑楼老街的历史风貌",
    "要求公开社会稳定风险评估报告并召开听证会",
    "希望控制夜间施工的噪音和扬尘，保障居民休息",
    "建议配建社区医院、菜市场和老年人日间照料中心",
    "过渡期太长会造成租房困难，要求按月足额发放补贴",
    "停车位配建比例偏低，请按每户一点二个车位规划",
    "担心改造后排水不畅，雨季出现内涝，请完善管网",
    "支持棚户区改造，希望尽快实施并公布时间表",
    "经营性用房应当单独补偿停产停业期间的损失",
    "请对低保户、残疾人家庭给予额外的搬迁帮扶",
    "建议由被征收户代表参与监督评估机构的选定",
    "希望安置小区建设无障碍通道和电梯，方便老人出行",
    "垃圾中转站不应建在居民楼和学校附近",
)


def row(text: str, *, at: str = "2025-09-15T10:30:00+08:00", channel: str = "政府网站", author: str = "市民") -> dict[str, Any]:
    return {"submitted_at": at, "channel": channel, "author": author, "text": text}


def write_jsonl(path: Path, rows: list[dict[str, Any]], *, blank_at: int | None = None) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    if blank_at is not None:
        lines.insert(blank_at - 1, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict[str, Any]], *, columns: tuple[str, ...] = ("submitted_at", "channel", "author", "text"), bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns])
    return path


def campaign() -> list[dict[str, Any]]:
    """300 copies of one form letter (100 signers, 100 with punctuation added, 100 with full-width forms) and 50
    distinct comments."""
    names = [s + g for g in GIVEN for s in SURNAMES]
    assert len(set(names)) == 100 and "王海生" not in names
    rows = [row(LETTER.format(name=n), author=n, at=f"2025-09-{1 + i % 28:02d}T09:{i % 60:02d}:00+08:00")
            for i, n in enumerate(names)]
    base = LETTER.format(name="王海生")
    for i in range(100):
        varied = base.replace("。", "！！") if i % 2 else base.replace("：", "： ").replace("，", "，，") + "。"
        rows.append(row(varied, author=f"居民{i}", at=f"2025-09-20T{i % 24:02d}:00:00+08:00"))
    full_width = str.maketrans("0123456789.ABC,", "０１２３４５６７８９．ＡＢＣ，")
    for i in range(100):
        rows.append(row(base.translate(full_width), author=f"业主{i}", at=f"2025-09-21T{i % 24:02d}:30:00Z"))
    pairs = [(i, j) for i in range(len(SENTENCES)) for j in range(i + 1, len(SENTENCES))]
    for n, (i, j) in enumerate(random.Random(5).sample(pairs, 50)):
        rows.append(row(f"{SENTENCES[i]}。另外，{SENTENCES[j]}。", author=f"个人{n}", channel="电子邮件"))
    return rows


@pytest.fixture
def opened(case):
    """The case with its consultation open (published 2025-09-01, deadline 2025-10-09)."""
    case.record("consultation-opened")
    return case


def received(case) -> int:
    return comment_summary(case.ws, case.case_id).received


def history(case) -> list[store.StoredEvent]:
    with read_transaction(case.ws.engine) as conn:
        return store.load_stream(conn, case.case_id)


# --- importing ------------------------------------------------------------------------------------------------------


def test_a_csv_file_with_a_bom_quoted_line_breaks_and_any_column_order_is_imported(opened, tmp_path):
    rows = [
        row("补偿标准偏低，建议提高到1.2倍。", at="2025-09-03 08:15"),
        row("第一，过渡期太长；\n第二，租金补贴太少。", author="", channel="信函"),
        row("支持改造，希望尽快实施。", at="2025-09-05T02:00:00Z", channel="12345热线", author="陈美玲"),
    ]
    f = write_csv(tmp_path / "意见.csv", rows, columns=("text", "channel", "submitted_at", "author"), bom=True)
    r = import_comments(opened.ws, CLERK, opened.case_id, f)
    assert (r.rows, r.new_rows, r.received_total, r.distinct_total, r.late) == (3, 3, 3, 3, 0)
    with read_transaction(opened.ws.engine) as conn:
        stored = db.comments_of_import(conn, r.import_id, opened.case_id)
    assert [c.line for c in stored] == [2, 3, 5]  # the quoted line break makes record 2 span lines 3–4
    assert stored[0].submitted_at == "2025-09-03T00:15:00.000000Z"  # zone-less means Beijing time
    assert stored[1].text == "第一，过渡期太长；\n第二，租金补贴太少。" and stored[1].author == ""


def test_a_json_lines_file_is_imported_and_the_import_is_recorded_in_the_history(opened, tmp_path):
    rows = [row(f"建议{n}：{SENTENCES[n]}。", author=f"居民{n}") for n in range(12)]
    f = write_jsonl(tmp_path / "comments.ndjson", rows)
    r = import_comments(opened.ws, CLERK, opened.case_id, f)
    assert (r.rows, r.new_rows, r.received_total) == (12, 12, 12) and r.seq is not None
    event = history(opened)[-1]
    assert event.type == COMMENTS_IMPORTED and event.seq == r.seq and event.actor == CLERK.label
    assert event.payload["file_sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert {k: event.payload[k] for k in ("import_id", "rows", "new_rows", "late", "received_total", "distinct_total",
                                          "clusters_total")} == {
        "import_id": r.import_id, "rows": 12, "new_rows": 12, "late": 0, "received_total": 12, "distinct_total": 12,
        "clusters_total": r.clusters_total,
    }
    assert verify_comments(opened.ws, opened.case_id) == []


def test_a_form_letter_campaign_is_counted_as_one_cluster_of_300(opened, tmp_path):
    r = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "campaign.jsonl", campaign()))
    s = comment_summary(opened.ws, opened.case_id)
    # 100 signers' copies differ; punctuation and full-width variants match the letter once normalised.
    assert (s.received, s.distinct, s.clusters) == (350, 151, 51)
    assert (r.received_total, r.distinct_total, r.clusters_total) == (350, 151, 51)
    biggest = s.top[0]
    assert (biggest.size, biggest.distinct) == (300, 101)
    assert biggest.sample.startswith("尊敬的三亚市住房和城乡建设局")
    assert all(c.size == 1 for c in s.top[1:])


def test_a_second_wave_of_a_campaign_joins_its_cluster_and_cluster_numbers_never_change(opened, tmp_path):
    rows = campaign()
    first = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "a.jsonl", rows[:150] + rows[300:]))
    before = {c.cluster: c.size for c in comment_summary(opened.ws, opened.case_id, top=100).top}
    second = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "b.jsonl", rows[150:300]))
    after = comment_summary(opened.ws, opened.case_id, top=100)
    assert (first.clusters_total, second.clusters_total, second.new_rows) == (51, 51, 150)
    assert after.top[0].cluster == 1 and after.top[0].size == 300 and before[1] == 150
    assert {c.cluster: c.size for c in after.top[1:]} == {k: v for k, v in before.items() if k != 1}


@pytest.mark.parametrize(
    ("bad", "field_name"),
    [
        ({"submitted_at": "2025-13-40T10:00:00+08:00"}, "submitted_at"),
        ({"submitted_at": "2025-09-15"}, "submitted_at"),  # a date is not a date-time
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "意见\x00正文"}, "text"),
        ({"text": "长" * 20001}, "text"),
        ({"text": 42}, "text"),
        ({"channel": ""}, "channel"),
        ({"author": "张\u200b三"}, "author"),
        ({"ip": "10.0.0.1"}, "ip"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_its_line_and_field(opened, tmp_path, bad, field_name):
    import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "earlier.jsonl", [row("此前的一条意见。")]))
    events_before = len(history(opened))
    rows = [row(f"第{n}条意见：{SENTENCES[n % 15]}。", author=f"居民{n}") for n in range(99)]
    rows[55] = {**rows[55], **bad}  # with a blank line at line 10, row 56 is line 57
    f = write_jsonl(tmp_path / "bad.jsonl", rows, blank_at=10)
    with pytest.raises(BadInput) as exc:
        import_comments(opened.ws, CLERK, opened.case_id, f)
    assert "line 57" in exc.value.message and field_name in exc.value.message
    assert exc.value.details["line"] == 57 and exc.value.details["field"] == field_name
    assert "nothing was imported" in exc.value.message
    assert received(opened) == 1 and len(history(opened)) == events_before


def test_every_bad_line_is_counted_and_the_first_ones_are_quoted(opened, tmp_path):
    rows = [row(f"意见{n}") if n % 7 else row("", author=f"居民{n}") for n in range(200)]
    f = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(BadInput) as exc:
        import_comments(opened.ws, CLERK, opened.case_id, f)
    assert exc.value.details["bad_rows"] == 29 and exc.value.details["line"] == 2
    assert len(exc.value.details["problems"]) == 10 and "and 19 more bad rows" in exc.value.message
    assert received(opened) == 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("x.csv", "submitted_at,text\n2025-09-15T10:00:00+08:00,没有渠道\n", "channel"),
        ("x.csv", "", "no comments"),
        ("x.jsonl", '{"submitted_at": "2025-09-15T10:00:00+08:00", "channel": "网站", "text": "未结束\n', "line 1"),
        ("x.xlsx", "whatever", ".jsonl, .ndjson or .csv"),
    ],
)
def test_an_unreadable_file_is_refused_saying_why(opened, tmp_path, name, content, expected):
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        import_comments(opened.ws, CLERK, opened.case_id, f)
    assert expected in exc.value.message
    assert received(opened) == 0


def test_importing_the_same_rows_twice_doubles_nothing(opened, tmp_path):
    rows = campaign()[:40] + [row("同一条意见。")] * 3  # identical rows in a file are one comment
    first = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "a.jsonl", rows))
    events = len(history(opened))
    again = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "a.jsonl", rows))
    as_csv = import_comments(opened.ws, CLERK, opened.case_id, write_csv(tmp_path / "a.csv", rows))
    assert first.new_rows == 41 and again.new_rows == 0 and as_csv.new_rows == 0 and again.repeated
    for r in (again, as_csv):
        assert (r.rows, r.received_total, r.distinct_total, r.clusters_total) == (
            first.rows, first.received_total, first.distinct_total, first.clusters_total)
    assert again.import_id == first.import_id and again.seq is None
    assert len(history(opened)) == events and received(opened) == 41


def test_the_rows_and_their_event_are_one_transaction(opened, tmp_path, monkeypatch):
    def lost_race(*_a: Any, **_k: Any) -> None:
        raise ConcurrentModification("someone else recorded event 3 at the same moment", case_id=opened.case_id)

    monkeypatch.setattr(store, "append", lost_race)
    with pytest.raises(ConcurrentModification):
        import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "c.jsonl", campaign()))
    monkeypatch.undo()
    assert received(opened) == 0


def test_text_is_stored_as_nfc_and_full_width_punctuation_is_kept(opened, tmp_path):
    text = "Cafe\u0301的意见：“补偿标准（第3条）偏低！”请ＡＢＣ公司答复？　谢谢。"
    r = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "c.jsonl", [row(text)]))
    with read_transaction(opened.ws.engine) as conn:
        (stored,) = db.comments_of_import(conn, r.import_id, opened.case_id)
    assert stored.text == unicodedata.normalize("NFC", text) == "Café的意见：“补偿标准（第3条）偏低！”请ＡＢＣ公司答复？　谢谢。"
    assert stored.text != unicodedata.normalize("NFKC", text)  # NFKC would rewrite ：（）！？ and ＡＢＣ
    assert stored.norm_hash == hashlib.sha256("café的意见补偿标准第3条偏低请abc公司答复谢谢".encode()).hexdigest()


def test_comments_after_the_deadline_are_kept_and_flagged_late(opened, tmp_path):
    rows = [
        row("截止日最后一秒。", at="2025-10-09T23:59:59+08:00"),
        row("UTC 的截止日最后一秒。", at="2025-10-09T15:59:59Z"),
        row("北京时间10月10日零点。", at="2025-10-09T16:00:00Z"),
        row("没有时区的10月10日上午。", at="2025-10-10 08:00"),
        row("一周后才寄到。", at="2025-10-16T09:00:00+08:00", channel="信函"),
    ]
    r = import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "late.jsonl", rows))
    assert (r.rows, r.new_rows, r.late) == (5, 5, 3)
    with read_transaction(opened.ws.engine) as conn:
        stored = db.comments_of_import(conn, r.import_id, opened.case_id)
    assert [c.late for c in stored] == [False, False, True, True, True]
    assert comment_summary(opened.ws, opened.case_id).late == 3


def test_comments_belong_to_an_open_consultation(case, tmp_path):
    with pytest.raises(BadInput) as exc:
        import_comments(case.ws, CLERK, case.case_id, write_jsonl(tmp_path / "c.jsonl", [row("意见。")]))
    assert "consultation" in exc.value.message and "consultation-opened" in exc.value.message


def test_an_unknown_case_is_refused(ws, tmp_path):
    with pytest.raises(UnknownCase):
        import_comments(ws, CLERK, "JC-2025-0099", write_jsonl(tmp_path / "c.jsonl", [row("意见。")]))


@pytest.mark.parametrize("who", [LEGAL, REVIEWER])
def test_only_the_undertaking_units_clerk_imports_comments(opened, tmp_path, who):
    with pytest.raises(RuleRefusal) as exc:
        import_comments(opened.ws, who, opened.case_id, write_jsonl(tmp_path / "c.jsonl", [row("意见。")]))
    assert exc.value.code == "ROLE-01"
    assert "第十四条" in exc.value.findings[0].article and "第十五条" in exc.value.findings[0].article
    assert received(opened) == 0


# --- dispositions and the handling report --------------------------------------------------------------------------


@pytest.fixture
def imported(opened, tmp_path):
    import_comments(opened.ws, CLERK, opened.case_id, write_jsonl(tmp_path / "campaign.jsonl", campaign()))
    return opened


def test_dispositions_are_reflected_in_the_handling_report_draft(imported):
    ws, cid = imported.ws, imported.case_id
    top = comment_summary(ws, cid).top
    with read_transaction(ws.engine) as conn:
        singles = [db.comment(conn, cid, c.sample_id) for c in top[1:3]]
        letter_copy = db.comment(conn, cid, top[0].sample_id + 5)
    record_disposition(ws, CLERK, cid, f"cluster:{top[0].cluster}", "partly-adopted", "补偿系数提高至1.15；评估机构仍依法选定")
    record_disposition(ws, CLERK, cid, f"comment:{singles[0].id}", "adopted", "")
    record_disposition(ws, CLERK, cid, f"comment:{singles[1].id}", "not-adopted", "选址已经规划论证，不宜调整")
    record_disposition(ws, CLERK, cid, f"comment:{letter_copy.id}", "not-adopted", "原地回迁不具备条件")
    draft = handling_report_draft(ws, cid)
    report = HandlingReport.model_validate(draft)  # the shape `participation-concluded` takes
    assert "共收到公众意见350条" in report.main_opinions and "归并相同或基本相同的意见后为51组" in report.main_opinions
    assert "尊敬的三亚市住房和城乡建设局" in report.main_opinions and "300条" in report.main_opinions
    assert "【部分采纳】尊敬的三亚市" in report.adopted and "（299条）" in report.adopted  # one copy carved out
    assert singles[0].text[:10] in report.adopted
    assert singles[1].text[:10] in report.not_adopted and "原地回迁不具备条件" in report.reasons
    assert "选址已经规划论证，不宜调整" in report.reasons and "补偿系数提高至1.15" in report.reasons
    assert comment_summary(ws, cid).top[0].disposition == "partly-adopted"


def test_a_later_disposition_supersedes_and_repeating_one_records_nothing(imported):
    ws, cid = imported.ws, imported.case_id
    first = record_disposition(ws, CLERK, cid, "cluster:1", "not-adopted", "超出本决策事项范围")
    again = record_disposition(ws, CLERK, cid, "cluster:1", "not-adopted", "超出本决策事项范围")
    changed = record_disposition(ws, CLERK, cid, "cluster:1", "adopted", "经研究予以采纳")
    assert again.repeated and again.seq == first.seq and first.comments == 300
    assert changed.seq == first.seq + 1  # the repeat recorded nothing
    assert [e.type for e in history(imported)][-2:] == ["comment-disposed", "comment-disposed"]
    draft = handling_report_draft(ws, cid)
    assert "尊敬的三亚市" in draft["adopted"] and draft["not_adopted"] == ""


@pytest.mark.parametrize(
    ("target", "disposition", "reason", "field_name"),
    [
        ("cluster:1", "not-adopted", "", "reason"),
        ("cluster:1", "partly-adopted", "  ", "reason"),
        ("cluster:1", "rejected", "理由", "disposition"),
        ("cluster:999", "adopted", "", "target"),
        ("comment:999999", "adopted", "", "target"),
        ("opinion:1", "adopted", "", "target"),
    ],
)
def test_a_disposition_is_refused_without_a_reason_or_a_real_target(imported, target, disposition, reason, field_name):
    with pytest.raises(BadInput) as exc:
        record_disposition(imported.ws, CLERK, imported.case_id, target, disposition, reason)
    assert exc.value.details["field"] == field_name
    with read_transaction(imported.ws.engine) as conn:
        assert db.dispositions(conn, imported.case_id) == []


def test_only_the_clerk_records_dispositions(imported):
    with pytest.raises(RuleRefusal) as exc:
        record_disposition(imported.ws, REVIEWER, imported.case_id, "cluster:1", "adopted", "")
    assert exc.value.code == "ROLE-01" and "第十八条" in exc.value.findings[0].article


# --- the record ------------------------------------------------------------------------------------------------------


def test_comments_and_dispositions_are_append_only(imported):
    record_disposition(imported.ws, CLERK, imported.case_id, "cluster:1", "adopted", "")
    db_file = imported.ws.home / "juece.db"
    with sqlite3.connect(db_file) as conn:
        for sql in ("UPDATE comments SET text = '改过的'", "DELETE FROM comments", "UPDATE dispositions SET reason = 'x'",
                    "DELETE FROM dispositions"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)


def test_a_comment_changed_behind_the_engines_back_is_found(imported):
    assert verify_comments(imported.ws, imported.case_id) == []
    with sqlite3.connect(imported.ws.home / "juece.db") as conn:
        conn.execute("DROP TRIGGER comments_no_update")
        conn.execute("UPDATE comments SET text = '被篡改的意见' WHERE id = 7")
    problems = verify_comments(imported.ws, imported.case_id)
    assert any("comment 7" in p for p in problems)


def test_the_literal_schema_is_the_one_the_models_describe(imported):
    from sqlalchemy import inspect

    found = inspect(imported.ws.engine)
    for table in (db.COMMENTS, db.DISPOSITIONS_TABLE):
        assert {c["name"] for c in found.get_columns(table.name)} == {c.name for c in table.columns}


def test_a_case_with_imported_comments_still_replays_and_concludes_participation(imported):
    record_disposition(imported.ws, CLERK, imported.case_id, "cluster:1", "not-adopted", "超出本决策事项范围")
    report = handling_report_draft(imported.ws, imported.case_id)
    assert show_case(imported.ws, imported.case_id).events == 4  # launch, consultation, import, disposition
    imported.record("participation-concluded", payload("participation-concluded", comments_received=350, handling_report=report))
    assert imported.status("public_participation") in ("concluded", "done", "recorded")


# --- the matching key ----------------------------------------------------------------------------------------------


def test_the_matching_key_ignores_width_case_punctuation_and_spacing_but_not_words():
    assert matching_key("补偿系数不低于１．２，ＡＢＣ物业！") == matching_key("补偿系数 不低于1.2 abc物业。") == "补偿系数不低于12abc物业"
    assert matching_key("我同意") != matching_key("我不同意")
    assert matching_key("👍") != matching_key("👎") and matching_key("．．．") == matching_key("...") == "..."


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40), max_size=30))
def test_the_batch_matching_key_equals_the_exact_one(texts):
    tricky = ["한국어", "e\u0301", "\u1100\u1161\u11a8", "ﬁ", "ß", "İ", "①②", "㈱", "ｶﾞ", "\u0f73", "\u09c7\u09be", "😀！"]
    batch = texts + tricky + [f"意见第{n}条，ＡＢＣ！" for n in range(2000)]  # the batch path starts at 2,000 texts
    assert matching_keys(batch) == [matching_key(t) for t in batch]


# --- under integrity: `audit verify` re-hashes the rows against the history -------------------------------------------


class Attacker:
    """A raw connection to the workspace's database with the append-only triggers on comments and dispositions
    dropped, as someone with the database file (SQLite) or a superuser login (PostgreSQL) would."""

    def __init__(self, ws) -> None:
        self.sqlite = ws.database_url.startswith("sqlite")
        if self.sqlite:
            self.conn = sqlite3.connect(ws.engine.url.database)
            for table in ("comments", "dispositions"):
                for verb in ("update", "delete"):
                    self.conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            import psycopg

            from backends import _plain

            self.conn = psycopg.connect(_plain(ws.database_url), autocommit=True)
            for table in ("comments", "dispositions"):
                self.conn.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql if self.sqlite else sql.replace("?", "%s"), params)
        rows = cur.fetchall() if cur.description else []
        if self.sqlite:
            self.conn.commit()
        return rows

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def attacked(backend_case, tmp_path):
    """On SQLite and PostgreSQL: a case with 350 imported comments and two dispositions, and an attacker at its
    database."""
    backend_case.record("consultation-opened")
    import_comments(backend_case.ws, CLERK, backend_case.case_id, write_jsonl(tmp_path / "campaign.jsonl", campaign()))
    record_disposition(backend_case.ws, CLERK, backend_case.case_id, "cluster:1", "partly-adopted", "补偿系数提高至1.15")
    record_disposition(backend_case.ws, CLERK, backend_case.case_id, "cluster:2", "not-adopted", "超出本决策事项范围")
    attacker = Attacker(backend_case.ws)
    yield backend_case, attacker
    attacker.close()


def broken(case) -> str:
    """`audit verify`'s verdict on the case: exit 4 and the case not intact; returns what it says differs."""
    report = verify_cases(case.ws)
    (verdict,) = [v for v in report.cases if v.case_id == case.case_id]
    assert report.exit_code == 4 and not verdict.intact, verdict
    return verdict.problem


def test_comments_and_dispositions_as_recorded_verify_intact(attacked):
    case, _ = attacked
    report = verify_cases(case.ws)
    assert report.exit_code == 0 and all(v.intact for v in report.verdicts), report.to_json()
    imported = [e for e in history(case) if e.type == COMMENTS_IMPORTED]
    assert imported[0].payload["public_sha256"] and imported[0].payload["new_rows"] == 350


def test_a_comment_row_changed_in_the_database_makes_the_case_not_intact(attacked):
    case, attacker = attacked
    (target,) = attacker.run("SELECT id FROM comments WHERE case_id = ? ORDER BY id LIMIT 1 OFFSET 41", (case.case_id,))
    attacker.run("UPDATE comments SET text = ? WHERE id = ?", ("我们完全同意征求意见稿，没有意见。", target[0]))
    problem = broken(case)
    assert f"comment {target[0]}" in problem and "1 row changed" in problem and "350 rows recorded, 350 stored" in problem


def test_a_changed_row_whose_hash_was_rewritten_too_is_found_by_the_imports_digest(attacked):
    case, attacker = attacked
    (r,) = attacker.run("SELECT id, submitted_at, channel, author FROM comments WHERE case_id = ? ORDER BY id LIMIT 1",
                        (case.case_id,))
    forged = "我们完全同意征求意见稿，没有意见。"
    attacker.run("UPDATE comments SET text = ?, row_hash = ? WHERE id = ?", (forged, db.row_hash(r[1], r[2], r[3], forged), r[0]))
    assert "are not the ones recorded" in broken(case)


def test_a_hundred_comment_rows_deleted_in_the_database_are_counted_missing(attacked):
    case, attacker = attacked
    ids = [r[0] for r in attacker.run("SELECT id FROM comments WHERE case_id = ? ORDER BY id", (case.case_id,))][:100]
    attacker.run(f"DELETE FROM comments WHERE id IN ({', '.join(str(i) for i in ids)})")
    problem = broken(case)
    assert "350 rows recorded, 250 stored" in problem and "100 missing" in problem


def test_every_comment_row_deleted_is_found_from_the_history_alone(attacked):
    case, attacker = attacked
    attacker.run("DELETE FROM comments")
    attacker.run("DELETE FROM dispositions")
    problem = broken(case)
    assert "350 rows recorded, 0 stored): 350 missing" in problem and "is missing from the dispositions table" in problem


def test_a_comment_row_added_in_the_database_with_a_correct_row_hash_is_counted_added(attacked):
    case, attacker = attacked
    (r,) = attacker.run("SELECT import_id, submitted_at, channel, norm_hash, cluster FROM comments WHERE case_id = ? LIMIT 1",
                        (case.case_id,))
    text = "伪造的意见：支持按原方案实施。"
    attacker.run(
        "INSERT INTO comments (case_id, import_id, line, submitted_at, channel, author, text, norm_hash, row_hash, late, cluster) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (case.case_id, r[0], 999, r[1], r[2], "赵某", text, r[3], db.row_hash(r[1], r[2], "赵某", text), False, r[4]),
    )
    problem = broken(case)
    assert f"import {r[0][:12]}" in problem and "350 rows recorded, 351 stored" in problem and "1 added" in problem


def test_comment_rows_of_an_import_the_history_never_recorded_are_found(attacked):
    case, attacker = attacked
    text = "凭空出现的意见。"
    attacker.run(
        "INSERT INTO comments (case_id, import_id, line, submitted_at, channel, author, text, norm_hash, row_hash, late, cluster) "
        "VALUES (?, ?, 1, '2025-09-02T01:00:00.000000Z', '政府网站', '', ?, ?, ?, ?, 77)",
        (case.case_id, "cd" * 32, text, "ef" * 32, db.row_hash("2025-09-02T01:00:00.000000Z", "政府网站", "", text), False),
    )
    assert "1 comment row of an import the history does not record (cdcdcdcdcdcd…" in broken(case)


def test_a_changed_cluster_number_is_found_by_the_public_digest(attacked):
    case, attacker = attacked
    attacker.run("UPDATE comments SET cluster = 2 WHERE id = (SELECT MIN(id) FROM comments WHERE case_id = ?)", (case.case_id,))
    assert "a column changed beyond the comment's own words" in broken(case)


def test_a_disposition_row_edited_in_the_database_is_found(attacked):
    case, attacker = attacked
    attacker.run("UPDATE dispositions SET disposition = 'adopted', reason = '' WHERE target = 'cluster:2'")
    problem = broken(case)
    assert "(cluster:2) differs from its record" in problem and "disposition, reason changed" in problem
    # what the engine reads is the record, not the row
    assert comment_summary(case.ws, case.case_id).top[1].disposition == "not-adopted"


def test_a_disposition_row_deleted_in_the_database_is_found(attacked):
    case, attacker = attacked
    attacker.run("DELETE FROM dispositions WHERE target = 'cluster:1'")
    assert "the disposition of cluster:1 recorded as event" in broken(case)


def test_a_disposition_row_added_in_the_database_is_found(attacked):
    case, attacker = attacked
    attacker.run(
        "INSERT INTO dispositions (case_id, target, disposition, reason, recorded_at, actor) VALUES (?, 'cluster:3', "
        "'not-adopted', '不予采纳', '2025-09-01T10:00:00.000000Z', 'clerk:李明')",
        (case.case_id,),
    )
    problem = broken(case)
    assert "(cluster:3: not-adopted) is not in the history" in problem
    assert "cluster:3" not in json.dumps(handling_report_draft(case.ws, case.case_id), ensure_ascii=False)


def test_rows_filed_under_no_case_make_the_workspace_not_intact(attacked):
    case, attacker = attacked
    attacker.run("INSERT INTO dispositions (case_id, target, disposition, reason, recorded_at, actor) VALUES "
                 "('JC-2099-0001', 'cluster:1', 'adopted', '', '2025-09-01T10:00:00.000000Z', 'clerk:李明')")
    report = verify_cases(case.ws)
    assert report.exit_code == 4 and report.workspace is not None and not report.workspace.intact
    assert "'JC-2099-0001', which is no case of this store" in report.workspace.problem


def cli(ws, *args: str, actor: str | None = None) -> tuple[int, str, str]:
    """The real `juece` executable on the workspace (and its database, SQLite or PostgreSQL)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env["COLUMNS"] = "250"
    if not ws.database_url.startswith("sqlite"):
        env["JUECE_DATABASE_URL"] = ws.database_url
    exe = str(Path(sys.executable).with_name("juece"))
    done = subprocess.run([exe, "--home", str(ws.home), *(["--as", actor] if actor else []), *args],
                          capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_audit_verify_on_the_command_line_exits_4_naming_the_case_and_the_import(attacked):
    case, attacker = attacked
    assert cli(case.ws, "audit", "verify", "--json")[0] == 0
    ids = [r[0] for r in attacker.run("SELECT id FROM comments WHERE case_id = ? ORDER BY id", (case.case_id,))][-100:]
    attacker.run(f"DELETE FROM comments WHERE id IN ({', '.join(str(i) for i in ids)})")
    code, out, _ = cli(case.ws, "audit", "verify", "--json")
    verdict = next(c for c in json.loads(out)["cases"] if c["case_id"] == case.case_id)
    assert code == 4 and verdict["intact"] is False and "100 missing" in verdict["problem"]
    code, out, _ = cli(case.ws, "audit", "verify", case.case_id)
    assert code == 4 and case.case_id in out and "100 missing" in " ".join(out.split())


# --- dispositions are records ----------------------------------------------------------------------------------------


def test_a_disposition_is_a_record_in_the_chain_with_its_actor_and_reason(imported):
    r = record_disposition(imported.ws, CLERK, imported.case_id, "cluster:1", "not-adopted", "超出本决策事项范围")
    event = history(imported)[-1]
    assert (event.type, event.seq, event.actor, event.role) == ("comment-disposed", r.seq, CLERK.label, "clerk")
    assert event.payload == {"target": "cluster:1", "disposition": "not-adopted", "reason": "超出本决策事项范围", "comments": 300}
    with read_transaction(imported.ws.engine) as conn:
        (row,) = db.dispositions(conn, imported.case_id)
    assert (row.target, row.reason, row.recorded_at, row.actor) == ("cluster:1", "超出本决策事项范围", event.recorded_at, CLERK.label)


def test_a_disposition_appended_by_a_reviewer_straight_to_the_store_is_an_audit_finding(imported):
    from flows.usecases.unit_of_work import pack_of
    from models.db import write_transaction
    from models.state import launch_state
    from models.store import NewEvent

    with write_transaction(imported.ws.engine) as conn:
        events = store.load_stream(conn, imported.case_id)
        pack = pack_of(launch_state(events[0]))
        body = {"target": "cluster:1", "disposition": "adopted", "reason": "", "comments": 300}
        store.append(conn, imported.case_id, events, [NewEvent("comment-disposed", 1, body, REVIEWER.label, "reviewer",
                                                               "forged-disposition", pack.id, pack.hash)], events[-1].moment)
        db.insert_disposition(conn, case_id=imported.case_id, target="cluster:1", disposition="adopted", reason="",
                              recorded_at=events[-1].recorded_at, actor=REVIEWER.label)
    report = verify_cases(imported.ws, [imported.case_id])
    (verdict,) = report.cases
    assert verdict.intact and report.exit_code == 5
    assert [(f["rule"], f["event"]) for f in verdict.findings] == [("ROLE-01", "comment-disposed")]
    assert "第十八条" in verdict.findings[0]["article"]


def test_under_the_first_pack_version_the_clerk_disposes_as_the_one_who_concludes_participation(ws, tmp_path):
    from support import Driver

    d = Driver(ws)
    d.launch("risk-relevant", "technical", policy="cn-2019@1")
    d.record("consultation-opened")
    import_comments(ws, CLERK, d.case_id, write_jsonl(tmp_path / "c.jsonl", [row("意见一。"), row("意见二，完全不同。")]))
    with pytest.raises(RuleRefusal) as exc:
        record_disposition(ws, REVIEWER, d.case_id, "comment:1", "adopted", "")
    assert exc.value.code == "ROLE-01" and "第十八条" in exc.value.findings[0].article
    record_disposition(ws, CLERK, d.case_id, "comment:1", "adopted", "")
    assert verify_cases(ws, [d.case_id]).exit_code == 0


def test_dispose_on_the_command_line_answers_with_the_records_seq(imported):
    code, out, err = cli(imported.ws, "comments", "dispose", imported.case_id, "cluster:1", "not-adopted",
                         "--reason", "超出本决策事项范围", "--json", actor="clerk:李明")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["seq"] == history(imported)[-1].seq and answer["comments"] == 300 and answer["repeated"] is False
    code, out, _ = cli(imported.ws, "comments", "dispose", imported.case_id, "cluster:1", "adopted", "--json", actor="reviewer:王芳")
    assert code == 3 and json.loads(out)["error"]["code"] == "ROLE-01"


# --- the archive carries the comments and the dispositions -------------------------------------------------------------

PERSON, ORGANISATION = "陈美玲", "三亚市河西片区业主委员会"


@pytest.fixture
def published(case, tmp_path):
    """A published case whose consultation drew comments from a person, an organisation and an anonymous writer,
    with one disposition corrected by a later one."""
    from support import MANDATORY_PATH

    case.record("consultation-opened")
    rows = [
        row("补偿标准偏低，建议提高到1.2倍。", author=PERSON),
        row("业主委员会意见：过渡期租金补贴应按月足额发放。", author=ORGANISATION, channel="信函"),
        row("希望保留老榕树。", author=""),
        row("ABC物业愿意配合统一登记。", author="ABC物业有限公司（盖章）"),
    ] + [row(f"{SENTENCES[n]}。", author=f"市民{n}号") for n in range(6)]
    import_comments(case.ws, CLERK, case.case_id, write_jsonl(tmp_path / "c.jsonl", rows))
    record_disposition(case.ws, CLERK, case.case_id, "comment:1", "not-adopted", "补偿标准已按评估结果确定")
    record_disposition(case.ws, CLERK, case.case_id, "comment:1", "partly-adopted", "补偿系数提高至1.15")
    record_disposition(case.ws, CLERK, case.case_id, "comment:2", "adopted", "")
    case.walk(MANDATORY_PATH[1:])
    case.walk(["party-reported", "decision-published"])
    return case


def export(case, out: Path, *, public: bool = False) -> Path:
    from flows.usecases.archive import export_archive
    from support import Actor

    export_archive(case.ws, Actor("archivist", "周档案"), case.case_id, out, public=public)
    return out


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def regenerated(bag: Path) -> Path:
    """The forger's last step: the BagIt manifests made to match the edited files. The signed inventory goes too, as
    in a bag exported before it existed: the signed inventory alone would name the edited file (tests/test_bag_edits.py);
    these tests hold the second line, the comment files checked against the digests in the proven history."""
    import bagit

    (bag / "juece-inventory.json").unlink(missing_ok=True)
    bagit.Bag(str(bag)).save(processes=1, manifests=True)
    assert bagit.Bag(str(bag)).is_valid()
    return bag


def test_the_full_bag_carries_every_comment_and_every_disposition_and_verifies(published, tmp_path):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "bag")
    comments = jsonl(bag / "data" / "comments" / "comments.jsonl")
    with read_transaction(published.ws.engine) as conn:
        stored = db.case_comment_rows(conn, published.case_id)
    assert [tuple(c.values()) for c in comments] == stored and comments[0]["author"] == PERSON
    disposed = jsonl(bag / "data" / "comments" / "dispositions.jsonl")
    assert [(d["target"], d["disposition"], d["reason"]) for d in disposed] == [
        ("comment:1", "not-adopted", "补偿标准已按评估结果确定"), ("comment:1", "partly-adopted", "补偿系数提高至1.15"),
        ("comment:2", "adopted", "")]
    records = {e.seq: e for e in history(published)}
    assert all(records[d["seq"]].type == "comment-disposed" and records[d["seq"]].actor == d["actor"] for d in disposed)
    index = json.loads((bag / "data" / "comments" / "imports.json").read_text(encoding="utf-8"))
    (imported,) = [e for e in records.values() if e.type == COMMENTS_IMPORTED]
    assert index["imports"][0]["stored_sha256"] == imported.payload["stored_sha256"] and index["imports"][0]["seq"] == imported.seq
    page = (bag / "data" / "dossier.html").read_text(encoding="utf-8")
    assert "六、公众意见及其处理" in page and "部分采纳" in page and "（已由#" in page and PERSON not in page
    v = verify_archive(bag)
    assert v.ok, v.failures
    assert any("10 comments of 1 import(s) re-hashed" in c and "3 disposition(s)" in c for c in v.checked)


def test_the_public_bag_leaves_out_private_persons_names_says_so_and_verifies(published, tmp_path):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "public", public=True)
    comments = jsonl(bag / "data" / "comments" / "comments.jsonl")
    authors = [c["author"] for c in comments]
    assert authors[:4] == [None, ORGANISATION, "", "ABC物业有限公司（盖章）"] and authors[4:] == [None] * 6
    assert all("row_hash" not in c for c in comments) and comments[0]["text"] == "补偿标准偏低，建议提高到1.2倍。"
    for f in bag.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert PERSON.encode() not in data and "市民3号".encode() not in data, f"a private name leaked into {f}"
    withheld = json.loads((bag / "data" / "withheld.json").read_text(encoding="utf-8"))
    assert withheld["comment_authors"]["count"] == 7 and "第十五条" in withheld["comment_authors"]["basis"]
    report = json.loads((bag / "data" / "four-properties.json").read_text(encoding="utf-8"))
    assert "the names of 7 private person(s) who commented withheld" in report["安全性 security"]["comment_authors"]
    v = verify_archive(bag)
    assert v.ok, v.failures
    assert any("(7 private persons' names withheld)" in c for c in v.checked)


@pytest.mark.parametrize("public", [False, True], ids=["full", "public"])
def test_an_edited_comment_is_caught_even_with_regenerated_manifests(published, tmp_path, public):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "bag", public=public)
    f = bag / "data" / "comments" / "comments.jsonl"
    f.write_text(f.read_text(encoding="utf-8").replace("补偿标准偏低", "补偿标准合理"), encoding="utf-8")
    v = verify_archive(regenerated(bag))
    assert not v.ok and any(x.startswith("comments.jsonl: comments of import") for x in v.failures), v.failures


@pytest.mark.parametrize("public", [False, True], ids=["full", "public"])
def test_a_deleted_comment_line_is_caught_even_with_regenerated_manifests(published, tmp_path, public):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "bag", public=public)
    f = bag / "data" / "comments" / "comments.jsonl"
    f.write_text("".join(f.read_text(encoding="utf-8").splitlines(keepends=True)[1:]), encoding="utf-8")
    v = verify_archive(regenerated(bag))
    assert not v.ok and any("10 rows recorded, 9 stored): 1 missing" in x for x in v.failures), v.failures


def test_a_withheld_name_put_back_into_a_public_bag_is_caught(published, tmp_path):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "public", public=True)
    f = bag / "data" / "comments" / "comments.jsonl"
    f.write_text(f.read_text(encoding="utf-8").replace('"author":null', f'"author":"{PERSON}"', 1), encoding="utf-8")
    v = verify_archive(regenerated(bag))
    assert not v.ok and any("shows the name of a private person" in x for x in v.failures)


def test_an_edited_disposition_is_caught_even_with_regenerated_manifests(published, tmp_path):
    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "bag")
    f = bag / "data" / "comments" / "dispositions.jsonl"
    f.write_text(f.read_text(encoding="utf-8").replace("补偿系数提高至1.15", "补偿系数提高至1.5"), encoding="utf-8")
    v = verify_archive(regenerated(bag))
    assert not v.ok and any(x.startswith("dispositions.jsonl: disposition row") and "reason changed" in x for x in v.failures)


def test_a_bag_stripped_of_its_comments_is_caught(published, tmp_path):
    import shutil

    from flows.usecases.archive_verify import verify_archive

    bag = export(published, tmp_path / "bag")
    shutil.rmtree(bag / "data" / "comments")
    v = verify_archive(regenerated(bag))
    assert not v.ok and any("data/comments/ is missing" in x for x in v.failures)


def test_comments_tampered_in_the_database_are_not_archived(published, tmp_path):
    from policies.errors import IntegrityFailure

    attacker = Attacker(published.ws)
    attacker.run("DELETE FROM comments WHERE id = 3")
    attacker.close()
    with pytest.raises(IntegrityFailure) as exc:
        export(published, tmp_path / "bag")
    assert "10 rows recorded, 9 stored): 1 missing" in exc.value.message
    assert not (tmp_path / "bag").exists() and not list(tmp_path.glob("juece-bag-*"))
    assert history(published)[-1].type != "dossier-archived"


def test_archive_export_and_verify_on_the_command_line(published, tmp_path):
    out = tmp_path / "public"
    code, _, err = cli(published.ws, "archive", "export", published.case_id, "--out", str(out), "--public", "--json",
                       actor="archivist:周档案")
    assert code == 0, err
    assert cli(published.ws, "archive", "verify", str(out))[0] == 0
    f = out / "data" / "comments" / "comments.jsonl"
    f.write_text(f.read_text(encoding="utf-8").replace("希望保留老榕树", "希望砍掉老榕树"), encoding="utf-8")
    code, stdout, _ = cli(published.ws, "archive", "verify", str(regenerated(out)), "--json")
    assert code == 4 and any("comments.jsonl" in x for x in json.loads(stdout)["failures"])


# --- who is a private person -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "organisation"),
    [("陈美玲", False), ("市民", False), ("个人3", False), ("", False), (ORGANISATION, True), ("海南大学", True),
     ("ABC物业有限公司（盖章）", True), ("三亚市住房和城乡建设局", True), ("某某律师事务所。", True), ("Acme Co., Ltd.", True),
     ("ＡＢＣ　ＬＴＤ", True), ("Wang Fang", False)],
)
def test_an_author_is_an_organisation_only_by_a_form_the_pack_names(author, organisation):
    from policies.disclosure import author_is_organisation
    from policies.pack import load_pack

    assert author_is_organisation(load_pack("cn-2019"), author) is organisation
    assert author_is_organisation(load_pack("cn-2019@1"), author) is False  # the first version names no forms


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("李明华公司协会委员局学院中心心（）()盖章。. ＡＬｔｄltdco,") + ["\u3400", "\uf900", "\u2f00"]), max_size=12))
def test_the_quick_path_of_the_author_classification_equals_its_plain_reading(author):
    from policies.disclosure import _STAMP, _TRAILING, FORMS_PARAM, author_is_organisation
    from policies.pack import load_pack

    pack = load_pack("cn-2019")
    forms = tuple(unicodedata.normalize("NFKC", f).casefold() for f in pack.data["params"][FORMS_PARAM]["value"])
    name = author
    for stamp in _STAMP:
        name = name.removesuffix(stamp)
    plain = unicodedata.normalize("NFKC", name).casefold().rstrip(_TRAILING)
    assert author_is_organisation(pack, author) is (bool(author) and bool(plain) and plain.endswith(forms))


def test_every_character_a_text_is_refused_for_is_unprintable():
    """validate_rows looks for BAD_CHARS only in a text that is not all printable (most are): exact only because every
    character BAD_CHARS finds is unprintable — checked over all of Unicode."""
    from flows.adapters.comment_files import BAD_CHARS

    found = [c for c in map(chr, range(0x110000)) if BAD_CHARS.fullmatch(c)]
    assert len(found) == 9 + 2 + 18 + 1 + 2048  # C0 controls but tab, LF, CR; DEL; the surrogates
    assert not any(c.isprintable() for c in found)


def test_every_character_a_name_or_text_is_refused_for_is_unprintable():
    """models/text.py searches for control and invisible characters only in a value that is not all printable: exact
    only because every character those patterns find is unprintable — checked over all of Unicode."""
    from models.text import _CONTROL, _INVISIBLE

    for pattern, expected in ((_CONTROL, 9 + 2 + 18 + 1), (_INVISIBLE, 5 + 5 + 5 + 4 + 1)):
        found = [c for c in map(chr, range(0x110000)) if pattern.fullmatch(c)]
        assert len(found) == expected
        assert not any(c.isprintable() for c in found)

"""A draft of the handling report that PP-07 requires (条例 art. 18) from a case's comments and their dispositions:
the main opinions, what was adopted, what was not and why."""

from __future__ import annotations

from flows.usecases.comment_dispositions import NEEDS_REASON, dispositions_in_force
from flows.usecases.unit_of_work import load_case_rows
from flows.usecases.workspace import Workspace
from models import comments as db
from models.db import read_transaction
from policies.errors import BadInput


_REPORT_LIMIT = 20000  # HandlingReport fields are Text (≤ 20,000 characters)
_MAIN_OPINIONS = 10
_LABEL = {"adopted": "采纳", "partly-adopted": "部分采纳", "not-adopted": "不予采纳"}


def _excerpt(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _numbered(items: list[str], limit: int = _REPORT_LIMIT) -> str:
    out: list[str] = []
    used = 0
    for i, item in enumerate(items, 1):
        line = f"{i}. {item}"
        if used + len(line) + 40 > limit:
            out.append(f"……另有{len(items) - i + 1}项，见意见处理清单")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def handling_report_draft(ws: Workspace, case_id: str) -> dict[str, str]:
    """A draft of `participation-concluded`'s handling_report from the comments and their dispositions (PP-07)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = load_case_rows(conn, case_id)
        counts = db.counts(conn, case_id)
        biggest = db.clusters(conn, case_id, limit=_MAIN_OPINIONS)
        decided = dispositions_in_force(events)
        single = {int(t.split(":")[1]): d for t, d in decided.items() if t.startswith("comment:")}
        singles = {n: db.comment(conn, case_id, n) for n in single}
        grouped = {int(t.split(":")[1]): d for t, d in decided.items() if t.startswith("cluster:")}
        cluster_rows = {c.cluster: c for c in db.clusters(conn, case_id, only=list(grouped))} if grouped else {}
    if not counts.received:
        raise BadInput(f"case {case_id} has no imported comments to report on (see `juece comments import`)", field="CASE")
    opinions = [
        f"{_excerpt(c.sample_text)}（{c.size}条" + ("，内容相同或基本相同" if c.size > 1 else "") + "）" for c in biggest
    ]
    main = (
        f"共收到公众意见{counts.received}条"
        + (f"（其中逾期提交{counts.late}条，已保留并标注）" if counts.late else "")
        + f"，去除完全重复后{counts.distinct}条，归并相同或基本相同的意见后为{counts.clusters}组。主要意见：\n"
        + _numbered(opinions, _REPORT_LIMIT - 200)
    )
    # A comment's own disposition overrides its cluster's; the cluster then covers the rest of its comments.
    carved: dict[int, int] = {}
    for n, row in singles.items():
        if row is not None and row.cluster in grouped:
            carved[row.cluster] = carved.get(row.cluster, 0) + 1
    entries: list[tuple[str, str, str]] = []  # (disposition, what, reason)
    for n, d in sorted(grouped.items()):
        c = cluster_rows.get(n)
        if c is None:
            continue
        size = c.size - carved.get(n, 0)
        if size > 0:
            entries.append((d.disposition, f"{_excerpt(c.sample_text)}（{size}条）", d.reason))
    for n, d in sorted(single.items()):
        row = singles.get(n)
        if row is not None:
            entries.append((d.disposition, f"{_excerpt(row.text)}（第{n}号意见）", d.reason))
    adopted = [f"【{_LABEL[d]}】{what}" + (f"：{why}" if why and d == "adopted" else "") for d, what, why in entries if d != "not-adopted"]
    not_adopted = [what for d, what, _ in entries if d == "not-adopted"]
    reasons = [f"【{_LABEL[d]}】{_excerpt(what, 30)}：{why}" for d, what, why in entries if d in NEEDS_REASON]
    return {
        "main_opinions": main[:_REPORT_LIMIT],
        "adopted": _numbered(adopted),
        "not_adopted": _numbered(not_adopted),
        "reasons": _numbered(reasons),
    }

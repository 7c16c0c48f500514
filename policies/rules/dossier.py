"""Archiving the dossier (`dossier-archived`): ARC-01, a dossier is archived once the decision is published or the
case ended without one; ARC-07, its archival code (档号, DA/T 22-2015) reads 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号
with the retention codes Y / D30 / D10 (ARC-06). Judged before the export writes anything and again in audit.
(ARC-02, the documents handed over, is in archiving.py.)"""

from __future__ import annotations

import re
from typing import Iterator

from policies.rules import RuleContext, Violation, check

ARCHIVAL_CODE = re.compile(r"^[A-Z0-9]{1,8}-[A-Z]{2}·\d{4}-(Y|D30|D10)-[A-Z0-9]{1,8}-\d{4,}$")
EXAMPLE = "Z001-WS·2025-Y-FZ-0001"


def archival_code_violation(code: str) -> Violation | None:
    """ARC-07: None when `code` has the DA/T 22 form, else the violation naming what it should look like."""
    if ARCHIVAL_CODE.match(code):
        return None
    return Violation(
        "ARC-07",
        f"{code!r} is not an archival code (档号) of the DA/T 22 form 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号, "
        f"e.g. {EXAMPLE}: the fonds number (--fonds) and the organisation code (--org-code) are 1–8 capital letters or "
        "digits, the retention Y, D30 or D10.",
        {"archive_id": code, "example": EXAMPLE},
    )


@check("ARC-01", "dossier-archived")
def archived_once_the_case_is_done(ctx: RuleContext) -> Iterator[Violation]:
    """The dossier is archived once the decision is published (or exempted), or the case ended without a decision."""
    statuses = ctx.statuses
    if any(s.status == "closed" for s in statuses.values()):
        return
    if statuses["publication"].status in ("concluded", "exempted"):
        return
    at = ", ".join(f"{k} {v.status}" for k, v in statuses.items() if v.status != "pending")
    yield Violation(
        "ARC-01",
        "a dossier is archived once the decision is published, or once the case ended without a decision; "
        f"{ctx.case.case_id} is at: {at or 'launched, nothing recorded'}.",
        {"statuses": {k: v.status for k, v in statuses.items()}},
    )


@check("ARC-07", "dossier-archived")
def archived_under_a_valid_code(ctx: RuleContext) -> Iterator[Violation]:
    """The dossier's 档号 has the DA/T 22 form."""
    v = archival_code_violation(ctx.payload["archive_id"])
    if v is not None:
        yield v

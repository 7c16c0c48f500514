"""Documents: stored by content hash, referenced by sha256, verified with the history; names never escape the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from flows.usecases.audit import verify_cases
from flows.usecases.documents import attach, blob_path
from policies.errors import BadInput, RuleRefusal
from support import AUDITOR, CLERK

REPORT = "三亚市河西片区棚户区改造社会稳定风险评估报告：风险等级为低。".encode()


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    p = tmp_path / "风险评估报告.pdf"
    p.write_bytes(REPORT)
    return p


def test_an_attached_document_is_stored_by_its_hash_and_keeps_its_chinese_name(case, doc):
    r = attach(case.ws, CLERK, case.case_id, doc, title="社会稳定风险评估报告")
    assert r.sha256 == hashlib.sha256(REPORT).hexdigest()
    assert r.display_name == "风险评估报告.pdf"
    stored = blob_path(case.ws, r.sha256)
    assert stored.read_bytes() == REPORT and stored.name == r.sha256
    assert verify_cases(case.ws).exit_code == 0


def test_attaching_the_same_document_twice_records_it_once(case, doc):
    first = attach(case.ws, CLERK, case.case_id, doc)
    again = attach(case.ws, CLERK, case.case_id, doc)
    assert again.repeated and again.seq == first.seq


@pytest.mark.parametrize("hostile", [
    "../../etc/passwd", "/etc/shadow", "..\\..\\boot.ini", "．．／．．／secret.txt", "a" * 300 + ".pdf",
])
def test_hostile_names_never_escape_the_store(case, doc, hostile):
    r = attach(case.ws, CLERK, case.case_id, doc, name=hostile)
    assert "/" not in r.display_name and "\\" not in r.display_name and "／" not in r.display_name
    assert len(r.display_name) <= 200
    blobs = case.ws.home / "blobs"
    for p in case.ws.home.rglob("*"):
        assert p.resolve().is_relative_to(case.ws.home.resolve())
    assert blob_path(case.ws, r.sha256).resolve().is_relative_to(blobs.resolve())


@pytest.mark.parametrize("bad", ["报告\u202efdp.exe", "报告\x00.pdf", "报\u200b告.pdf", "..", "  "])
def test_names_with_invisible_or_control_characters_are_refused(case, doc, bad):
    with pytest.raises(BadInput):
        attach(case.ws, CLERK, case.case_id, doc, name=bad)


def test_an_auditor_cannot_attach(case, doc):
    with pytest.raises(RuleRefusal) as exc:
        attach(case.ws, AUDITOR, case.case_id, doc)
    assert exc.value.code == "ROLE-01"


def test_a_changed_or_missing_document_fails_verification(case, doc):
    r = attach(case.ws, CLERK, case.case_id, doc)
    stored = blob_path(case.ws, r.sha256)
    stored.write_bytes(REPORT + b"!")
    report = verify_cases(case.ws)
    assert report.exit_code == 4 and "风险评估报告.pdf" in report.cases[0].problem
    stored.unlink()
    assert verify_cases(case.ws).exit_code == 4

"""ARC-02 (档案法 art. 14): materials to be archived are handed over; no one may refuse or keep them. A document the
history records as attached but the store no longer holds was not handed over: `archive export` is refused naming
ARC-02 and writes nothing, and `dossier-archived` lists the documents handed over, which `audit verify` re-checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.usecases.archive import export_archive
from flows.usecases.audit import verify_cases
from flows.usecases.documents import attach, blob_path
from models import store
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION
from models.store import NewEvent
from policies.errors import IntegrityFailure, RuleRefusal
from support import CLERK, MANDATORY_PATH, Actor, Driver
from test_cli import juece

ARCHIVIST = Actor("archivist", "周档案")
REPORT = "社会稳定风险评估报告：风险等级低。".encode()


@pytest.fixture
def published(case: Driver, tmp_path: Path) -> tuple[Driver, str]:
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    f = tmp_path / "风险评估报告.txt"
    f.write_bytes(REPORT)
    doc = attach(case.ws, CLERK, case.case_id, f, title="社会稳定风险评估报告")
    return case, doc.sha256


def events_of(case: Driver) -> list:  # type: ignore[type-arg]
    with read_transaction(case.ws.engine) as conn:
        return store.load_stream(conn, case.case_id)


def test_the_archive_record_lists_the_documents_handed_over(published, tmp_path: Path):
    case, sha = published
    export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    last = events_of(case)[-1]
    assert last.type == "dossier-archived" and last.payload["documents"] == [sha]
    assert verify_cases(case.ws).exit_code == 0


def test_an_export_missing_an_attached_document_is_refused_naming_ARC_02_and_writes_nothing(published, tmp_path: Path):
    case, sha = published
    blob_path(case.ws, sha).unlink()
    before = len(events_of(case))
    with pytest.raises(RuleRefusal) as exc:
        export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    err = exc.value
    assert err.code == "ARC-02" and err.exit_code == 3
    assert "档案法第十四条" in err.findings[0].article
    assert "风险评估报告.txt" in err.message and sha in err.findings[0].values["missing"]
    assert not (tmp_path / "bag").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("juece-bag-")]
    assert len(events_of(case)) == before


def test_handing_the_same_file_over_again_lets_the_export_go_through(published, tmp_path: Path):
    case, sha = published
    blob_path(case.ws, sha).unlink()
    with pytest.raises(RuleRefusal):
        export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    again = tmp_path / "找回的报告.txt"
    again.write_bytes(REPORT)
    attach(case.ws, CLERK, case.case_id, again, name="风险评估报告.txt", title="社会稳定风险评估报告")
    export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    assert events_of(case)[-1].payload["documents"] == [sha]


def test_a_document_altered_in_the_store_is_an_integrity_failure_not_a_handover(published, tmp_path: Path):
    case, sha = published
    blob_path(case.ws, sha).write_bytes(REPORT + b" (edited)")
    with pytest.raises(IntegrityFailure):
        export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_a_public_export_still_needs_the_withheld_documents_in_the_store(published, tmp_path: Path):
    case, _ = published
    secret = tmp_path / "房源.txt"
    secret.write_bytes("安置房源清单".encode())
    doc = attach(case.ws, CLERK, case.case_id, secret, title="安置房源清单", non_disclosure_basis="《政府信息公开条例》第十五条")
    blob_path(case.ws, doc.sha256).unlink()
    with pytest.raises(RuleRefusal) as exc:
        export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag", public=True)
    assert exc.value.code == "ARC-02" and "房源.txt" in exc.value.message


def test_an_archive_record_appended_without_a_document_is_an_audit_finding(published, tmp_path: Path):
    case, sha = published
    export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "bag")
    with write_transaction(case.ws.engine) as conn:
        history = store.load_stream(conn, case.case_id)
        forged = {**history[-1].payload, "documents": [], "archive_id": "Z001-WS·2025-Y-FZ-0002"}
        store.append(conn, case.case_id, history, [NewEvent("dossier-archived", SCHEMA_VERSION, forged, "archivist:周档案",
                                                            "archivist", "forged-archive", "cn-2019")],
                     history[-1].moment)
    report = verify_cases(case.ws)
    assert report.exit_code == 5
    (verdict,) = report.cases
    assert verdict.intact and [(f["rule"], f["event"]) for f in verdict.findings] == [("ARC-02", "dossier-archived")]
    assert sha in verdict.findings[0]["values"]["missing"]


def test_the_command_line_refuses_the_export_with_exit_3_naming_ARC_02(published, tmp_path: Path):
    case, sha = published
    blob_path(case.ws, sha).unlink()
    code, out, err = juece(case.ws.home, "archive", "export", case.case_id, "--out", str(tmp_path / "bag"),
                           actor="archivist:周档案")
    assert code == 3, (out, err)
    assert "ARC-02" in err and "档案法第十四条" in err and "Traceback" not in err
    code, out, err = juece(case.ws.home, "archive", "export", case.case_id, "--out", str(tmp_path / "bag"), "--json",
                           actor="archivist:周档案")
    assert code == 3 and json.loads(out)["error"]["code"] == "ARC-02"
    assert not (tmp_path / "bag").exists()

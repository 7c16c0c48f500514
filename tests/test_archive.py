"""The archive: a BagIt bag that the Library of Congress validator accepts, and that `archive verify` checks with
nothing but the bag — catching a flipped bit, a deleted or added file, and an edit hidden by regenerated manifests."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from flows.usecases.archive import export_archive
from flows.usecases.archive_verify import verify_archive
from flows.usecases.documents import attach
from policies.errors import RuleRefusal
from support import CLERK, MANDATORY_PATH, Actor

ARCHIVIST = Actor("archivist", "周档案")
SECRET = "安置房源清单：河西片区A-17栋".encode()


@pytest.fixture
def published(case, tmp_path):
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    report = tmp_path / "风险评估报告.txt"
    report.write_bytes("社会稳定风险评估报告：风险等级低。".encode())
    secret = tmp_path / "房源.txt"
    secret.write_bytes(SECRET)
    attach(case.ws, CLERK, case.case_id, report, title="社会稳定风险评估报告")
    attach(case.ws, CLERK, case.case_id, secret, title="安置房源清单", non_disclosure_basis="《政府信息公开条例》第十五条")
    return case


@pytest.fixture
def bag(published, tmp_path):
    out = tmp_path / "bag"
    export_archive(published.ws, ARCHIVIST, published.case_id, out)
    return out


def elsewhere(bag: Path, tmp_path: Path) -> Path:
    """A copy of the bag in another place, as an archive would receive it."""
    copy = tmp_path / "received" / bag.name
    shutil.copytree(bag, copy)
    return copy


def test_the_library_of_congress_validator_accepts_the_bag(bag):
    done = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stderr
    for name in ("manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"):
        assert (bag / name).is_file()


def test_a_fresh_bag_verifies_with_nothing_but_the_bag(bag, tmp_path):
    v = verify_archive(elsewhere(bag, tmp_path))
    assert v.ok, v.failures
    assert any("inclusion proofs" in c for c in v.checked)


def test_bag_info_carries_the_archival_metadata(bag):
    info = bagit.Bag(str(bag)).info
    assert info["档号"] == "Z001-WS·2025-Y-FZ-0001"
    assert info["保管期限"] == "永久"
    assert info["题名"] == "三亚市河西片区棚户区改造项目"
    assert info["日期"] == "20251110"


def test_the_tag_manifest_hash_is_recorded_in_the_history(published, bag):
    digest = hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    from flows.usecases.audit import replay_case

    events = replay_case(published.ws, published.case_id).events
    assert events[-1].type == "dossier-archived"
    from flows.usecases.workspace import read_workspace_facts  # noqa: F401
    from models.db import read_transaction
    from models.store import load_stream

    with read_transaction(published.ws.engine) as conn:
        archived = load_stream(conn, published.case_id)[-1]
    assert archived.payload["tagmanifest_sha256"] == digest


def test_a_flipped_bit_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    doc = next((copy / "data" / "documents").glob("[0-9a-f]" * 1 + "*"))
    data = bytearray(doc.read_bytes())
    data[3] ^= 0x01
    doc.write_bytes(bytes(data))
    v = verify_archive(copy)
    assert not v.ok and v.failures == [f"data/documents/{doc.name}: edited after export (its sha256 differs from the "
                                       "signed inventory)"]


def test_a_deleted_file_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    (copy / "data" / "proofs.jsonl").unlink()
    assert not verify_archive(copy).ok


def test_an_added_file_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    (copy / "data" / "extra.txt").write_text("补充材料")
    v = verify_archive(copy)
    assert not v.ok and v.failures == ["data/extra.txt: added after export (not in the signed inventory)"]


def regenerate_manifests(copy: Path) -> None:
    b = bagit.Bag(str(copy))
    b.save(processes=1, manifests=True)
    assert bagit.Bag(str(copy)).is_valid()  # the forger's bag passes BagIt validation


def test_an_edited_dossier_page_with_regenerated_manifests_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    page = copy / "data" / "dossier.html"
    page.write_text(page.read_text(encoding="utf-8").replace("同意", "反对", 1), encoding="utf-8")
    regenerate_manifests(copy)
    v = verify_archive(copy)
    assert not v.ok and any("dossier.html" in f for f in v.failures)


def test_an_edited_history_with_regenerated_manifests_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    history = copy / "data" / "history.jsonl"
    history.write_text(history.read_text(encoding="utf-8").replace("2025-11-03", "2025-11-04"), encoding="utf-8")
    regenerate_manifests(copy)
    v = verify_archive(copy)
    assert not v.ok and "history" in v.failures[0]


def test_a_swapped_document_with_regenerated_manifests_is_caught(bag, tmp_path):
    copy = elsewhere(bag, tmp_path)
    doc = next(p for p in (copy / "data" / "documents").iterdir() if p.name != "index.json")
    doc.write_bytes("伪造的报告".encode())
    regenerate_manifests(copy)
    v = verify_archive(copy)
    assert not v.ok and v.failures == [f"data/documents/{doc.name}: edited after export (its sha256 differs from the "
                                       "signed inventory)"]
    (copy / "juece-inventory.json").unlink()  # a bag without the inventory: the check against the history still holds
    regenerate_manifests(copy)
    v = verify_archive(copy)
    assert not v.ok and any("does not match the sha256 recorded" in f for f in v.failures)


def test_the_public_export_withholds_non_disclosed_material_and_says_where(published, tmp_path):
    out = tmp_path / "public"
    r = export_archive(published.ws, ARCHIVIST, published.case_id, out, public=True)
    assert r.withheld == 1
    for p in out.rglob("*"):
        if p.is_file():
            assert SECRET not in p.read_bytes(), f"withheld content leaked into {p}"
    assert "安置房源清单" in (out / "data" / "withheld.json").read_text(encoding="utf-8")
    assert "本公开版未收录" in (out / "data" / "dossier.html").read_text(encoding="utf-8")
    assert verify_archive(out).ok


def test_a_case_is_archived_only_once_published_or_ended(case, tmp_path):
    case.walk(MANDATORY_PATH)
    with pytest.raises(RuleRefusal) as exc:
        export_archive(case.ws, ARCHIVIST, case.case_id, tmp_path / "early")
    assert exc.value.code == "ARC-01"
    assert not (tmp_path / "early").exists()


def test_only_the_archivist_exports(published, tmp_path):
    with pytest.raises(RuleRefusal) as exc:
        export_archive(published.ws, CLERK, published.case_id, tmp_path / "x")
    assert exc.value.code == "ROLE-01"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("JUECE_REQUIRE_CHROMIUM"), reason="Chromium is not installed")
def test_the_dossier_page_renders_in_a_real_headless_browser(bag, tmp_path):
    assert CHROMIUM, "JUECE_REQUIRE_CHROMIUM is set but Chromium is not installed"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    page = (bag / "data" / "dossier.html").as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-500:]
    for text in ("重大行政决策档案", "三亚市河西片区棚户区改造项目", "集体讨论决定", "李市长（行政首长）", "程序履行情况", "永久"):
        assert text in dom.stdout
    assert "<script" not in dom.stdout
    shot = tmp_path / "dossier.png"
    done = subprocess.run([CHROMIUM, *flags, "--window-size=1100,1800", f"--screenshot={shot}", page],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

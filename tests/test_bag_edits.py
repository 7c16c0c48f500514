"""The bag-edit matrix (issue 12): each kind of edit to an exported bag, made and then hidden by regenerating every
BagIt manifest, is caught by the real `juece archive verify` — exit 4, naming the edited file (not a page rendered from
it) — with the key inside the bag and with a trusted `--public-key`; a trusted key that differs from the bag's is said;
a bag without the signed inventory (as made before it existed) still verifies, saying that it predates the inventory.
Figures: bench/RESULTS.md ("Bag edits")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import bagit
import pytest

from flows.usecases.archive import export_archive
from flows.usecases.documents import attach
from models.checkpoint import generate_key, public_key_to_pem
from support import CLERK, MANDATORY_PATH, Actor, Driver, new_workspace

JUECE = str(Path(sys.executable).with_name("juece"))
ARCHIVIST = Actor("archivist", "周档案")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A published case with two documents (one 依法不予公开), exported; and the installation's public key."""
    root = tmp_path_factory.mktemp("bags")
    ws = new_workspace(root / "ws")
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(MANDATORY_PATH)
    d.walk(["party-reported", "decision-published"])
    report = root / "风险评估报告.txt"
    report.write_bytes("社会稳定风险评估报告：风险等级低。".encode())
    secret = root / "房源.txt"
    secret.write_bytes("安置房源清单：河西片区A-17栋".encode())
    attach(ws, CLERK, d.case_id, report, title="社会稳定风险评估报告")
    attach(ws, CLERK, d.case_id, secret, title="安置房源清单", non_disclosure_basis="《政府信息公开条例》第十五条")
    export_archive(ws, ARCHIVIST, d.case_id, root / "bag")
    from flows.usecases.proofs import public_key_pem

    key = root / "installation-key.pem"
    key.write_text(public_key_pem(ws), encoding="utf-8")
    return root / "bag", key


def _index(bag: Path) -> list[dict]:
    return json.loads((bag / "data/documents/index.json").read_text(encoding="utf-8"))


def _write_index(bag: Path, index: list[dict]) -> None:
    (bag / "data/documents/index.json").write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def add_file(bag: Path) -> None:
    (bag / "data" / "补充说明.txt").write_text("后补的说明\n", encoding="utf-8")


def fake_document(bag: Path) -> None:
    content = "伪造的专家意见".encode()
    sha = hashlib.sha256(content).hexdigest()
    (bag / "data/documents" / sha).write_bytes(content)
    index = _index(bag)
    index.append({**index[0], "sha256": sha, "display_name": "专家意见.txt", "title": "专家论证意见", "size": len(content),
                  "file": f"documents/{sha}"})
    _write_index(bag, index)


def rename_document(bag: Path) -> None:
    index = _index(bag)
    index[0]["display_name"] = "另一份报告.txt"
    _write_index(bag, index)


def retitle_document(bag: Path) -> None:
    index = _index(bag)
    index[0]["title"] = "经修改的标题"
    _write_index(bag, index)


def disclose_document(bag: Path) -> None:
    index = _index(bag)
    for d in index:
        d["disclosure"] = "public"
    _write_index(bag, index)


def classification(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("密级: 公开", "密级: 秘密"), encoding="utf-8")


def remove_file(bag: Path) -> None:
    (bag / "data/four-properties.json").unlink()


def edit_dossier(bag: Path) -> None:
    page = bag / "data/dossier.html"
    page.write_text(page.read_text(encoding="utf-8").replace("三亚市", "海口市", 1), encoding="utf-8")


FAKE = "data/documents/" + hashlib.sha256("伪造的专家意见".encode()).hexdigest()

# kind -> (edit, the files a correct verdict names: all of them, and no other)
EDITS: dict[str, tuple[Callable[[Path], None], str | tuple[str, ...]]] = {
    "file added to data/": (add_file, "data/补充说明.txt"),
    "fake document": (fake_document, (FAKE, "data/documents/index.json")),
    "document renamed in index.json": (rename_document, "data/documents/index.json"),
    "title edited in index.json": (retitle_document, "data/documents/index.json"),
    "disclosure edited in index.json": (disclose_document, "data/documents/index.json"),
    "密级 edited in bag-info.txt": (classification, "bag-info.txt"),
    "file removed": (remove_file, "data/four-properties.json"),
    "dossier.html edited": (edit_dossier, "data/dossier.html"),
}


def regenerate_manifests(bag: Path) -> None:
    """What someone hiding an edit does: every BagIt manifest and tag manifest made again."""
    b = bagit.Bag(str(bag))
    b.save(processes=1, manifests=True)
    assert bagit.Bag(str(bag)).is_valid(), "the regenerated bag should pass BagIt validation"


def verify(bag: Path, *extra: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    r = subprocess.run([JUECE, "archive", "verify", str(bag), "--json", *extra], capture_output=True, text=True,
                       timeout=300, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def test_the_exported_bag_verifies_with_its_signed_inventory(exported: tuple[Path, Path]) -> None:
    bag, key = exported
    for extra in ((), ("--public-key", str(key))):
        code, v = verify(bag, *extra)
        assert code == 0, v
        assert any(c.startswith("signed inventory:") for c in v["checked"]), v


@pytest.mark.parametrize("with_key", [False, True], ids=["bag key", "trusted key"])
@pytest.mark.parametrize("kind", list(EDITS))
def test_an_edit_hidden_by_regenerated_manifests_is_caught_naming_the_file(
        exported: tuple[Path, Path], tmp_path: Path, kind: str, with_key: bool) -> None:
    bag, key = exported
    copy = tmp_path / "bag"
    shutil.copytree(bag, copy)
    edit, named = EDITS[kind]
    edit(copy)
    regenerate_manifests(copy)
    code, v = verify(copy, *(("--public-key", str(key)) if with_key else ()))
    assert code == 4, f"{kind}: exit {code}\n{v}"
    want = {named} if isinstance(named, str) else set(named)
    assert {f.split(":", 1)[0] for f in v["failures"]} == want, f"{kind}: {v['failures']}"


def test_a_trusted_key_other_than_the_bags_is_said(exported: tuple[Path, Path], tmp_path: Path) -> None:
    bag, _ = exported
    other = tmp_path / "other-key.pem"
    other.write_bytes(public_key_to_pem(generate_key()))
    code, v = verify(bag, "--public-key", str(other))
    assert code == 4
    assert any("the key inside the bag" in f and "--public-key" in f for f in v["failures"]), v["failures"]


def test_a_re_signed_bag_is_caught_with_the_trusted_key(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """An editor with a key of their own re-signs the inventory and swaps the bag's key: only the trusted key tells."""
    from flows.usecases.bag_inventory import write_inventory

    bag, key = exported
    copy = tmp_path / "bag"
    shutil.copytree(bag, copy)
    add_file(copy)
    forger = generate_key()
    (copy / "data/public-key.pem").write_bytes(public_key_to_pem(forger))
    regenerate_manifests(copy)
    write_inventory(copy, forger, case_id="x", archive_id="x")
    code, v = verify(copy, "--public-key", str(key))
    assert code == 4
    assert v["failures"][0].startswith("data/public-key.pem: the key inside the bag"), v["failures"]


def test_a_bag_without_the_inventory_verifies_and_says_it_predates_it(exported: tuple[Path, Path], tmp_path: Path) -> None:
    bag, _ = exported
    copy = tmp_path / "bag"
    shutil.copytree(bag, copy)
    (copy / "juece-inventory.json").unlink()
    regenerate_manifests(copy)
    code, v = verify(copy)
    assert code == 0, v
    assert any("predates the inventory" in n for n in v["notes"]), v["notes"]

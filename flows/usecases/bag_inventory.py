"""The signed inventory of a bag (ARCHITECTURE.md, "Archive"): every payload and tag file with its sha256, signed with
the installation's Ed25519 key, kept as the tag file `juece-inventory.json`.

BagIt's manifests say whether the files match the manifests; whoever edits a bag can regenerate those. The inventory
cannot be regenerated without the installation's key, so `archive verify` finds a file added to `data/`, a fake
document, an edit of `data/documents/index.json` or of `bag-info.txt`, or a removed file, even after the manifests
were made again, and names that file. The manifests themselves are left out (they are derived from the files, and a
regeneration is exactly what the inventory must see through); the tag manifests are written after the inventory and
cover it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from models.canonical import canonical_bytes
from models.checkpoint import key_id

INVENTORY = "juece-inventory.json"
FORMAT = "juece-bag-inventory/1"
TAG_MANIFEST_ALGORITHMS = ("sha256", "sha512")


def _hash(path: Path, alg: str = "sha256") -> str:
    h = hashlib.new(alg)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# bag-info.txt fields BagIt derives from the payload and rewrites when the manifests are made again: left out of the
# file's inventory hash, so a regeneration is blamed on the file that was edited, not on bag-info.txt (BagIt checks them).
_DERIVED_BAG_INFO = ("payload-oxum:", "bag-size:")


def _inventory_hash(rel: str, path: Path) -> str:
    """The sha256 the inventory keeps for a file: of its bytes, except bag-info.txt without its derived lines."""
    if rel != "bag-info.txt":
        return _hash(path)
    lines = path.read_bytes().splitlines(keepends=True)
    return hashlib.sha256(b"".join(l for l in lines if not l.decode("utf-8", "replace").lower().startswith(_DERIVED_BAG_INFO))).hexdigest()


def _derived(rel: str) -> bool:
    """Manifests and tag manifests (derived from the files) and the inventory itself."""
    return rel == INVENTORY or (rel.startswith(("manifest-", "tagmanifest-")) and "/" not in rel)


def bag_files(bag: Path) -> dict[str, Path]:
    """Every file of the bag the inventory covers, by its path relative to the bag (with '/')."""
    out = {}
    for p in sorted(bag.rglob("*")):
        if p.is_file() or p.is_symlink():
            rel = p.relative_to(bag).as_posix()
            if not _derived(rel):
                out[rel] = p
    return out


def _signed_part(doc: dict[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in doc.items() if k != "signature"})


def write_inventory(bag: Path, key: Ed25519PrivateKey, *, case_id: str, archive_id: str) -> dict[str, Any]:
    """Write the signed inventory of a finished bag, then its tag manifests again so that they cover it."""
    files = {rel: _inventory_hash(rel, p) for rel, p in bag_files(bag).items()}
    doc: dict[str, Any] = {"format": FORMAT, "case_id": case_id, "archive_id": archive_id, "key_id": key_id(key),
                           "algorithm": "sha256", "files": files,
                           "note": "bag-info.txt is hashed without its Payload-Oxum and Bag-Size lines (BagIt's own)"}
    doc["signature"] = base64.b64encode(key.sign(_signed_part(doc))).decode("ascii")
    (bag / INVENTORY).write_text(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for alg in TAG_MANIFEST_ALGORITHMS:
        tags = sorted(rel for rel in (p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file())
                      if not rel.startswith("data/") and not rel.startswith("tagmanifest-"))
        (bag / f"tagmanifest-{alg}.txt").write_text("".join(f"{_hash(bag / rel, alg)} {rel}\n" for rel in tags),
                                                    encoding="utf-8")
    return doc


@dataclass
class InventoryCheck:
    """What the inventory check found."""

    present: bool
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


PREDATES = ("this bag has no signed inventory (juece-inventory.json): it predates the inventory, or the inventory was "
            "removed. Its files were checked against the history, the proofs and the rendered pages, but a file added "
            "to data/ or an edit of bag-info.txt made with the manifests regenerated cannot be ruled out from the bag "
            "alone: compare its tagmanifest-sha256.txt with the sha256 in the case's `dossier-archived` record")


def check_inventory(bag: Path, key: Ed25519PublicKey, *, key_source: str) -> InventoryCheck:
    """Compare the bag with its signed inventory; each added, removed or edited file is named."""
    path = bag / INVENTORY
    if not path.is_file():
        return InventoryCheck(False, notes=[PREDATES])
    out = InventoryCheck(True)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"]
        signature = base64.b64decode(doc["signature"], validate=True)
        if doc.get("format") != FORMAT or not isinstance(files, dict):
            raise ValueError(f"not a {FORMAT} document")
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        out.failures.append(f"{INVENTORY}: cannot be read ({exc}); it was edited after export")
        return out
    try:
        key.verify(signature, _signed_part(doc))
    except InvalidSignature:
        signer = doc.get("key_id")
        out.failures.append(
            f"{INVENTORY}: its signature does not verify with {key_source} (key {key_id(key)}"
            + (f"; the inventory names key {signer}" if signer and signer != key_id(key) else "")
            + "): the inventory was edited after export, or the bag was signed by another installation")
        return out
    actual = bag_files(bag)
    for rel in sorted(set(actual) - set(files)):
        out.failures.append(f"{rel}: added after export (not in the signed inventory)")
    for rel in sorted(set(files) - set(actual)):
        out.failures.append(f"{rel}: removed after export (listed in the signed inventory)")
    for rel in sorted(set(files) & set(actual)):
        if _inventory_hash(rel, actual[rel]) != files[rel]:
            out.failures.append(f"{rel}: edited after export (its sha256 differs from the signed inventory)")
    if not out.failures:
        out.checked.append(f"signed inventory: {len(files)} files exactly as exported (key {doc.get('key_id')}, "
                           f"checked with {key_source})")
    return out

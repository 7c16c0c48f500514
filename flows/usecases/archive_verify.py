"""`archive verify`: a bag checked with nothing but the bag — full BagIt validation, then the history's chain, the
signed checkpoint and every inclusion proof, each document against its recorded hash, the comments against their
recorded digests, and the derived pages rendered again and compared byte for byte (flows/usecases/archive.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.adapters.bags import validate_bag
from flows.render.dossier import dossier_html, four_properties_report
from flows.usecases.bag_inventory import check_inventory
from flows.usecases.archive import event_from_line, four_properties_checks, sha256_file
from flows.usecases.archive_comments import verify_comment_files
from models import merkle
from models.checkpoint import key_id, load_public_key, parse_checkpoint, verify_checkpoint
from models.integrity import verify_stream
from models.state import replay
from policies.errors import BadInput
from policies.pack import canonical_json, pack_from_data


@dataclass
class ArchiveVerdict:
    """What `archive verify` found: ok, or the first failures by kind."""

    bag: str
    ok: bool = True
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        """Record a failure."""
        self.ok = False
        self.failures.append(what)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def verify_archive(path: Path, *, public_key_pem_text: str | None = None) -> ArchiveVerdict:
    """Full validation of a bag (never the fast mode), then the chain, checkpoint, proofs, documents, derived pages."""
    v = ArchiveVerdict(str(path))
    if not (path / "bagit.txt").is_file():
        raise BadInput(f"{path} is not a BagIt bag (no bagit.txt)", field="DIR")
    # First the signed inventory, which names the file that was added, removed or edited even when the manifests were
    # regenerated; its failures are the answer (what follows would only blame pages rendered from that file).
    try:
        bag_key = load_public_key((path / "data" / "public-key.pem").read_text(encoding="utf-8"))
    except (OSError, ValueError, BadInput) as exc:
        bag_key = None
        if public_key_pem_text is None:
            v.fail(f"data/public-key.pem: cannot be read ({exc})")
            return v
    trusted = load_public_key(public_key_pem_text) if public_key_pem_text is not None else None
    if trusted is not None and bag_key is not None and key_id(trusted) != key_id(bag_key):
        v.fail(f"data/public-key.pem: the key inside the bag (key {key_id(bag_key)}) is not the key given with "
               f"--public-key (key {key_id(trusted)}): the bag was signed by another installation, or re-signed")
    inventory_key = trusted or bag_key
    assert inventory_key is not None  # one of them was read, or we returned above
    inventory = check_inventory(path, inventory_key,
                                key_source="the key given with --public-key" if trusted else "the key inside the bag")
    v.notes += inventory.notes
    v.checked += inventory.checked
    for problem in inventory.failures:
        v.fail(problem)
    if not v.ok:
        return v
    info, failure = validate_bag(path)
    if failure:
        v.fail(failure)
        return v
    v.checked.append("BagIt full validation: every payload file against the sha256 and sha512 manifests, tag manifests")
    data = path / "data"
    try:
        events = [event_from_line(line) for line in (data / "history.jsonl").read_text(encoding="utf-8").splitlines() if line]
        cp = parse_checkpoint((data / "checkpoint.json").read_text(encoding="utf-8"))
        proofs = [json.loads(line) for line in (data / "proofs.jsonl").read_text(encoding="utf-8").splitlines() if line]
        key_pem = public_key_pem_text or (data / "public-key.pem").read_text(encoding="utf-8")
        key = load_public_key(key_pem)
    except (OSError, ValueError, KeyError, BadInput) as exc:
        v.fail(f"the bag's history, checkpoint, proofs or key cannot be read: {exc}")
        return v
    if public_key_pem_text is None:
        v.notes.append("the checkpoint was checked with the public key inside the bag; give --public-key from a copy "
                       "you trust to rule out a re-signed bag")
    if not events:
        v.fail("the history is empty")
        return v
    broken = verify_stream(events)
    if broken:
        v.fail(f"history: {broken.sentence()}")
    else:
        v.checked.append(f"hash chain of {len(events)} events")
    if not verify_checkpoint(cp, key) or key_id(key) != cp.key_id:
        v.fail("checkpoint: the signature does not verify with the public key")
    else:
        v.checked.append(f"checkpoint signature (key {cp.key_id}, {cp.tree_size} events)")
    by_seq = {p.get("seq"): p for p in proofs}
    proven = 0
    for ev in events:
        p = by_seq.get(ev.seq)
        leaf = merkle.leaf_hash(bytes.fromhex(ev.hash))
        if (p is None or p.get("hash") != ev.hash or p.get("tree_size") != cp.tree_size
                or not merkle.verify_inclusion(leaf, int(p["leaf_index"]), cp.tree_size, [bytes.fromhex(h) for h in p["proof"]], cp.root)):
            v.fail(f"proofs: event {ev.seq} ({ev.type}) is not proven in the signed tree")
            break
        proven += 1
    else:
        v.checked.append(f"inclusion proofs of {proven} events")
    if v.failures:  # (not `v.ok`: the type checker keeps it narrowed to True from above, across `v.fail`)
        return v
    state = replay(events)
    pack_file = data / "policy" / f"{state.policy}.json"
    try:
        pack_data = json.loads(pack_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        v.fail(f"policy pack: {exc}")
        return v
    pack_ok = hashlib.sha256(canonical_json(pack_data)).hexdigest() == state.policy_hash
    if not pack_ok:
        v.fail("policy pack: data/policy does not hold the pack the case pinned at launch")
        return v
    pack = pack_from_data(pack_data)
    try:
        index = json.loads((data / "documents" / "index.json").read_text(encoding="utf-8"))
        withheld = json.loads((data / "withheld.json").read_text(encoding="utf-8"))["withheld"] if (data / "withheld.json").exists() else []
    except (OSError, ValueError, KeyError) as exc:
        v.fail(f"documents index: {exc}")
        return v
    recorded = {r.payload["sha256"]: r for r in state.history if r.type == "document-attached"}
    listed = {d["sha256"] for d in index} | {w["sha256"] for w in withheld}
    for d in index:
        f = data / "documents" / d["sha256"]
        if d["sha256"] not in recorded:
            v.fail(f"documents: {d['display_name']!r} is not a document recorded in the history")
        elif not f.is_file() or sha256_file(f) != d["sha256"]:
            v.fail(f"documents: {d['display_name']!r} does not match the sha256 recorded in the history")
    for sha, r in recorded.items():
        if sha not in listed:
            v.fail(f"documents: {r.payload['display_name']!r} (#{r.seq}) recorded in the history is missing from the bag")
        elif any(w["sha256"] == sha for w in withheld) and r.payload["disclosure"] != "non-disclosure":
            v.fail(f"documents: {r.payload['display_name']!r} was withheld but is not marked 依法不予公开")
    if v.ok:
        v.checked.append(f"{len(index)} documents against the hashes in the history; {len(withheld)} withheld")
    meta = {"档号": info.get("档号", ""), "题名": state.title, "责任者": state.organ, "日期": info.get("日期", ""),
            "保管期限": info.get("保管期限", ""), "密级": info.get("密级", ""),
            "校验": f"checkpoint {cp.tree_size} events, root {cp.root.hex()[:16]}…, key {cp.key_id}"}
    if info.get("题名") != state.title or info.get("Juece-Case-Id") != state.case_id:
        v.fail("bag-info: 题名 or Juece-Case-Id does not match the history")
    export = info.get("Juece-Export", "full")
    comments = verify_comment_files(data, events, pack, export)  # against the digests in the proven history
    for failure in comments.failures:
        v.fail(failure)
    v.checked += comments.checked
    v.notes += comments.notes
    pages = {
        "dossier.html": dossier_html(events, pack, meta, withheld),
        "four-properties.json": four_properties_report(four_properties_checks(events, cp, proven, index, withheld, pack_ok, export, meta["档号"],
                                                               comments.files)),
    }
    for name, expected in pages.items():
        if (data / name).read_text(encoding="utf-8") != expected:
            v.fail(f"{name}: differs from the page rendered again from the proven history (edited after export)")
    if v.ok:
        v.checked.append("dossier.html and four-properties.json rendered again from the history: identical")
    return v

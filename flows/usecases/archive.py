"""The archive: a completed case exported as a BagIt bag (RFC 8493) that verifies decades later with nothing but the
bag (its verification is flows/usecases/archive_verify.py).

Every payload file is one of three kinds, and `archive verify` checks each its own way:
- the history (`data/history.jsonl`): the hash chain, plus an RFC 9162 inclusion proof of every event in a signed
  checkpoint (`data/proofs.jsonl`, `data/checkpoint.json`);
- documents (`data/documents/`): each must hash to a sha256 recorded in that proven history;
- derived pages (`data/dossier.html`, `data/four-properties.json`): rendered again from the history and compared
  byte for byte;
- public comments and their dispositions (`data/comments/`): each import's rows re-hashed against the digests its
  record in the proven history holds, each disposition equal to its record (flows/usecases/archive_comments.py); a public
  bag leaves out the names of private persons who commented.
So an edit is caught even when the bag's manifests were regenerated after it. The tag manifest's sha256 is also
recorded in the case history (`dossier-archived`), binding the bag to the live record.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flows.adapters.bags import make_bag
from flows.usecases.archive_comments import CommentFiles, read_register, withheld_authors, write_comment_files
from flows.usecases.unit_of_work import load_case, pack_of
from flows.usecases.clock import local_date, now
from flows.usecases.documents import blob_path
from flows.usecases.moments import WorkspaceTimeline, live_key, rule_context
from flows.render.dossier import dossier_html, four_properties_report
from flows.usecases.bag_inventory import write_inventory
from flows.usecases.proofs import case_proofs, installation_key, public_key_pem
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import store
from models.canonical import canonical_bytes
from models.checkpoint import Checkpoint
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION, DossierArchived
from models.store import NewEvent, StoredEvent
from policies.errors import BadInput, IntegrityFailure, RuleRefusal
from policies.pack import PolicyPack
from policies.rules import check_event

RETENTION_ZH = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}


@dataclass(frozen=True)
class ArchiveResult:
    """What an export produced."""

    case_id: str
    bag: str
    archive_id: str
    export: str
    tagmanifest_sha256: str
    files: int
    bytes: int
    withheld: int
    seq: int

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def archival_code(fonds: str, year: int, retention: str, org: str, item: int) -> str:
    """档号 as DA/T 22 composes it: 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号 (its form is judged by ARC-07)."""
    return f"{fonds}-WS·{year}-{retention}-{org}-{item:04d}"


def _history_line(ev: StoredEvent) -> str:
    return json.dumps(
        {"position": ev.position, "case_id": ev.case_id, "seq": ev.seq, "type": ev.type, "recorded_at": ev.recorded_at,
         "actor": ev.actor, "role": ev.role, "idempotency_key": ev.idempotency_key, "prev_hash": ev.prev_hash,
         "hash": ev.hash, "body": ev.body.decode("utf-8")},
        ensure_ascii=False, sort_keys=True,
    )


def event_from_line(line: str) -> StoredEvent:
    """An event from its line in the bag's history.jsonl."""
    d = json.loads(line)
    return StoredEvent(d["position"], d["case_id"], d["seq"], d["type"], d["recorded_at"], d["actor"], d["role"],
                       d["idempotency_key"], d["body"].encode("utf-8"), d["prev_hash"], d["hash"])


def _pack_json(pack: PolicyPack) -> str:
    """The pack version's effective data (an overlay merged onto its base): what the pinned hash covers."""
    return json.dumps(dict(pack.data), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def four_properties_checks(events: list[StoredEvent], cp: Checkpoint, proofs_ok: int, docs: list[dict[str, Any]],
                           withheld: list[dict[str, Any]],
                           pack_ok: bool, export: str, archive_id: str, comments: CommentFiles | None = None,
                           ) -> dict[str, Any]:
    """The 四性 report's content: what was checked and found (identical at export and at verify when intact)."""
    out: dict[str, Any] = {
        "format": "juece-four-properties/v1",
        "standard": "DA/T 70-2018《文书类电子档案检测一般要求》: the items that apply to a decision dossier",
        "档号": archive_id,
        "case_id": events[0].case_id,
        "export": export,
        "checkpoint": {"tree_size": cp.tree_size, "root": cp.root.hex(), "key_id": cp.key_id, "issued_at": cp.issued_at},
        "真实性 authenticity": {
            "hash_chain": f"intact: {len(events)} events, each hash = sha256(prev_hash ‖ canonical record)",
            "checkpoint_signature": f"valid Ed25519 signature, key {cp.key_id}",
            "inclusion_proofs": f"{proofs_ok} of {len(events)} events proven in the signed {cp.tree_size}-event tree (RFC 9162)",
            "policy_pack": "the pack in data/policy has the hash the case pinned at launch" if pack_ok else "MISMATCH",
        },
        "完整性 integrity": {
            "events": f"seq 1..{len(events)} contiguous",
            "documents": f"{len(docs)} included, each matching the sha256 recorded in the history; {len(withheld)} withheld",
            "fixity": "payload and tag manifests in sha256 and sha512 (BagIt, RFC 8493)",
        },
        "可用性 usability": {
            "formats": ["JSON Lines, UTF-8 (history, proofs)", "HTML5, UTF-8 (dossier)", "JSON (checkpoint, index, report)", "PEM (public key)"],
            "dossier": "a static page without scripts, printable",
        },
        "安全性 security": {
            "scripts": "none in the dossier page",
            "non_disclosure": (f"{len(withheld)} document(s) marked 依法不予公开 withheld from this public export (see data/withheld.json)"
                               if export == "public" else "full export: handle under the dossier's 密级"),
            "virus_scan": "not performed by juece; the receiving archive runs its own scanner",
        },
    }
    if comments is not None:  # public comments and their dispositions (flows/usecases/archive_comments.py)
        lines = comments.summary(export)
        out["完整性 integrity"]["public_comments"] = lines.pop("public_comments")
        out["安全性 security"].update(lines)
    return out


def export_archive(
    ws: Workspace, actor: Actor, case_id: str, out: Path, *, public: bool = False, fonds: str = "Z001", org: str = "FZ",
    classification: str = "公开",
) -> ArchiveResult:
    """Export a published (or ended) case as a BagIt bag at `out` (which must not exist), and record it."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out} already exists; choose a new folder for the bag", field="--out")
    with read_transaction(ws.engine) as conn:
        events, state = load_case(conn, case_id)
        facts = read_facts(conn)
        register = read_register(conn, case_id)  # public comments and dispositions, checked when written
    pack = pack_of(state)
    item = int(case_id.rsplit("-", 1)[-1])
    decided = [r.payload["held_on"] for r in state.history if r.type == "meeting-held"]
    year = (decided[-1] if decided else state.launched_on).year
    retention = pack.param("archive_retention")
    archive_id = archival_code(fonds, year, retention, org, item)
    handed_over = _documents_handed_over(ws, state, pack, actor, facts, archive_id)  # ROLE-01, ARC-01, -02, -07
    cp, proofs = case_proofs(ws, case_id)
    previous = [e.payload["archive_id"] for e in events if e.type == "dossier-archived"]
    export = "public" if public else "full"

    tmp = Path(tempfile.mkdtemp(prefix="juece-bag-", dir=out.parent if out.parent.exists() else None))
    bagged = False
    try:
        (tmp / "documents").mkdir()
        docs, withheld = [], []
        for r in state.history:
            if r.type != "document-attached":
                continue
            p = r.payload
            entry = {"sha256": p["sha256"], "display_name": p["display_name"], "title": p.get("title", ""), "size": p["size"],
                     "disclosure": p["disclosure"], "seq": r.seq}
            if public and p["disclosure"] == "non-disclosure":
                withheld.append({**entry, "basis": p.get("disclosure_basis", "")})
                continue
            copy = tmp / "documents" / p["sha256"]
            try:
                shutil.copyfile(blob_path(ws, p["sha256"]), copy)
            except FileNotFoundError:
                copy.unlink(missing_ok=True)
            if not copy.is_file() or sha256_file(copy) != p["sha256"]:  # the copy is hashed: one read of each file
                raise IntegrityFailure(f"document {p['display_name']!r} (#{r.seq}) is missing or altered in the store",
                                       case_id=case_id)
            docs.append({**entry, "file": f"documents/{p['sha256']}"})
        (tmp / "documents" / "index.json").write_text(json.dumps(docs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        comments = write_comment_files(register, events, pack, tmp, public=public)
        if public:
            (tmp / "withheld.json").write_text(json.dumps(
                {"note": "依法不予公开 material withheld from this public export; its existence and hash remain in the history",
                 "withheld": withheld, **withheld_authors(comments)}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (tmp / "history.jsonl").write_text("".join(_history_line(e) + "\n" for e in events), encoding="utf-8")
        (tmp / "proofs.jsonl").write_text("".join(json.dumps(p, sort_keys=True) + "\n" for p in proofs), encoding="utf-8")
        (tmp / "checkpoint.json").write_text(cp.to_text(), encoding="utf-8")
        (tmp / "public-key.pem").write_text(public_key_pem(ws), encoding="utf-8")
        (tmp / "policy").mkdir()
        (tmp / "policy" / f"{state.policy}.json").write_text(_pack_json(pack), encoding="utf-8")
        meta = _meta(archive_id, state, year, retention, classification, cp)
        (tmp / "dossier.html").write_text(dossier_html(events, pack, meta, withheld), encoding="utf-8")
        checks = four_properties_checks(events, cp, len(proofs), docs, withheld, True, export, archive_id, comments)
        (tmp / "four-properties.json").write_text(four_properties_report(checks), encoding="utf-8")
        bag_info = {
            "Source-Organization": state.organ,
            "External-Identifier": archive_id,
            "External-Description": state.title,
            "Bagging-Date": local_date(now(facts)).isoformat(),
            "Bag-Group-Identifier": case_id,
            "档号": archive_id,
            "题名": state.title,
            "责任者": state.organ,
            "日期": meta["日期"],
            "保管期限": RETENTION_ZH[retention],
            "密级": classification,
            "Juece-Case-Id": case_id,
            "Juece-Export": export,
            "Juece-Policy": f"{state.policy} {state.policy_hash}",
            "Juece-Checkpoint": f"{cp.tree_size} {cp.root.hex()} {cp.key_id}",
            **({"Juece-Supplement-Of": previous[-1]} if previous else {}),
        }
        make_bag(tmp, bag_info)
        write_inventory(tmp, installation_key(ws), case_id=case_id, archive_id=archive_id)  # signed; tag manifests again
        tag_sha = sha256_file(tmp / "tagmanifest-sha256.txt")
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
        bagged = True
    finally:
        if not bagged:  # never leave a half-built bag behind
            shutil.rmtree(tmp, ignore_errors=True)
    seq = _record_archived(ws, actor, case_id, pack, DossierArchived(
        archive_id=archive_id, bag_name=out.name, export=export, tagmanifest_sha256=tag_sha, tree_size=cp.tree_size,
        checkpoint_root=cp.root.hex(), archived_on=local_date(now(facts)), supplement_of=previous[-1] if previous else "",
        documents=handed_over,
    ))
    files = [p for p in out.rglob("*") if p.is_file()]
    return ArchiveResult(case_id, str(out), archive_id, export, tag_sha, len(files), sum(p.stat().st_size for p in files),
                         len(withheld), seq)


def _documents_handed_over(ws: Workspace, state: Any, pack: PolicyPack, actor: Actor, facts: Any,
                           archive_id: str) -> tuple[str, ...]:
    """The attached documents the store holds, to be handed over. The export is judged as the `dossier-archived`
    record it will write — who archives (ROLE-01), when (ARC-01), every attached document handed over (ARC-02), the
    archival code (ARC-07) — and refused before anything is written; `audit verify` runs the same checks again."""
    attached = dict.fromkeys(p["sha256"] for p in state.records("document-attached"))
    handed = tuple(sha for sha in attached if blob_path(ws, sha).is_file())
    moment = now(facts)
    ctx, _ = rule_context(event="dossier-archived", payload={"documents": handed, "archive_id": archive_id},
                          state=state, pack=pack, role=actor.role, actor=actor.label, today=local_date(moment),
                          key=live_key(moment), timeline=WorkspaceTimeline(facts), load_case=lambda cid: ())
    findings = sorted(check_event(ctx), key=lambda f: f.enforcement != "HARD")
    if findings:
        raise RuleRefusal("refused: " + " | ".join(f.sentence() for f in findings), findings=findings,
                          case_id=state.case_id)
    return handed


def _meta(archive_id: str, state: Any, year: int, retention: str, classification: str, cp: Checkpoint) -> dict[str, str]:
    published = [r.payload["published_on"] for r in state.history if r.type == "decision-published"]
    day: date = published[-1] if published else state.launched_on
    return {"档号": archive_id, "题名": state.title, "责任者": state.organ, "日期": day.strftime("%Y%m%d"),
            "保管期限": RETENTION_ZH[retention], "密级": classification,
            "校验": f"checkpoint {cp.tree_size} events, root {cp.root.hex()[:16]}…, key {cp.key_id}"}


def _record_archived(ws: Workspace, actor: Actor, case_id: str, pack: Any, payload: DossierArchived) -> int:
    body = payload.model_dump(mode="json")
    with write_transaction(ws.engine) as conn:
        events, _ = load_case(conn, case_id)
        facts = read_facts(conn)
        key = "archive:" + hashlib.sha256(canonical_bytes([case_id, body])).hexdigest()
        (stored,) = store.append(conn, case_id, events, [NewEvent("dossier-archived", SCHEMA_VERSION, body, actor.label,
                                                                   actor.role, key, pack.id, pack.hash)], now(facts))
    return stored.seq

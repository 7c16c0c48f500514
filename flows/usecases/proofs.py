"""Proof beyond the chain: signed checkpoints over the whole history (an RFC 9162 Merkle tree whose leaf i is the
i-th stored event's chain hash, in global order), verification against a checkpoint kept outside the database, and
inclusion proofs that verify offline with nothing but the proof file and the installation's public key.

One Ed25519 key per installation, kept in the workspace (`keys/checkpoint.pem`, mode 0600); its public half is
exported with `juece audit key`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from itertools import islice
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from flows.usecases.clock import now
from flows.usecases.workspace import Workspace, read_facts
from models import merkle, store
from models.canonical import chain_hash
from models.checkpoint import (
    Checkpoint,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_pem,
    sign_checkpoint,
    verify_checkpoint,
)
from models.db import read_transaction
from policies.errors import BadInput, UnknownCase

KEY_FILE = "keys/checkpoint.pem"
PROOF_FORMAT = "juece-inclusion-proof/v1"


def installation_key(ws: Workspace) -> Ed25519PrivateKey:
    """The installation's signing key, created on first use."""
    path = ws.home / KEY_FILE
    if path.exists():
        return load_private_key(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_to_pem(key))
    return key


def public_key_pem(ws: Workspace) -> str:
    """The public key that verifies this installation's checkpoints (to export to auditors)."""
    return public_key_to_pem(installation_key(ws)).decode()


def origin_of(ws: Workspace) -> str:
    """The name a checkpoint gives its log: this workspace's database."""
    return f"juece:{ws.database_url.split('@')[-1]}"


def make_checkpoint(ws: Workspace) -> Checkpoint:
    """Sign the current tree: size, Merkle root and head hash over every stored event."""
    with read_transaction(ws.engine) as conn:
        size, root, head = merkle.root_of_events(store.iter_all(conn))
        facts = read_facts(conn)
    return sign_checkpoint(installation_key(ws), origin_of(ws), size, root, head or "0" * 64, now(facts).isoformat())


@dataclass(frozen=True)
class CheckpointVerdict:
    """Whether the stored history still contains, unchanged, the tree a checkpoint signed."""

    ok: bool
    tree_size: int
    stored: int
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def verify_against(ws: Workspace, cp: Checkpoint, public_key: Ed25519PublicKey | None = None) -> CheckpointVerdict:
    """Check the signature, then recompute the root of the first `tree_size` events: catches a truncated tail and
    a history rewritten from its first event, which the chain alone cannot see."""
    key = public_key or installation_key(ws).public_key()
    if not verify_checkpoint(cp, key):
        return CheckpointVerdict(False, cp.tree_size, 0, "the checkpoint's signature does not verify with this key")
    with read_transaction(ws.engine) as conn:
        stored = store.count_all(conn)
        size, root, head = merkle.root_of_events(islice(store.iter_all(conn), cp.tree_size))
    if size < cp.tree_size:
        return CheckpointVerdict(False, cp.tree_size, stored,
                                 f"the history holds {size} events, fewer than the {cp.tree_size} the checkpoint signed "
                                 "(events were removed from the end)")
    if root != cp.root or (head or "0" * 64) != cp.head_hash:
        return CheckpointVerdict(False, cp.tree_size, stored,
                                 "the first {} events no longer have the Merkle root the checkpoint signed "
                                 "(the history was rewritten)".format(cp.tree_size))
    return CheckpointVerdict(True, cp.tree_size, stored)


def prove(ws: Workspace, case_id: str, seq: int) -> dict[str, Any]:
    """An inclusion proof for one event in a freshly signed checkpoint, verifiable offline (`check_proof`)."""
    cp = make_checkpoint(ws)
    with read_transaction(ws.engine) as conn:
        hashes: list[bytes] = []
        target = None
        for i, ev in enumerate(islice(store.iter_all(conn), cp.tree_size)):
            hashes.append(merkle.leaf_hash(merkle.event_leaf_data(ev)))
            if ev.case_id == case_id and ev.seq == seq:
                target = (i, ev)
    if target is None:
        raise UnknownCase(f"there is no event {seq} of case {case_id}", case_id=case_id, field="SEQ")
    index, ev = target
    return {
        "format": PROOF_FORMAT,
        "case_id": case_id,
        "seq": seq,
        "event": {"body": base64.b64encode(ev.body).decode(), "prev_hash": ev.prev_hash, "hash": ev.hash},
        "leaf_index": index,
        "tree_size": cp.tree_size,
        "proof": [h.hex() for h in merkle.inclusion_proof(index, hashes)],
        "checkpoint": cp.to_json(),
        "public_key": public_key_pem(ws),
    }


def case_proofs(ws: Workspace, case_id: str) -> tuple[Checkpoint, list[dict[str, Any]]]:
    """One signed checkpoint and an inclusion proof for every event of a case in it (for the archive)."""
    cp = make_checkpoint(ws)
    with read_transaction(ws.engine) as conn:
        hashes: list[bytes] = []
        mine: list[tuple[int, Any]] = []
        for i, ev in enumerate(islice(store.iter_all(conn), cp.tree_size)):
            hashes.append(merkle.leaf_hash(merkle.event_leaf_data(ev)))
            if ev.case_id == case_id:
                mine.append((i, ev))
    return cp, [
        {"case_id": case_id, "seq": ev.seq, "hash": ev.hash, "leaf_index": i, "tree_size": cp.tree_size,
         "proof": [h.hex() for h in merkle.inclusion_proof(i, hashes)]}
        for i, ev in mine
    ]


def check_proof(doc: Any, public_key_pem_text: str | None = None) -> tuple[bool, str]:
    """Verify an inclusion proof with nothing but the file (and, better, a public key the auditor already holds)."""
    if not isinstance(doc, dict):
        return False, f"the proof file is damaged: it holds a JSON {type(doc).__name__}, not the proof's object"
    try:
        if doc.get("format") != PROOF_FORMAT:
            return False, "not a juece inclusion proof"
        cp = Checkpoint.from_text(json.dumps(doc["checkpoint"]))
        key = load_public_key(public_key_pem_text or doc["public_key"])
        body = base64.b64decode(doc["event"]["body"], validate=True)
        prev, stated = bytes.fromhex(doc["event"]["prev_hash"]), doc["event"]["hash"]
        proof = [bytes.fromhex(h) for h in doc["proof"]]
        index, size = int(doc["leaf_index"]), int(doc["tree_size"])
    except (KeyError, ValueError, TypeError, BadInput) as exc:
        return False, f"the proof file is damaged: {exc}"
    if not verify_checkpoint(cp, key):
        return False, "the checkpoint's signature does not verify with the public key"
    if key_id(key) != cp.key_id:
        return False, "the checkpoint was signed by another key"
    if chain_hash(prev, body).hex() != stated:
        return False, "the event's content does not match its hash"
    try:
        envelope = json.loads(body)
    except ValueError:  # its hash matches, but it is no recorded event: only a made-up proof holds that
        return False, "the event in the proof is not a recorded event"
    if not isinstance(envelope, dict) or (envelope.get("case_id"), envelope.get("seq")) != (doc.get("case_id"), doc.get("seq")):
        return False, "the event in the proof is not the one it claims to be"
    leaf = merkle.leaf_hash(bytes.fromhex(stated))
    if size != cp.tree_size or not merkle.verify_inclusion(leaf, index, size, proof, cp.root):
        return False, "the event is not included in the signed tree"
    return True, f"{doc['case_id']} #{doc['seq']} is event {index} of the {size}-event tree signed {cp.issued_at}"


def fingerprint(pem: str) -> str:
    """A short fingerprint of a public key, to compare by eye."""
    return hashlib.sha256(pem.encode()).hexdigest()[:16]

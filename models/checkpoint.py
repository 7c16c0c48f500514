"""Signed checkpoints of the event history: tree size, RFC 9162 Merkle root (models/merkle.py) and head hash, signed
with Ed25519, in a small text file an auditor can keep outside the database.

The file (UTF-8, sorted keys, two-space indent, one trailing newline)::

    {
      "format": "juece-checkpoint/v1",
      "head_hash": "<64 lowercase hex: chain hash of the last event in position order>",
      "issued_at": "<as given, e.g. 2025-08-25T01:00:00.000000Z>",
      "key_id": "<16 lowercase hex: first 16 hex chars of sha256(raw 32-byte Ed25519 public key)>",
      "origin": "<who/what the history belongs to, NFC text>",
      "root": "<64 lowercase hex: MTH over the first tree_size events>",
      "signature": "<standard base64, padded, of the 64-byte Ed25519 signature>",
      "tree_size": <integer, 0 <= n < 2^53>
    }

The signed bytes are the canonical JSON (`models.canonical.canonical_bytes`: sorted keys, no whitespace, UTF-8, not
ASCII-escaped) of that object *without* the ``signature`` member, i.e. of ``{"format", "head_hash", "issued_at",
"key_id", "origin", "root", "tree_size"}`` — the ``format`` tag is inside the signature, so a checkpoint signature
cannot be replayed as a signature over anything else, and the key id is inside it too. The file's own layout
(indentation, key order) is not signed: re-indenting a checkpoint does not invalidate it.

A tree of size 0 has root ``sha256("")`` and, by convention, a head hash of 64 zeros (the chain's genesis).

Pure: no file or key-store I/O and no clock (``issued_at`` is passed in). Parsing errors raise
`policies.errors.BadInput`; a parsed checkpoint is only trustworthy after `verify_checkpoint` with a key the auditor
already holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from models.canonical import canonical_bytes
from policies.errors import BadInput

FORMAT = "juece-checkpoint/v1"
SIGNATURE_SIZE = 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_FIELDS = frozenset({"format", "origin", "tree_size", "root", "head_hash", "issued_at", "key_id", "signature"})
_MAX_SIZE = 2**53


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the history of `origin` had `tree_size` events, with this Merkle `root` and head hash."""

    origin: str
    tree_size: int
    root: bytes
    head_hash: str
    issued_at: str
    key_id: str
    signature: bytes

    def signed_fields(self) -> dict[str, Any]:
        """The JSON object that is signed (every field but the signature, plus the format tag)."""
        return {
            "format": FORMAT,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "head_hash": self.head_hash,
            "issued_at": self.issued_at,
            "key_id": self.key_id,
        }

    def signed_bytes(self) -> bytes:
        """Exactly the bytes the Ed25519 signature covers."""
        return canonical_bytes(self.signed_fields())

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object."""
        return {**self.signed_fields(), "signature": base64.b64encode(self.signature).decode("ascii")}

    def to_text(self) -> str:
        """The checkpoint file's text."""
        return format_checkpoint(self)

    @classmethod
    def from_text(cls, text: str | bytes) -> "Checkpoint":
        """Parse a checkpoint file (raises BadInput when it is damaged)."""
        return parse_checkpoint(text)


# --- keys ------------------------------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    """A new Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM of the signing key (encrypted with the best available scheme when a password is given)."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_private_key(pem: bytes | str, password: bytes | None = None) -> Ed25519PrivateKey:
    """Read a PEM signing key; BadInput when it is unreadable, encrypted without the password, or not Ed25519."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"the signing key could not be read: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput(f"the signing key is not an Ed25519 key ({type(key).__name__})")
    return key


def public_key_to_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the verification key (a private key gives its public half)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    """Read a PEM verification key; BadInput when it is unreadable or not Ed25519."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"the verification key could not be read: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput(f"the verification key is not an Ed25519 key ({type(key).__name__})")
    return key


def key_id(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """First 16 hex characters of sha256 of the raw 32-byte public key (a private key gives its public half's id)."""
    pub = public_key.public_key() if isinstance(public_key, Ed25519PrivateKey) else public_key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- sign / verify ---------------------------------------------------------------------------------------------


def _check_fields(origin: Any, tree_size: Any, root: Any, head_hash: Any, issued_at: Any) -> str | None:
    """Why these fields cannot make a checkpoint, or None."""
    if not isinstance(origin, str) or not origin.strip():
        return "origin must be non-empty text"
    if unicodedata.normalize("NFC", origin) != origin:
        return "origin must be NFC text"
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or not 0 <= tree_size < _MAX_SIZE:
        return "tree_size must be an integer from 0 to 2^53 - 1"
    if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
        return "root must be 32 bytes"
    if not isinstance(head_hash, str) or not _HEX64.fullmatch(head_hash):
        return "head_hash must be 64 lowercase hex characters"
    if not isinstance(issued_at, str) or not issued_at.strip():
        return "issued_at must be non-empty text"
    return None


def sign_checkpoint(
    private_key: Ed25519PrivateKey, origin: str, tree_size: int, root: bytes, head_hash: str, issued_at: str
) -> Checkpoint:
    """Sign (origin, tree_size, root, head_hash, issued_at) with Ed25519. `origin` is NFC-normalised first."""
    if isinstance(origin, str):
        origin = unicodedata.normalize("NFC", origin)
    problem = _check_fields(origin, tree_size, root, head_hash, issued_at)
    if problem:
        raise ValueError(f"cannot sign this checkpoint: {problem}")
    unsigned = Checkpoint(origin, tree_size, bytes(root), head_hash, issued_at, key_id(private_key), b"")
    return Checkpoint(
        origin, tree_size, bytes(root), head_hash, issued_at, unsigned.key_id, private_key.sign(unsigned.signed_bytes())
    )


def verify_checkpoint(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True when `cp` is well formed, names this key, and its signature by this key holds."""
    if not isinstance(cp, Checkpoint) or _check_fields(cp.origin, cp.tree_size, cp.root, cp.head_hash, cp.issued_at):
        return False
    if not isinstance(cp.signature, (bytes, bytearray)) or len(cp.signature) != SIGNATURE_SIZE:
        return False
    if cp.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(bytes(cp.signature), cp.signed_bytes())
    except InvalidSignature:
        return False
    return True


# --- text form -------------------------------------------------------------------------------------------------


def format_checkpoint(cp: Checkpoint) -> str:
    """The checkpoint file's text: sorted keys, two-space indent, UTF-8 text not escaped, trailing newline."""
    return json.dumps(cp.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"{k!r} appears twice")
        out[k] = v
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number here")


def _bad(why: str) -> BadInput:
    return BadInput(f"the checkpoint file is damaged: {why}")


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Read a checkpoint file. Anything but the exact format raises BadInput (it does not check the signature)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad("it is not UTF-8 text") from exc
    if not isinstance(text, str):
        raise _bad("it is not text")
    try:
        obj = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"it is not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise _bad("it is not a JSON object")
    missing = sorted(_FIELDS - obj.keys())
    extra = sorted(obj.keys() - _FIELDS)
    if missing:
        raise _bad(f"missing {', '.join(missing)}")
    if extra:
        raise _bad(f"unexpected {', '.join(extra)}")
    if obj["format"] != FORMAT:
        raise _bad(f"format is {obj['format']!r}, expected {FORMAT!r}")
    root_hex = obj["root"]
    if not isinstance(root_hex, str) or not _HEX64.fullmatch(root_hex):
        raise _bad("root must be 64 lowercase hex characters")
    kid = obj["key_id"]
    if not isinstance(kid, str) or not _HEX16.fullmatch(kid):
        raise _bad("key_id must be 16 lowercase hex characters")
    sig_text = obj["signature"]
    if not isinstance(sig_text, str):
        raise _bad("signature must be base64 text")
    try:
        signature = base64.b64decode(sig_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise _bad("signature is not valid base64") from exc
    if len(signature) != SIGNATURE_SIZE:
        raise _bad(f"signature is {len(signature)} bytes, an Ed25519 signature is {SIGNATURE_SIZE}")
    root = bytes.fromhex(root_hex)
    problem = _check_fields(obj["origin"], obj["tree_size"], root, obj["head_hash"], obj["issued_at"])
    if problem:
        raise _bad(problem)
    return Checkpoint(obj["origin"], obj["tree_size"], root, obj["head_hash"], obj["issued_at"], kid, signature)

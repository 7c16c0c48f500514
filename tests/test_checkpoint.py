"""models/checkpoint.py: Ed25519-signed checkpoints of the history (tree size, Merkle root, head hash)."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from models import merkle
from models.canonical import canonical_bytes
from models.checkpoint import (
    FORMAT,
    Checkpoint,
    format_checkpoint,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    parse_checkpoint,
    private_key_to_pem,
    public_key_to_pem,
    sign_checkpoint,
    verify_checkpoint,
)
from policies.errors import BadInput

ROOT = merkle.root([bytes([i]) * 32 for i in range(7)])
HEAD = "5d" * 32
ISSUED = "2025-08-25T01:00:00.000000Z"
ORIGIN = "juece 某市人民政府 workspace"


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return generate_key()


@pytest.fixture(scope="module")
def cp(key: Ed25519PrivateKey) -> Checkpoint:
    return sign_checkpoint(key, ORIGIN, 7, ROOT, HEAD, ISSUED)


def test_sign_verify_round_trip(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    assert verify_checkpoint(cp, key.public_key())
    assert (cp.origin, cp.tree_size, cp.root, cp.head_hash, cp.issued_at) == (ORIGIN, 7, ROOT, HEAD, ISSUED)
    assert cp.key_id == key_id(key.public_key()) == key_id(key)
    assert len(cp.signature) == 64


def test_the_signed_bytes_are_the_canonical_json_of_all_fields_but_the_signature(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    expected = canonical_bytes({"format": FORMAT, "origin": ORIGIN, "tree_size": 7, "root": ROOT.hex(),
                                "head_hash": HEAD, "issued_at": ISSUED, "key_id": cp.key_id})
    assert cp.signed_bytes() == expected
    key.public_key().verify(cp.signature, expected)  # raises if not


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 8},
        {"tree_size": 6},
        {"root": merkle.root([b"other"])},
        {"root": ROOT[:-1] + bytes([ROOT[-1] ^ 1])},
        {"head_hash": "5e" + "5d" * 31},
        {"origin": "another workspace"},
        {"issued_at": "2025-08-26T01:00:00.000000Z"},
        {"signature": bytes(64)},
    ],
    ids=["size+1", "size-1", "root", "root-bit", "head", "origin", "issued_at", "zero-signature"],
)
def test_a_changed_checkpoint_fails(key: Ed25519PrivateKey, cp: Checkpoint, change: dict) -> None:
    assert not verify_checkpoint(dataclasses.replace(cp, **change), key.public_key())


def test_a_signature_by_another_key_fails(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    other = generate_key()
    forged = sign_checkpoint(other, ORIGIN, 7, ROOT, HEAD, ISSUED)
    assert verify_checkpoint(forged, other.public_key())
    assert not verify_checkpoint(forged, key.public_key())
    # even when the forger writes the right key id into it
    relabelled = dataclasses.replace(forged, key_id=cp.key_id)
    assert not verify_checkpoint(relabelled, key.public_key())
    # and a genuine checkpoint does not verify under another key
    assert not verify_checkpoint(cp, other.public_key())


def test_serialise_parse_round_trip(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    text = format_checkpoint(cp)
    assert text == cp.to_text() and text.endswith("}\n")
    back = parse_checkpoint(text)
    assert back == cp and Checkpoint.from_text(text.encode("utf-8")) == cp
    assert verify_checkpoint(back, key.public_key())
    obj = json.loads(text)
    assert obj["format"] == FORMAT and obj["root"] == ROOT.hex() and obj["tree_size"] == 7
    assert base64.b64decode(obj["signature"]) == cp.signature
    assert "某市人民政府" in text  # readable, not \u-escaped
    # the layout is not signed: a compacted copy still parses and verifies
    compact = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    assert verify_checkpoint(parse_checkpoint(compact), key.public_key())


def test_an_edited_but_well_formed_file_parses_and_fails_verification(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    obj = json.loads(cp.to_text())
    obj["tree_size"] = 6
    edited = parse_checkpoint(json.dumps(obj))
    assert not verify_checkpoint(edited, key.public_key())


def _edit(cp: Checkpoint, **changes: object) -> str:
    obj = json.loads(cp.to_text())
    for k, v in changes.items():
        if v is ...:
            del obj[k]
        else:
            obj[k] = v
    return json.dumps(obj)


DAMAGED = {
    "empty": lambda cp: "",
    "truncated": lambda cp: cp.to_text()[: len(cp.to_text()) // 2],
    "not-json": lambda cp: "tree_size: 7\nroot: abc\n",
    "array": lambda cp: "[1, 2, 3]",
    "not-utf8": lambda cp: b"\xff\xfe" + cp.to_text().encode("utf-16-le"),
    "missing-root": lambda cp: _edit(cp, root=...),
    "missing-signature": lambda cp: _edit(cp, signature=...),
    "extra-field": lambda cp: _edit(cp, note="hello"),
    "wrong-format": lambda cp: _edit(cp, format="juece-checkpoint/v0"),
    "short-root": lambda cp: _edit(cp, root="ab" * 31),
    "upper-hex-root": lambda cp: _edit(cp, root=ROOT.hex().upper()),
    "non-hex-head": lambda cp: _edit(cp, head_hash="zz" * 32),
    "size-as-text": lambda cp: _edit(cp, tree_size="7"),
    "size-negative": lambda cp: _edit(cp, tree_size=-1),
    "size-float": lambda cp: _edit(cp, tree_size=7.0),
    "size-bool": lambda cp: _edit(cp, tree_size=True),
    "size-nan": lambda cp: cp.to_text().replace('"tree_size": 7', '"tree_size": NaN'),
    "bad-base64": lambda cp: _edit(cp, signature="!!!not base64!!!"),
    "short-signature": lambda cp: _edit(cp, signature=base64.b64encode(b"x" * 63).decode()),
    "bad-key-id": lambda cp: _edit(cp, key_id="xyz"),
    "empty-origin": lambda cp: _edit(cp, origin=""),
    "duplicate-key": lambda cp: cp.to_text().replace('"tree_size": 7', '"tree_size": 7, "tree_size": 8'),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_file_raises_bad_input(cp: Checkpoint, damage: str) -> None:
    with pytest.raises(BadInput) as exc:
        parse_checkpoint(DAMAGED[damage](cp))
    assert exc.value.exit_code == 2 and "checkpoint" in exc.value.message


def test_key_round_trips(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_private_key(pem)
    assert key_id(again) == key_id(key)
    pub_pem = public_key_to_pem(key.public_key())
    assert pub_pem == public_key_to_pem(key) and pub_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    pub = load_public_key(pub_pem.decode("ascii"))
    assert verify_checkpoint(cp, pub)
    assert len(key_id(pub)) == 16 and all(c in "0123456789abcdef" for c in key_id(pub))
    # a checkpoint signed with the reloaded key verifies with the original public key
    assert verify_checkpoint(sign_checkpoint(again, ORIGIN, 1, ROOT, HEAD, ISSUED), key.public_key())


def test_encrypted_private_key(key: Ed25519PrivateKey) -> None:
    pem = private_key_to_pem(key, password=b"s3cret")
    assert b"ENCRYPTED" in pem
    assert key_id(load_private_key(pem, password=b"s3cret")) == key_id(key)
    with pytest.raises(BadInput):
        load_private_key(pem)
    with pytest.raises(BadInput):
        load_private_key(pem, password=b"wrong")


def test_bad_keys_raise_bad_input(key: Ed25519PrivateKey) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import serialization

    with pytest.raises(BadInput):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(BadInput):
        load_public_key("not a key")
    with pytest.raises(BadInput):
        load_public_key(private_key_to_pem(key))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(BadInput):
        load_private_key(ec_pem)
    with pytest.raises(BadInput):
        load_public_key(ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))


def test_sign_refuses_malformed_fields(key: Ed25519PrivateKey) -> None:
    for args in [("", 7, ROOT, HEAD, ISSUED), (ORIGIN, -1, ROOT, HEAD, ISSUED), (ORIGIN, 7, ROOT[:31], HEAD, ISSUED),
                 (ORIGIN, 7, ROOT, HEAD.upper(), ISSUED), (ORIGIN, 7, ROOT, HEAD, ""), (ORIGIN, 2**53, ROOT, HEAD, ISSUED)]:
        with pytest.raises(ValueError):
            sign_checkpoint(key, *args)


def test_origin_is_signed_in_nfc(key: Ed25519PrivateKey) -> None:
    decomposed = "Cafe\u0301"  # 'Café' with a combining accent
    cp = sign_checkpoint(key, decomposed, 0, merkle.EMPTY_ROOT, "0" * 64, ISSUED)
    assert cp.origin == "Caf\u00e9"
    assert verify_checkpoint(parse_checkpoint(cp.to_text()), key.public_key())


def test_verify_never_raises_on_garbage(key: Ed25519PrivateKey, cp: Checkpoint) -> None:
    assert not verify_checkpoint(dataclasses.replace(cp, signature=b"short"), key.public_key())
    assert not verify_checkpoint(dataclasses.replace(cp, root=b"short"), key.public_key())
    assert not verify_checkpoint(dataclasses.replace(cp, tree_size="7"), key.public_key())  # type: ignore[arg-type]
    assert not verify_checkpoint("not a checkpoint", key.public_key())  # type: ignore[arg-type]

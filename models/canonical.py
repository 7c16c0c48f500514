"""The one canonical serialiser: sorted keys, compact, UTF-8, NFC text (the models normalise), no floats.

orjson with OPT_SORT_KEYS gives the same bytes as `json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` for what we store; the forms differ on NaN, floats, integers beyond 64 bits and non-string keys,
so those are refused here before anything is hashed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

GENESIS = bytes(32)  # prev_hash of a stream's first event


def _check(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise ValueError(f"{path}: floating-point numbers are not stored (use text or integers)")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -(2**53) < value < 2**53:
            raise ValueError(f"{path}: integer out of range")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings")
            _check(v, f"{path}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
        return
    raise ValueError(f"{path}: {type(value).__name__} cannot be stored")


def canonical_bytes(obj: Any) -> bytes:
    """Canonical JSON bytes of a JSON-ready object."""
    _check(obj, "$")
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: bytes, body: bytes) -> bytes:
    """hash = sha256(prev_hash ‖ canonical bytes)."""
    return hashlib.sha256(prev_hash + body).digest()


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()

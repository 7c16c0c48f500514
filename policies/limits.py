"""LIM-01 (PROCEDURE.md (d)): a payload is at most 1 MiB and 64 levels deep — documents go through `attach`. More is
bad input (exit 2) naming LIM-01.

The limits are checked before the JSON parser sees the text: the size on a bounded read (a reader stops at one byte
past the limit, so `--file /dev/zero` ends), the depth by counting brackets outside strings, without recursion (a
1,000-deep document never reaches the parser's recursion limit). A payload built in code is held to the same depth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from policies.errors import BadInput

MAX_BYTES = 1 << 20  # LIM-01: 1 MiB
MAX_DEPTH = 64  # LIM-01: levels of nesting, the outermost object being level 1

# The columns of the append-only table (models/tables.py): an identifier longer than its column is bad input, and the
# refusal quotes it cut short (a 100,000-character case id is not echoed back whole).
MAX_CASE_ID = 64
MAX_ACTOR = 300  # ROLE:NAME
MAX_KEY = 120  # an idempotency key: the column holds 128, room for the "attempt:" a refused try adds

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _refuse(what: str, where: str) -> BadInput:
    return BadInput(
        f"{where}: {what}; a payload is at most 1 MiB and 64 levels deep (LIM-01) — put documents in the case with "
        "`juece attach` and cite them by sha256",
        code="LIM-01", field=where, rule="LIM-01",
    )


def quoted(value: str, keep: int = 40) -> str:
    """`value` quoted for a message, cut to `keep` characters with the length said when it is longer."""
    return repr(value) if len(value) <= keep else f"{value[:keep]!r}… ({len(value):,} characters)"


def check_length(value: str, limit: int, where: str, what: str) -> None:
    """Refuse an identifier longer than its column, naming `where` and quoting it cut short."""
    if len(value) > limit:
        raise BadInput(f"{where}: {quoted(value)} is too long; {what} is at most {limit} characters", field=where,
                       limit=limit)


def check_size(size: int, where: str) -> None:
    """Refuse more than MAX_BYTES."""
    if size > MAX_BYTES:
        raise _refuse(f"more than {MAX_BYTES:,} bytes", where)


def read_bounded(path: str | Path, limit: int, where: str) -> bytes:
    """A file's bytes, of which at most `limit` + 1 are ever read (so `/dev/zero` or a file that keeps growing ends);
    more than `limit`, or a file that cannot be read, is bad input naming `where`."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}", field=where) from exc
    if len(data) > limit:
        raise BadInput(f"{path} is larger than {limit:,} bytes", field=where, limit=limit)
    return data


def text_depth(data: bytes) -> int:
    """The deepest nesting of JSON arrays and objects in `data` (brackets inside strings do not count)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_STRING.sub(b'""', data)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def parse_json(data: bytes, where: str) -> Any:
    """Parse a payload's bytes within LIM-01; a user's mistake is bad input naming `where`."""
    check_size(len(data), where)
    if text_depth(data) > MAX_DEPTH:
        raise _refuse(f"nested more than {MAX_DEPTH} levels deep", where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where} is not UTF-8 text: {exc.reason} at byte {exc.start}", field=where) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field=where) from exc


def check_depth(value: Any, where: str) -> None:
    """Refuse a payload built in code that nests deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if level > MAX_DEPTH:
            raise _refuse(f"nested more than {MAX_DEPTH} levels deep", where)
        stack.extend((c, level + 1) for c in children)

"""LIM-01 (PROCEDURE.md (d)): a payload is at most 1 MiB and 64 levels deep — documents go through `attach`. More is
bad input (exit 2) naming LIM-01.

The two limits are settings of the policy pack (`payload_max_bytes`, `payload_max_depth`): a case is held to its
pinned pack's, and a pack that does not set them — cn-2019@2 and sanya-2022@2 were published before they were
settings — gets the defaults, 1 MiB and 64 levels (policies/pack.py, PREDATED). They are pack settings only, not
workspace ones: a case is judged for ever by the pack whose hash it pinned, so the limit in force when any of its
records was written is fixed by that hash, and the audit needs nothing else to re-check it. (A workspace override
would have to be its own recorded, hash-chained event for the audit to know when it changed.)

One rule, two callers: `payload_excess` says what is over a pack's limits; the live record (flows/usecases/record.py,
launch.py) refuses with it before anything is written, the audit (flows/usecases/audit.py) reports a stored event
over its pack's limits as a LIM-01 finding (`payload_finding`).

Before the case, and so its pack, is known, a command reads and parses at most the ceilings below: the size on a
bounded read (a reader stops at one byte past the ceiling, so `--file /dev/zero` ends), the depth by counting
brackets outside strings, without recursion (a 1,000-deep document never reaches the parser's recursion limit). A
pack may not set a limit above them. The workspace stream's payloads (calendars, expert pools), which no pack
governs, are held to the defaults.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from policies.errors import BadInput

if TYPE_CHECKING:
    from policies.findings import Finding
    from policies.pack import PolicyPack


@dataclass(frozen=True)
class PayloadLimits:
    """LIM-01's two limits, as a pack sets them."""

    max_bytes: int = 1 << 20  # 1 MiB of the payload's canonical JSON
    max_depth: int = 64  # levels of nesting, the outermost object being level 1


DEFAULT = PayloadLimits()
MAX_BYTES = DEFAULT.max_bytes  # the workspace stream's payloads and the files that become them
MAX_DEPTH = DEFAULT.max_depth
# The most any pack may allow, and what is read and parsed before a case's pack is known.
CEILING_BYTES = 16 << 20
CEILING_DEPTH = 256
CEILING = PayloadLimits(CEILING_BYTES, CEILING_DEPTH)

# The columns of the append-only table (models/tables.py reads these): an identifier longer than its column is bad
# input, and the refusal quotes it cut short (a 100,000-character case id is not echoed back whole).
CASE_ID_COLUMN = 64
ACTOR_COLUMN = 300  # ROLE:NAME
KEY_COLUMN = 128
MAX_CASE_ID = CASE_ID_COLUMN
MAX_ACTOR = ACTOR_COLUMN
MAX_KEY = KEY_COLUMN - len("attempt:")  # an idempotency key: room for the "attempt:" a refused try adds

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n:,} bytes"


def _refuse(what: str, where: str, limits: PayloadLimits = DEFAULT) -> BadInput:
    said = (f"no policy pack allows more than {_size(limits.max_bytes)} or {limits.max_depth} levels" if limits == CEILING
            else f"a payload is at most {_size(limits.max_bytes)} and {limits.max_depth} levels deep")
    return BadInput(
        f"{where}: {what}; {said} (LIM-01) — put documents in the case with `juece attach` and cite them by sha256",
        code="LIM-01", field=where, rule="LIM-01", max_bytes=limits.max_bytes, max_depth=limits.max_depth,
    )


def payload_limits(pack: PolicyPack) -> PayloadLimits:
    """LIM-01: the pack's limits (the defaults for a pack that does not set them); a value that is not a positive
    whole number within the ceiling is a broken pack, said naming the setting."""
    known = _LIMITS.get(pack.hash)
    if known is not None:
        return known
    limits = PayloadLimits(pack.param("payload_max_bytes"), pack.param("payload_max_depth"))
    for name, value, ceiling in (("payload_max_bytes", limits.max_bytes, CEILING_BYTES),
                                 ("payload_max_depth", limits.max_depth, CEILING_DEPTH)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
            raise BadInput(f"policy pack {pack.id}@{pack.version}: {name} is {value!r}; expected a whole number from 1 "
                           f"to {ceiling:,} (LIM-01)", field=name, rule="LIM-01")
    _LIMITS[pack.hash] = limits
    return limits


_LIMITS: dict[str, PayloadLimits] = {}  # pack content hash -> its checked limits (the audit asks at every event)


def payload_excess(size: int, value: Any, limits: PayloadLimits) -> str | None:
    """What is over LIM-01's limits in a payload whose canonical JSON is `size` bytes, or None: the one test, for the
    live record and the audit alike."""
    if size > limits.max_bytes:
        return f"{size:,} bytes, more than {limits.max_bytes:,}"
    depth = value_depth(value)
    if depth > limits.max_depth:
        return f"nested {depth} levels deep, more than {limits.max_depth}"
    return None


def check_payload(size: int, value: Any, limits: PayloadLimits, where: str) -> None:
    """Refuse a payload over its pack's limits (bad input, exit 2, naming LIM-01)."""
    excess = payload_excess(size, value, limits)
    if excess is not None:
        raise _refuse(excess, where, limits)


def within_bounds(envelope: bytes, limits: PayloadLimits, depth_bound: int | None = None) -> bool:
    """True when stored bytes that hold a payload bound it within `limits`: no payload is longer than the bytes it is
    part of, none nests deeper than their brackets (so `payload_finding` has nothing to find). `depth_bound`, when
    known, is how deep the payload can nest at most (its shape's depth, when its stored JSON was exactly its shape:
    models/payload_decode.py, `decode_bounded`); within the limit, the brackets need not be counted (two passes over
    the bytes, 4.6 % of `audit verify`'s instructions here)."""
    if len(envelope) > limits.max_bytes:
        return False
    if depth_bound is not None and depth_bound <= limits.max_depth:
        return True
    return envelope.count(b"{") + envelope.count(b"[") <= limits.max_depth


def payload_finding(pack: PolicyPack, value: Any, size: Callable[[], int], envelope: bytes = b"") -> Finding | None:
    """The audit's LIM-01 finding for a stored payload over its pack's limits (written outside juece, or before a
    limit), or None. `size` measures the payload's canonical JSON; `envelope`, the stored bytes the payload is part
    of, bounds its size and depth from above (no payload is longer, none nests deeper than the envelope's brackets),
    so most events are let through without measuring."""
    limits = payload_limits(pack)
    if envelope and within_bounds(envelope, limits):
        return None
    from policies.findings import Finding

    n = size()
    excess = payload_excess(n, value, limits)
    if excess is None:
        return None
    info = pack.rules.get("LIM-01")  # packs published before LIM-01 was a rule of theirs: the procedure's own words
    return Finding("LIM-01", info.article if info else "PROCEDURE.md (d)", "HARD",
                   f"the stored payload is {excess}; a payload is at most {_size(limits.max_bytes)} and "
                   f"{limits.max_depth} levels deep", {"bytes": n, "max_bytes": limits.max_bytes,
                                                       "max_depth": limits.max_depth})


def quoted(value: str, keep: int = 40) -> str:
    """`value` quoted for a message, cut to `keep` characters with the length said when it is longer."""
    return repr(value) if len(value) <= keep else f"{value[:keep]!r}… ({len(value):,} characters)"


def check_length(value: str, limit: int, where: str, what: str) -> None:
    """Refuse an identifier longer than its column, naming `where` and quoting it cut short."""
    if len(value) > limit:
        raise BadInput(f"{where}: {quoted(value)} is too long; {what} is at most {limit} characters", field=where,
                       limit=limit)


def check_size(size: int, where: str, limits: PayloadLimits = DEFAULT) -> None:
    """Refuse more than `limits.max_bytes` (LIM-01's default size, or the ceiling before a case's pack is known)."""
    if size > limits.max_bytes:
        raise _refuse(f"more than {limits.max_bytes:,} bytes", where, limits)


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


def parse_json(data: bytes, where: str, limits: PayloadLimits = DEFAULT) -> Any:
    """Parse a payload's bytes within `limits` (LIM-01's defaults, or the ceilings when the case's pack is not known
    yet); a user's mistake is bad input naming `where`."""
    check_size(len(data), where, limits)
    if text_depth(data) > limits.max_depth:
        raise _refuse(f"nested more than {limits.max_depth} levels deep", where, limits)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where} is not UTF-8 text: {exc.reason} at byte {exc.start}", field=where) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field=where) from exc


def value_depth(value: Any, stop: int | None = None) -> int:
    """The deepest nesting of dicts and lists in a value (the outermost container being level 1), walked without
    recursion; the walk ends as soon as a level past `stop` is found."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children: Iterable[Any]
        if isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if stop is not None and level > stop:
            break
        stack.extend((c, level + 1) for c in children)
    return deepest


def check_depth(value: Any, where: str, limits: PayloadLimits = DEFAULT) -> None:
    """Refuse a payload built in code that nests deeper than `limits.max_depth` (walked without recursion)."""
    if value_depth(value, stop=limits.max_depth) > limits.max_depth:
        raise _refuse(f"nested more than {limits.max_depth} levels deep", where, limits)

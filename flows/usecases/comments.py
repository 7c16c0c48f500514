"""Public comments at scale (公众意见): import a file of comments into a case, group form-letter campaigns, record how
each comment or campaign was handled, and draft the handling report that PP-07 requires (条例 art. 18).

An import is one transaction: every row of the file is validated first (a bad row refuses the whole file, naming its
line and field), then the new rows are stored, each with its exact-duplicate key and near-duplicate cluster, and one
`comments-imported` event ties the stored rows to the case's history by their count and two digests (see
models/comments.py), which `audit verify` and `archive verify` recompute. Re-importing the same rows changes nothing.

Each disposition is its own `comment-disposed` event in the case's hash-chained history (target, disposition, reason,
how many comments it covered; actor and time are the record's own). Comments are bulk data and are covered by one
digest per import; dispositions are not: each is a decision of the undertaking unit on an opinion, with the reason the
law asks for (条例 art. 18: 不予采纳的理由), few per case (one per cluster or singled-out comment) and each by a named
person at a moment — so each is a record, judged like every record (ROLE-01 through the pack's roles, re-checked by
the auditor) and shown in the replay and the dossier. Its row in the `dispositions` table repeats the record for
queries, and `audit verify` holds the two equal; the handling report and the summaries read the records.

Matching (never storing) uses a normalised key: NFKC, casefold, whitespace and punctuation stripped — so full-width
and half-width forms, added punctuation and case do not make a form letter look new. Near-duplicates (a changed name,
a sentence added) are found with a MinHash sketch of the key's character 3-grams — one-permutation hashing with
densification, vectorised with numpy — LSH banding for candidates, a sketch check of each candidate pair, and
connected components. A per-shingle pure-Python MinHash managed about 900 comments a second here; this clusters 10^5
in 1.5–2.5 s (bench/bench_comments.py).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import orjson
from sqlalchemy import Connection

from flows.usecases.cases import pack_of
from flows.usecases.clock import LOCAL, now
from flows.usecases.comment_integrity import COMMENT_DISPOSED, COMMENTS_IMPORTED, StoredComments
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import comments as db
from models import store
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION, CommentDisposed
from models.state import launch_state
from models.store import NewEvent, StoredEvent, gc_paused, utc_text
from models.text import clean_name
from policies.disclosure import public_author
from policies.errors import BadInput, RuleRefusal, UnknownCase
from policies.findings import Finding
from policies.pack import PolicyPack
from policies.rules.order import require_role

FIELDS = ("submitted_at", "channel", "author", "text")
REQUIRED = frozenset({"submitted_at", "channel", "text"})  # author may be empty: channels take anonymous comments
MAX_TEXT = 20000  # the same bound as every free text in the record (models/text.py)
MAX_NAME = 300
MAX_PROBLEMS = 10  # rows quoted in a refusal; the count covers them all

# Near-duplicate matching: Jaccard similarity of the keys' character 3-grams ≥ 0.8. The threshold is ours: it groups
# a form letter with a changed signer or an added sentence, and keeps "我同意" and "我不同意" apart.
SHINGLE = 3
BINS = 128  # one-permutation MinHash: 128 bins, 7 bits of each shingle's hash choose the bin
BANDS, ROWS = 16, 8  # LSH: a pair at Jaccard 0.8 becomes a candidate with probability 1 − (1 − 0.8^8)^16 ≈ 0.95
THRESHOLD = 0.8
_SKETCH_CHUNK = 4000  # texts per sketching step: keeps the bins array in cache (35× faster minimum.at here)


# --- results ----------------------------------------------------------------------------------------------------


# What an import counts: the `comments-imported` payload and the command's JSON both carry these.
_COUNTED = ("import_id", "file_sha256", "rows", "new_rows", "late", "received_total", "distinct_total", "clusters_total")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the file's rows, how many were new, and the case's totals afterwards."""

    case_id: str
    import_id: str
    file_sha256: str
    rows: int
    new_rows: int
    late: int
    received_total: int
    distinct_total: int
    clusters_total: int
    seq: int | None = None  # the `comments-imported` event; None when nothing new was stored
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def repeated(self) -> bool:
        """True when every row was already stored (the same file imported again)."""
        return self.new_rows == 0

    def _counts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COUNTED}

    def payload(self, stored_sha256: str, public_sha256: str) -> dict[str, Any]:
        """The `comments-imported` event payload."""
        return {**self._counts(), "stored_sha256": stored_sha256, "public_sha256": public_sha256}

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `comments import`."""
        return {"case_id": self.case_id, **self._counts(), "seq": self.seq, "repeated": self.repeated}


@dataclass(frozen=True)
class ClusterView:
    """One group of comments (a campaign, or a single opinion) with its size, a sample and its disposition."""

    cluster: int
    size: int
    distinct: int
    late: int
    sample_id: int
    sample: str
    disposition: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


@dataclass(frozen=True)
class Summary:
    """A case's comments: received, distinct after exact de-duplication, distinct after clustering, late, and the
    biggest clusters."""

    case_id: str
    received: int
    distinct: int
    clusters: int
    late: int
    imports: int
    top: tuple[ClusterView, ...]
    dispositions: int

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `comments show`."""
        return {
            "case_id": self.case_id,
            "received": self.received,
            "distinct": self.distinct,
            "clusters": self.clusters,
            "late": self.late,
            "imports": self.imports,
            "dispositions": self.dispositions,
            "top": [c.to_json() for c in self.top],
        }


@dataclass(frozen=True)
class DispositionRecorded:
    """What `record_disposition` did: the `comment-disposed` record (its seq), or the one in force when repeated."""

    case_id: str
    seq: int
    target: str
    disposition: str
    reason: str
    recorded_at: str
    actor: str
    comments: int  # how many comments the target covers
    repeated: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


# --- reading a file ---------------------------------------------------------------------------------------------


@dataclass
class _Problems:
    """Bad rows found while reading: the first few quoted, all counted."""

    items: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: set[int] = field(default_factory=set)

    def add(self, line: int, name: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"line": line, "field": name, "message": message})
        self.bad_lines.add(line)

    def refusal(self, shown: str) -> BadInput:
        first = self.items[0]
        quoted = "; ".join(f"line {p['line']}: {p['field']}: {p['message']}" for p in self.items)
        n = len(self.bad_lines)
        more = n - len({p["line"] for p in self.items})
        return BadInput(
            f"{shown}: {n} bad row{'s' if n != 1 else ''}, nothing was imported — {quoted}"
            + (f" (and {more} more bad row{'s' if more != 1 else ''})" if more > 0 else ""),
            field=first["field"],
            line=first["line"],
            bad_rows=n,
            problems=self.items,
        )


Raw = tuple[int, Any, Any, Any, Any]  # line, submitted_at, channel, author, text as read


def _jsonl_rows(data: bytes, problems: _Problems) -> list[Raw]:
    out: list[Raw] = []
    loads = orjson.loads
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.add(number, "(line)", f"not valid JSON ({str(exc).split(':')[0]})")
            continue
        if type(obj) is not dict:
            problems.add(number, "(line)", "expected one JSON object with submitted_at, channel, author, text")
            continue
        keys = obj.keys()
        if not keys <= _ALLOWED:
            extra = ", ".join(sorted(k for k in keys if k not in _ALLOWED))
            problems.add(number, extra, f"unknown field; expected {', '.join(FIELDS)}")
            continue
        get = obj.get
        out.append((number, get("submitted_at"), get("channel"), get("author"), get("text")))
    return out


_ALLOWED = frozenset(FIELDS)


def _csv_rows(data: bytes, problems: _Problems) -> list[Raw]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(line, "(encoding)", "not valid UTF-8 (save the file as UTF-8)")
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        problems.add(1, "(header)", f"not valid CSV ({exc})")
        return []
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h not in _ALLOWED]
    missing = sorted(REQUIRED - set(names))
    if unknown or missing or len(set(names)) != len(names):
        what = []
        if missing:
            what.append("missing column(s) " + ", ".join(missing))
        if unknown:
            what.append("unknown column(s) " + ", ".join(unknown))
        if len(set(names)) != len(names):
            what.append("a column is named twice")
        problems.add(1, "(header)", "; ".join(what) + f" — expected a header row {','.join(FIELDS)}")
        return []
    width = len(names)
    at = {name: names.index(name) for name in FIELDS if name in names}
    i_sa, i_ch, i_tx = at["submitted_at"], at["channel"], at["text"]
    i_au = at.get("author")
    out: list[Raw] = []
    end = reader.line_num
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                problems.add(start, "(row)", f"{len(row)} columns, the header has {width}")
                continue
            out.append((start, row[i_sa], row[i_ch], row[i_au] if i_au is not None else "", row[i_tx]))
    except csv.Error as exc:
        problems.add(reader.line_num, "(row)", f"not valid CSV ({exc})")
    return out


# --- validating rows --------------------------------------------------------------------------------------------

# NUL and the other C0 controls (tab, line feed and carriage return are text), DEL, and lone surrogates.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class _Rows:
    """Valid rows, column by column (the hot path stays in lists and numpy arrays)."""

    lines: list[int] = field(default_factory=list)
    micros: list[int] = field(default_factory=list)  # submitted_at, µs since the epoch (UTC)
    channels: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)


def _name_checker(cache: dict[Any, tuple[str, str | None]], *, optional: bool):  # type: ignore[no-untyped-def]
    """A cleaner for a short field that remembers its answers in `cache` (channels and authors repeat a lot; the
    caller looks there first): returns (value, problem)."""

    def check(value: Any) -> tuple[str, str | None]:
        if value is None or (isinstance(value, str) and not value.strip()):
            out = ("", None) if optional else ("", "missing or empty")
        elif not isinstance(value, str):
            out = ("", f"must be text, not {type(value).__name__}")
        elif len(value) > MAX_NAME:
            out = ("", f"longer than {MAX_NAME} characters")
        else:
            try:
                out = (clean_name(value), None)
            except ValueError as exc:
                out = ("", str(exc))
        if isinstance(value, str):
            cache[value] = out
        return out

    return check


def _validate(raw: list[Raw], problems: _Problems) -> _Rows:
    """Check every row; valid ones go into columns, bad ones into `problems` (all fields of a row are checked)."""
    rows = _Rows()
    known_channels: dict[Any, tuple[str, str | None]] = {}
    known_authors: dict[Any, tuple[str, str | None]] = {}
    channel_of = _name_checker(known_channels, optional=False)
    author_of = _name_checker(known_authors, optional=True)
    fromiso, is_nfc, nfc, bad_chars = datetime.fromisoformat, unicodedata.is_normalized, unicodedata.normalize, _BAD_CHARS.search
    for line, sa, ch, au, tx in raw:
        ok = True
        micros = 0
        if type(sa) is not str or not sa.strip():
            problems.add(line, "submitted_at", "missing" if sa is None or sa == "" else "must be an ISO 8601 date-time text")
            ok = False
        else:
            try:
                moment = fromiso(sa.strip())
            except ValueError:
                moment = None
            if moment is None or ("T" not in sa and "t" not in sa and " " not in sa.strip()):
                problems.add(line, "submitted_at", f"{sa!r} is not an ISO 8601 date-time such as 2025-09-15T10:30:00+08:00")
                ok = False
            else:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=LOCAL)  # a zone-less time is Beijing time
                micros = (moment - _EPOCH) // _MICROSECOND
        channel, why = (known_channels.get(ch) if type(ch) is str else None) or channel_of(ch)
        if why:
            problems.add(line, "channel", why)
            ok = False
        author, why = (known_authors.get(au) if type(au) is str else None) or author_of(au)
        if why:
            problems.add(line, "author", why)
            ok = False
        if type(tx) is not str:
            problems.add(line, "text", "missing" if tx is None else f"must be text, not {type(tx).__name__}")
            ok = False
        elif not tx or tx.isspace():
            problems.add(line, "text", "empty")
            ok = False
        else:
            bad = bad_chars(tx)
            if bad:
                c = bad.group()
                what = "a NUL character" if c == "\x00" else f"the control character U+{ord(c):04X}"
                problems.add(line, "text", f"contains {what}")
                ok = False
            else:
                if not is_nfc("NFC", tx):
                    tx = nfc("NFC", tx)
                if len(tx) > MAX_TEXT:
                    problems.add(line, "text", f"{len(tx)} characters; at most {MAX_TEXT}")
                    ok = False
        if ok:
            rows.lines.append(line)
            rows.micros.append(micros)
            rows.channels.append(channel)
            rows.authors.append(author)
            rows.texts.append(tx)
    return rows


def _utc_texts(micros: np.ndarray) -> list[str]:
    """The stored form of many moments at once (the same text as `models.store.utc_text`)."""
    stamps = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [s + "Z" for s in stamps.tolist()]


# --- the matching key: NFKC + casefold + punctuation and whitespace stripped ---------------------------------------

_STRIP = re.compile(r"[\W_]+")
_SPACE = re.compile(r"\s+")


def matching_key(text: str) -> str:
    """The text as compared for duplicates (never stored as the text): NFKC, casefold, no punctuation or spaces.

    A comment of punctuation or emoji alone keeps its symbols, so "👍" and "👎" stay different.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _STRIP.sub("", folded) or _SPACE.sub("", folded)


_DELETE = np.uint32(0xFFFFFFFF)
_SLOW = np.uint32(0xFFFFFFFE)


@functools.cache
def _key_table() -> np.ndarray:
    """For each BMP character: its matching key as one code point, _DELETE, or _SLOW (needs the exact path).

    Per-character mapping equals `matching_key` on a text only when no character can change its neighbours under
    NFKC: so combining marks, the second halves of canonical compositions (and characters whose NFKC contains
    either) are _SLOW, as is anything whose key is longer than one character. Planes 2–16 hold no canonical pairs.
    """
    sensitive: set[int] = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T jamo
    for cp in range(0x20000):
        c = chr(cp)
        if unicodedata.combining(c):
            sensitive.add(cp)
        d = unicodedata.decomposition(c)
        if d and d[0] != "<":
            parts = d.split()
            if len(parts) == 2:
                sensitive.add(int(parts[1], 16))
    table = []
    for cp in range(0x10000):
        if cp in sensitive or 0xD800 <= cp < 0xE000:
            table.append(int(_SLOW))
            continue
        image = unicodedata.normalize("NFKC", chr(cp))
        if any(ord(x) in sensitive for x in image):
            table.append(int(_SLOW))
            continue
        key = _STRIP.sub("", image.casefold())
        table.append(int(_DELETE) if not key else ord(key) if len(key) == 1 else int(_SLOW))
    table[0] = 0  # the separator of the batch path
    return np.array(table, dtype=np.uint32)


def matching_keys(texts: Sequence[str]) -> list[str]:
    """`matching_key` of many texts at once: a table lookup over all code points, the exact path where needed."""
    if len(texts) < 2000:
        return [matching_key(t) for t in texts]
    table = _key_table()
    cps = np.frombuffer("\x00".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    seps = np.flatnonzero(cps == 0)
    if len(seps) != len(texts) - 1:  # a text holds NUL itself: not from a validated file
        return [matching_key(t) for t in texts]
    mapped = np.where(cps < 0x10000, table[np.minimum(cps, 0xFFFF)], _SLOW)
    slow = mapped == _SLOW
    mapped[slow] = 0xFFFD  # a placeholder; those texts are redone exactly below
    keys = mapped[mapped != _DELETE].tobytes().decode("utf-32-le").split("\x00")
    for i in np.unique(np.searchsorted(seps, np.flatnonzero(slow))).tolist():
        keys[i] = matching_key(texts[i])
    for i, k in enumerate(keys):
        if not k:
            keys[i] = matching_key(texts[i])
    return keys


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- near-duplicate clustering ----------------------------------------------------------------------------------

_U64 = np.uint64


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast, well-mixed 64-bit hash (wrapping arithmetic)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


_EMPTY = np.uint32(0xFFFFFFFF)


def _sketch_chunk(keys: Sequence[str]) -> np.ndarray:
    """One-permutation MinHash of each key's character 3-grams: (len(keys), BINS) uint32, densified."""
    n = len(keys)
    lens = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    cps = np.frombuffer("".join(keys).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    count = np.maximum(lens - SHINGLE + 1, 1)  # a key shorter than a shingle is one (padded) shingle
    starts = np.cumsum(lens) - lens
    text = np.repeat(np.arange(n), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    pos = starts[text] + local
    length = lens[text]
    last = max(len(cps) - 1, 0)
    shingle = np.zeros(len(pos), dtype=np.uint64)
    for k in range(SHINGLE):  # 21 bits a code point: the 3-gram itself, exactly, in 63 bits
        inside = local + k < length
        shingle = (shingle << _U64(21)) | np.where(inside, cps[np.minimum(pos + k, last)], _U64(0))
    h = _mix64(shingle)
    bins = (h >> _U64(57)).astype(np.intp)
    values = (h >> _U64(25)).astype(np.uint32)
    sig = np.full(n * BINS, _EMPTY, dtype=np.uint32)
    np.minimum.at(sig, text * BINS + bins, values)
    return _densify(sig.reshape(n, BINS))


def _mix32(x: np.ndarray) -> np.ndarray:
    x = x * np.uint32(0x9E3779B1)
    x = (x ^ (x >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    return x ^ (x >> np.uint32(13))


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill empty bins from the next non-empty bin to the right, mixed with the distance (rotation densification,
    Shrivastava & Li 2014), so short texts compare on all bins."""
    empty = sig == _EMPTY
    if not empty.any():
        return sig
    columns = np.arange(BINS, dtype=np.int32)
    nearest = np.where(empty, np.int32(2 * BINS), columns)  # the nearest filled bin at or right of each bin
    step = 1
    while step < BINS:  # doubling: after each pass, the minimum over a window twice as wide
        nearest[:, :-step] = np.minimum(nearest[:, :-step], nearest[:, step:])
        step *= 2
    wrapped = nearest >= BINS  # none to the right: wrap round to the row's first filled bin
    nearest = np.where(wrapped, nearest[:, :1] + BINS, nearest)
    borrowed = np.take_along_axis(sig, nearest % BINS, axis=1)
    distance = (nearest - columns).astype(np.uint32)
    return np.where(empty, _mix32(borrowed ^ (distance * np.uint32(0x632BE5AB))), sig)


def sketch(keys: Sequence[str]) -> np.ndarray:
    """MinHash sketches of many matching keys, (len(keys), BINS) uint32; empty keys must not be passed."""
    out = np.empty((len(keys), BINS), dtype=np.uint32)
    for s in range(0, len(keys), _SKETCH_CHUNK):
        out[s : s + _SKETCH_CHUNK] = _sketch_chunk(keys[s : s + _SKETCH_CHUNK])
    return out


def _candidates(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that share an LSH band: in each bucket, every member with the first and with the one before it."""
    n = sig.shape[0]
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    positions = np.arange(n)
    for band in range(BANDS):
        key = np.full(n, band, dtype=np.uint64)
        for r in range(band * ROWS, (band + 1) * ROWS):
            key = _mix64(key ^ sig[:, r].astype(np.uint64))
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        same = ordered[1:] == ordered[:-1]
        if not same.any():
            continue
        heads = order[np.maximum.accumulate(np.where(np.r_[True, ~same], positions, 0))]
        members = order[1:][same]
        left += [order[:-1][same], heads[1:][same]]
        right += [members, members]
    if not left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a, b = np.concatenate(left), np.concatenate(right)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    code = lo[lo != hi].astype(np.int64) * n + hi[lo != hi]
    code.sort()  # then drop repeats (np.unique's hash path took 1.3 s on 3·10^6 pairs here; sorting takes 0.1 s)
    code = code[np.r_[True, code[1:] != code[:-1]]]
    return code // n, code % n


def _similar(sig: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Which candidate pairs the sketches estimate at or above the Jaccard threshold."""
    need = int(np.ceil(threshold * BINS))
    low = sig.astype(np.uint16)  # 16 bits of each bin decide agreement: half the memory traffic, 1/65536 chance error
    keep = np.empty(len(a), dtype=bool)
    step = 50_000
    for s in range(0, len(a), step):
        keep[s : s + step] = (low[a[s : s + step]] == low[b[s : s + step]]).sum(axis=1) >= need
    return keep


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components by hooking and pointer jumping; each node's label is the smallest index in its component."""
    parent = np.arange(n)
    if len(a) == 0:
        return parent
    while True:
        pa, pb = parent[a], parent[b]
        if np.array_equal(pa, pb):
            return parent
        low = np.minimum(pa, pb)
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def near_duplicate_pairs(keys: Sequence[str], *, threshold: float = THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of non-empty keys whose sketches estimate their 3-gram Jaccard at or above the threshold."""
    present = np.asarray([i for i, k in enumerate(keys) if k], dtype=np.int64)
    if len(present) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sig = sketch([keys[i] for i in present.tolist()])
    a, b = _candidates(sig)
    if len(a):
        keep = _similar(sig, a, b, threshold)
        a, b = a[keep], b[keep]
    return present[a], present[b]


def near_duplicate_roots(keys: Sequence[str], *, threshold: float = THRESHOLD) -> np.ndarray:
    """For each matching key, the index of the first key of its near-duplicate cluster (the connected components
    of `near_duplicate_pairs`)."""
    a, b = near_duplicate_pairs(keys, threshold=threshold)
    return _components(len(keys), a, b)


# --- the case -----------------------------------------------------------------------------------------------------


def _case(conn: Connection, case_id: str) -> tuple[list[StoredEvent], PolicyPack]:
    """The case's events and pinned pack (read without replaying: the rows are all these use cases need)."""
    events = store.load_stream(conn, case_id)
    if not events or events[0].type != "case-launched":
        raise UnknownCase(f"there is no case {case_id!r} in this workspace (see `juece case list`)", case_id=case_id)
    return events, pack_of(launch_state(events[0]))


def _require_role(pack: PolicyPack, actor: Actor, event: str, doing: str) -> None:
    """ROLE-01 with the pack's roles for `event` (the same the auditor's re-check reads)."""
    require_role(pack, actor.role, event, doing)


def _consultation_deadline(events: list[StoredEvent], case_id: str) -> date:
    opened = [e for e in events if e.type == "consultation-opened"]
    if not opened:
        raise BadInput(
            f"case {case_id} has no open consultation: public comments belong to a consultation "
            "(record `consultation-opened` with its deadline first, 条例 art. 15)",
            field="CASE",
            case_id=case_id,
        )
    return date.fromisoformat(opened[-1].payload["deadline"])


# --- use cases ----------------------------------------------------------------------------------------------------


def import_comments(ws: Workspace, actor: Actor, case_id: str, path: str | Path) -> ImportResult:
    """Import a JSON Lines or CSV file of public comments into a case: all rows or none, idempotent."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, pack = _case(conn, case_id)
    _require_role(pack, actor, COMMENTS_IMPORTED, "import public comments")
    _consultation_deadline(events, case_id)
    source = Path(path)
    kind = source.suffix.lower()
    if kind not in (".jsonl", ".ndjson", ".csv"):
        raise BadInput(f"{source.name}: expected a .jsonl, .ndjson or .csv file", field="FILE")
    clock = time.perf_counter
    timings: dict[str, float] = {}
    started = clock()
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror}", field="FILE") from exc
    with gc_paused():  # the collector dominated batch work here (87k → 316k rows/s validated with it paused)
        file_sha256 = _sha256_hex(data)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        problems = _Problems()
        raw = _jsonl_rows(data, problems) if kind in (".jsonl", ".ndjson") else _csv_rows(data, problems)
        rows = _validate(raw, problems)
        del raw
        if problems.items:
            raise problems.refusal(source.name)
        if not rows:
            raise BadInput(f"{source.name}: the file holds no comments", field="FILE")
        micros = np.asarray(rows.micros, dtype=np.int64)
        stamps = _utc_texts(micros)
        keys = matching_keys(rows.texts)
        norm_hashes = [_sha256_hex(k.encode()) for k in keys]
        row_hash = db.row_hash
        row_hashes = [row_hash(s, c, a, t) for s, c, a, t in zip(stamps, rows.channels, rows.authors, rows.texts)]
        import_id = _sha256_hex("\n".join(row_hashes).encode())
        timings["validate"] = clock() - started  # reading the file included

        with write_transaction(ws.engine) as conn:
            started = clock()
            facts = read_facts(conn)
            events, pack = _case(conn, case_id)
            deadline = _consultation_deadline(events, case_id)
            # Late: submitted after 24:00 of the deadline day, Beijing time.
            closes = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL)
            late = micros >= (closes - _EPOCH) // _MICROSECOND
            stored = db.row_hashes(conn, case_id)
            new: list[int] = []
            seen: set[str] = set()
            for i, h in enumerate(row_hashes):
                if h not in stored and h not in seen:
                    seen.add(h)
                    new.append(i)
            existing = db.distinct_texts(conn, case_id) if new else []
            timings["read"] = clock() - started

            started = clock()
            cluster_of = {d.norm_hash: d.cluster for d in existing}
            first_new: dict[str, int] = {}
            for i in new:
                h = norm_hashes[i]
                if h not in cluster_of and h not in first_new:
                    first_new[h] = i
            if first_new:
                cluster_of.update(
                    _assign_clusters(existing, [(h, keys[i]) for h, i in first_new.items()], db.max_cluster(conn, case_id))
                )
            timings["cluster"] = clock() - started

            started = clock()
            if new:
                late_list = late.tolist()
                lines = rows.lines
                channels, authors, texts = rows.channels, rows.authors, rows.texts
                inserted = [
                    (case_id, import_id, lines[i], stamps[i], channels[i], authors[i], texts[i], norm_hashes[i],
                     row_hashes[i], late_list[i], cluster_of[norm_hashes[i]])
                    for i in new
                ]
                ids = db.insert_comments(conn, inserted)
                totals = db.Counts(len(stored) + len(new), len(existing) + len(first_new), len(set(cluster_of.values())), 0)
            else:
                totals = db.counts(conn, case_id)  # nothing new: the totals as they stand
            result = ImportResult(
                case_id=case_id,
                import_id=import_id,
                file_sha256=file_sha256,
                rows=len(rows),
                new_rows=len(new),
                late=int(late.sum()),
                received_total=totals.received,
                distinct_total=totals.distinct,
                clusters_total=totals.clusters,
                timings=timings,
            )
            if new:
                key = f"comments-import:{case_id}:{import_id}"
                if store.find_by_key(conn, key) is None:
                    _, _, c_line, c_at, c_channel, c_author, c_text, c_norm, c_hash, c_late, c_cluster = zip(*inserted)
                    stored_sha256 = db.rows_digest(c_hash)
                    shown = {a: public_author(pack, a) for a in set(c_author)}
                    public_sha256 = db.public_digest(zip(
                        ids, c_line, c_at, c_channel, map(shown.__getitem__, c_author), c_text, c_norm, c_late, c_cluster))
                    body = result.payload(stored_sha256, public_sha256)
                    (event,) = store.append(
                        conn,
                        case_id,
                        events,
                        [NewEvent(COMMENTS_IMPORTED, SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
                        now(facts),
                    )
                    result = replace(result, seq=event.seq)
        timings["store"] = clock() - started  # inserts and the durable commit
    return result


def _assign_clusters(existing: list[db.DistinctText], fresh: list[tuple[str, str]], highest: int) -> dict[str, int]:
    """Cluster numbers for new distinct texts: the (lowest) existing cluster they are near, else new numbers in order.

    Stored clusters never change (the table is append-only and dispositions name them), so a new text that bridges
    two earlier clusters joins the older one.
    """
    keys = matching_keys([d.text for d in existing]) + [k for _, k in fresh]
    roots = near_duplicate_roots(keys).tolist()
    old = len(existing)
    cluster_at_root: dict[int, int] = {}
    for i, d in enumerate(existing):
        r = roots[i]
        if r not in cluster_at_root or d.cluster < cluster_at_root[r]:
            cluster_at_root[r] = d.cluster
    out: dict[str, int] = {}
    for j, (h, _) in enumerate(fresh):
        r = roots[old + j]
        if r not in cluster_at_root:
            highest += 1
            cluster_at_root[r] = highest
        out[h] = cluster_at_root[r]
    return out


def comment_summary(ws: Workspace, case_id: str, *, top: int = 10) -> Summary:
    """Comments received, distinct after exact de-duplication and after clustering, late, and the biggest clusters."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = _case(conn, case_id)
        counts = db.counts(conn, case_id)
        biggest = db.clusters(conn, case_id, limit=top)
    decided = dispositions_in_force(events)
    views = tuple(
        ClusterView(
            c.cluster, c.size, c.distinct, c.late, c.sample_id, c.sample_text,
            *((decided[f"cluster:{c.cluster}"].disposition, decided[f"cluster:{c.cluster}"].reason)
              if f"cluster:{c.cluster}" in decided else (None, "")),
        )
        for c in biggest
    )
    return Summary(
        case_id=case_id,
        received=counts.received,
        distinct=counts.distinct,
        clusters=counts.clusters,
        late=counts.late,
        imports=sum(1 for e in events if e.type == COMMENTS_IMPORTED),
        top=views,
        dispositions=len(decided),
    )


@dataclass(frozen=True)
class Disposition:
    """A disposition as the history records it (`comment-disposed`)."""

    seq: int
    target: str
    disposition: str
    reason: str
    comments: int
    recorded_at: str
    actor: str


def dispositions_in_force(events: Sequence[StoredEvent]) -> dict[str, Disposition]:
    """The disposition in force for each target, read from the history: the latest recorded (a correction is a new
    record, never an edit)."""
    out: dict[str, Disposition] = {}
    for e in events:
        if e.type == COMMENT_DISPOSED:
            p = e.payload
            out[p["target"]] = Disposition(e.seq, p["target"], p["disposition"], p.get("reason", ""), p["comments"],
                                           e.recorded_at, e.actor)
    return out


_TARGET = re.compile(r"^(comment|cluster):([1-9][0-9]{0,17})$")
_NEEDS_REASON = ("not-adopted", "partly-adopted")


def record_disposition(
    ws: Workspace, actor: Actor, case_id: str, target: str, disposition: str, reason: str = ""
) -> DispositionRecorded:
    """Record how a comment or a cluster was handled: adopted, partly adopted or not adopted, with the reason."""
    match = _TARGET.match(target.strip())
    if not match:
        raise BadInput(f"target {target!r}: expected comment:<id> or cluster:<number>", field="target")
    if disposition not in db.DISPOSITIONS:
        raise BadInput(
            f"disposition {disposition!r}: expected one of {', '.join(db.DISPOSITIONS)}", field="disposition"
        )
    try:
        reason = unicodedata.normalize("NFC", reason or "").strip()
        if _BAD_CHARS.search(reason):
            raise ValueError("control characters are not allowed in text")
    except ValueError as exc:
        raise BadInput(f"reason: {exc}", field="reason") from exc
    if len(reason) > 2000:
        raise BadInput("reason: at most 2000 characters", field="reason")
    if disposition in _NEEDS_REASON and not reason:
        raise BadInput(
            f"a {disposition} disposition needs the reason (条例 art. 18: 不予采纳的理由), given as --reason TEXT",
            field="reason",
        )
    kind, number = match.group(1), int(match.group(2))
    target = f"{kind}:{number}"
    db.create_comment_schema(ws.engine)
    with write_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        events, pack = _case(conn, case_id)
        _require_role(pack, actor, COMMENT_DISPOSED, "record how public comments were handled")
        if kind == "comment":
            found = db.comment(conn, case_id, number)
            covers = 1 if found else 0
        else:
            found_cluster = db.clusters(conn, case_id, only=[number])
            covers = found_cluster[0].size if found_cluster else 0
        if not covers:
            raise BadInput(f"case {case_id} has no {kind} {number} (see `juece comments show {case_id}`)", field="target")
        current = dispositions_in_force(events).get(target)
        if current and current.disposition == disposition and current.reason == reason:
            return DispositionRecorded(case_id, current.seq, target, disposition, reason, current.recorded_at,
                                       current.actor, current.comments, repeated=True)
        body = CommentDisposed(target=target, disposition=disposition, reason=reason, comments=covers).model_dump(mode="json")
        moment = now(facts)
        key = f"comment-disposed:{case_id}:{events[-1].seq + 1}"
        (event,) = store.append(
            conn, case_id, events,
            [NewEvent(COMMENT_DISPOSED, SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
            moment,
        )
        db.insert_disposition(  # the queryable copy; `audit verify` holds it equal to the record
            conn, case_id=case_id, target=target, disposition=disposition, reason=reason,
            recorded_at=event.recorded_at, actor=event.actor,
        )
    return DispositionRecorded(case_id, event.seq, target, disposition, reason, event.recorded_at, event.actor, covers)


_REPORT_LIMIT = 20000  # HandlingReport fields are Text (≤ 20,000 characters)
_MAIN_OPINIONS = 10
_LABEL = {"adopted": "采纳", "partly-adopted": "部分采纳", "not-adopted": "不予采纳"}


def _excerpt(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _numbered(items: list[str], limit: int = _REPORT_LIMIT) -> str:
    out: list[str] = []
    used = 0
    for i, item in enumerate(items, 1):
        line = f"{i}. {item}"
        if used + len(line) + 40 > limit:
            out.append(f"……另有{len(items) - i + 1}项，见意见处理清单")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def handling_report_draft(ws: Workspace, case_id: str) -> dict[str, str]:
    """A draft of `participation-concluded`'s handling_report from the comments and their dispositions (PP-07)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = _case(conn, case_id)
        counts = db.counts(conn, case_id)
        biggest = db.clusters(conn, case_id, limit=_MAIN_OPINIONS)
        decided = dispositions_in_force(events)
        single = {int(t.split(":")[1]): d for t, d in decided.items() if t.startswith("comment:")}
        singles = {n: db.comment(conn, case_id, n) for n in single}
        grouped = {int(t.split(":")[1]): d for t, d in decided.items() if t.startswith("cluster:")}
        cluster_rows = {c.cluster: c for c in db.clusters(conn, case_id, only=list(grouped))} if grouped else {}
    if not counts.received:
        raise BadInput(f"case {case_id} has no imported comments to report on (see `juece comments import`)", field="CASE")
    opinions = [
        f"{_excerpt(c.sample_text)}（{c.size}条" + ("，内容相同或基本相同" if c.size > 1 else "") + "）" for c in biggest
    ]
    main = (
        f"共收到公众意见{counts.received}条"
        + (f"（其中逾期提交{counts.late}条，已保留并标注）" if counts.late else "")
        + f"，去除完全重复后{counts.distinct}条，归并相同或基本相同的意见后为{counts.clusters}组。主要意见：\n"
        + _numbered(opinions, _REPORT_LIMIT - 200)
    )
    # A comment's own disposition overrides its cluster's; the cluster then covers the rest of its comments.
    carved: dict[int, int] = {}
    for n, row in singles.items():
        if row is not None and row.cluster in grouped:
            carved[row.cluster] = carved.get(row.cluster, 0) + 1
    entries: list[tuple[str, str, str]] = []  # (disposition, what, reason)
    for n, d in sorted(grouped.items()):
        c = cluster_rows.get(n)
        if c is None:
            continue
        size = c.size - carved.get(n, 0)
        if size > 0:
            entries.append((d.disposition, f"{_excerpt(c.sample_text)}（{size}条）", d.reason))
    for n, d in sorted(single.items()):
        row = singles.get(n)
        if row is not None:
            entries.append((d.disposition, f"{_excerpt(row.text)}（第{n}号意见）", d.reason))
    adopted = [f"【{_LABEL[d]}】{what}" + (f"：{why}" if why and d == "adopted" else "") for d, what, why in entries if d != "not-adopted"]
    not_adopted = [what for d, what, _ in entries if d == "not-adopted"]
    reasons = [f"【{_LABEL[d]}】{_excerpt(what, 30)}：{why}" for d, what, why in entries if d in _NEEDS_REASON]
    return {
        "main_opinions": main[:_REPORT_LIMIT],
        "adopted": _numbered(adopted),
        "not_adopted": _numbered(not_adopted),
        "reasons": _numbered(reasons),
    }


def verify_comments(ws: Workspace, case_id: str) -> list[str]:
    """Check a case's stored comments and disposition rows against its history (the check `audit verify` runs):
    what differs, per import and per disposition (none when intact)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = _case(conn, case_id)
        return StoredComments(conn).problems(events)


def iter_clusters(ws: Workspace, case_id: str) -> Iterator[ClusterView]:
    """Every cluster of a case, biggest first (for a full listing or an export)."""
    db.create_comment_schema(ws.engine)
    with read_transaction(ws.engine) as conn:
        events, _ = _case(conn, case_id)
        rows = db.clusters(conn, case_id)
    decided = dispositions_in_force(events)
    for c in rows:
        d = decided.get(f"cluster:{c.cluster}")
        yield ClusterView(c.cluster, c.size, c.distinct, c.late, c.sample_id, c.sample_text,
                          d.disposition if d else None, d.reason if d else "")

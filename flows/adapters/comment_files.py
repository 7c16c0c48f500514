"""Reading a file of public comments (JSON Lines or CSV) into validated columns: every row checked, the first bad
rows quoted and all counted, so a bad file is refused whole with its line numbers (flows/usecases/comments.py stores
what this returns). No database, no clock: the zone a zone-less time is read in comes from the caller."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import numpy as np
import orjson

from models.text import clean_name
from policies.errors import BadInput

FIELDS = ("submitted_at", "channel", "author", "text")
REQUIRED = frozenset({"submitted_at", "channel", "text"})  # author may be empty: channels take anonymous comments
MAX_TEXT = 20000  # the same bound as every free text in the record (models/text.py)
MAX_NAME = 300
MAX_PROBLEMS = 10  # rows quoted in a refusal; the count covers them all


# --- reading a file ---------------------------------------------------------------------------------------------


@dataclass
class Problems:
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


def jsonl_rows(data: bytes, problems: Problems) -> list[Raw]:
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


def csv_rows(data: bytes, problems: Problems) -> list[Raw]:
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
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)


@dataclass
class Rows:
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


def validate_rows(raw: list[Raw], problems: Problems, zone: tzinfo) -> Rows:
    """Check every row; valid ones go into columns, bad ones into `problems` (all fields of a row are checked)."""
    rows = Rows()
    known_channels: dict[Any, tuple[str, str | None]] = {}
    known_authors: dict[Any, tuple[str, str | None]] = {}
    channel_of = _name_checker(known_channels, optional=False)
    author_of = _name_checker(known_authors, optional=True)
    fromiso, is_nfc, nfc, bad_chars = datetime.fromisoformat, unicodedata.is_normalized, unicodedata.normalize, BAD_CHARS.search
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
                    moment = moment.replace(tzinfo=zone)  # a zone-less time is local (Beijing) time
                micros = (moment - EPOCH) // MICROSECOND
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
            bad = None if tx.isprintable() else bad_chars(tx)  # every character BAD_CHARS finds is unprintable
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


def utc_texts(micros: np.ndarray) -> list[str]:
    """The stored form of many moments at once (the same text as `models.store.utc_text`)."""
    stamps = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [s + "Z" for s in stamps.tolist()]



def stored_text(text: str) -> str:
    """A valid comment's text as stored: NFC (what `validate_rows` keeps)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def read_texts(data: bytes, kind: str, *, nfc: bool = True) -> list[str]:
    """The texts `read_rows` would keep from the same bytes, when the file is valid (every row kept): read without the
    other fields' checks, for a second process that works on the texts only. Of a bad file the answer is meaningless
    (a row's text that is not text reads as ""); `read_rows` refuses such a file whole, so it is never used. With
    `nfc=False` a JSON Lines text is left as written, not put in NFC (for a use that gives both forms the same answer)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if kind not in (".jsonl", ".ndjson"):
        return [stored_text(tx) if type(tx) is str else "" for _, _, _, _, tx in csv_rows(data, Problems())]
    # The lines `jsonl_rows` keeps (the non-blank ones), their "text" alone.
    texts: list[str] = []
    loads = orjson.loads
    for raw in data.split(b"\n"):
        if raw.strip():
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            tx = obj.get("text") if type(obj) is dict else None
            texts.append((stored_text(tx) if nfc else tx) if type(tx) is str else "")
    return texts


def read_rows(data: bytes, kind: str, shown: str, zone: tzinfo) -> Rows:
    """The valid rows of a `.jsonl`/`.ndjson` or `.csv` file's bytes (a UTF-8 byte order mark skipped); `BadInput`
    quoting the bad rows when any row is bad, or when the file holds no comments."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    problems = Problems()
    raw = jsonl_rows(data, problems) if kind in (".jsonl", ".ndjson") else csv_rows(data, problems)
    rows = validate_rows(raw, problems, zone)
    del raw
    if problems.items:
        raise problems.refusal(shown)
    if not rows:
        raise BadInput(f"{shown}: the file holds no comments", field="FILE")
    return rows

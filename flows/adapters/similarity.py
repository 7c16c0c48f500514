"""Near-duplicate matching of comment texts: the matching key (NFKC, casefold, punctuation and whitespace stripped)
and a MinHash sketch of its character 3-grams — one-permutation hashing with densification, vectorised with numpy —
LSH banding for candidates, a sketch check of each candidate pair, and connected components. A per-shingle
pure-Python MinHash managed about 900 comments a second here; this clusters 10^5 in 1.5–2.5 s
(bench/bench_comments.py; docs/decisions has why numpy MinHash)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Sequence

import numpy as np

# Near-duplicate matching: Jaccard similarity of the keys' character 3-grams ≥ 0.8. The threshold is ours: it groups
# a form letter with a changed signer or an added sentence, and keeps "我同意" and "我不同意" apart.
SHINGLE = 3
BINS = 128  # one-permutation MinHash: 128 bins, 7 bits of each shingle's hash choose the bin
BANDS, ROWS = 16, 8  # LSH: a pair at Jaccard 0.8 becomes a candidate with probability 1 − (1 − 0.8^8)^16 ≈ 0.95
THRESHOLD = 0.8
_SKETCH_CHUNK = 4000  # texts per sketching step: keeps the bins array in cache (35× faster minimum.at here)


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
    """For each code point: its matching key as one code point, _DELETE, or _SLOW (needs the exact path).

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
    # Planes 1–16 all take the exact path: one entry per code point, so a lookup is one gather.
    return np.concatenate([np.array(table, dtype=np.uint32), np.full(0x110000 - 0x10000, _SLOW, dtype=np.uint32)])


def matching_keys(texts: Sequence[str]) -> list[str]:
    """`matching_key` of many texts at once: a table lookup over all code points, the exact path where needed."""
    if len(texts) < 2000:
        return [matching_key(t) for t in texts]
    table = _key_table()
    cps = np.frombuffer("\x00".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    seps = np.flatnonzero(cps == 0)
    if len(seps) != len(texts) - 1:  # a text holds NUL itself: not from a validated file
        return [matching_key(t) for t in texts]
    mapped = table[cps]  # every code point a str can hold has its entry
    slow = mapped == _SLOW
    mapped[slow] = 0xFFFD  # a placeholder; those texts are redone exactly below
    keys: list[str] = mapped[mapped != _DELETE].tobytes().decode("utf-32-le").split("\x00")
    for i in np.unique(np.searchsorted(seps, np.flatnonzero(slow))).tolist():
        keys[i] = matching_key(texts[i])
    if "" in keys:
        for i, k in enumerate(keys):
            if not k:
                keys[i] = matching_key(texts[i])
    return keys




# --- near-duplicate clustering ----------------------------------------------------------------------------------

_U64 = np.uint64


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast, well-mixed 64-bit hash (wrapping arithmetic)."""
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> _U64(31))
    return mixed


_EMPTY = np.uint32(0xFFFFFFFF)


def _sketch_chunk(keys: Sequence[str]) -> np.ndarray:
    """One-permutation MinHash of each key's character 3-grams: (len(keys), BINS) uint32, densified.

    The keys are laid end to end with three NULs after each, so every 3-gram is three neighbouring code points of one
    array (shifted slices, no gathers); a key shorter than a shingle is one shingle padded with the NULs after it.
    A key's 3-grams are those that start inside it and reach no separator, and its first (the padded one)."""
    n = len(keys)
    lens = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    cps = np.frombuffer(("\0\0\0".join(keys) + "\0\0\0").encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.cumsum(lens + SHINGLE) - (lens + SHINGLE)
    separator = np.zeros(len(cps), dtype=bool)
    for k in range(SHINGLE):
        separator[starts + lens + k] = True
    wide = cps.astype(np.uint64)  # 21 bits a code point: the 3-gram itself, exactly, in 63 bits
    shingle = (wide[:-2] << _U64(42)) | (wide[1:-1] << _U64(21)) | wide[2:]
    kept = ~(separator[:-2] | separator[1:-1] | separator[2:])
    kept[starts] = True
    text = np.repeat(np.arange(n), np.maximum(lens - SHINGLE + 1, 1))
    h = _mix64(shingle[kept])
    bins = (h >> _U64(57)).astype(np.intp)
    values = (h >> _U64(25)).astype(np.uint32)
    sig = np.full(n * BINS, _EMPTY, dtype=np.uint32)
    np.minimum.at(sig, text * BINS + bins, values)
    return _densify(sig.reshape(n, BINS))


def _mix32(x: np.ndarray) -> np.ndarray:
    x = x * np.uint32(0x9E3779B1)
    x = (x ^ (x >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    mixed: np.ndarray = x ^ (x >> np.uint32(13))
    return mixed


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill empty bins from the next non-empty bin to the right, mixed with the distance (rotation densification,
    Shrivastava & Li 2014), so short texts compare on all bins. Every row has a non-empty bin (no empty keys)."""
    empty = sig == _EMPTY
    if not empty.any():
        return sig
    n = sig.shape[0]
    size = n * BINS
    at = np.arange(size, dtype=np.int32 if size < 2**31 else np.int64)
    # The nearest filled bin at or right of each bin, as a position in the flattened rows: one running minimum over
    # all rows at once, from the end (a row with none to its right gets a later row's, or `size`: wrapped below).
    flat_empty = empty.ravel()
    nearest = np.minimum.accumulate(np.where(flat_empty[::-1], size, at[::-1]))[::-1].reshape(n, BINS)
    row_start = at[::BINS, None]
    wrapped = nearest >= row_start + BINS  # none to the right: wrap round to the row's first filled bin
    first = nearest[:, :1]
    holes = np.flatnonzero(flat_empty)
    borrowed = sig.ravel()[np.where(wrapped, first, nearest).ravel()[holes]]
    distance = (np.where(wrapped, first + BINS, nearest) - row_start - at[:BINS]).ravel()[holes].astype(np.uint32)
    out = sig.copy().ravel()
    out[holes] = _mix32(borrowed ^ (distance * np.uint32(0x632BE5AB)))
    return out.reshape(n, BINS)


def sketch(keys: Sequence[str]) -> np.ndarray:
    """MinHash sketches of many matching keys, (len(keys), BINS) uint32; empty keys must not be passed."""
    out = np.empty((len(keys), BINS), dtype=np.uint32)
    for s in range(0, len(keys), _SKETCH_CHUNK):
        out[s : s + _SKETCH_CHUNK] = _sketch_chunk(keys[s : s + _SKETCH_CHUNK])
    return out


def _band_keys(sig: np.ndarray) -> np.ndarray:
    """(BANDS, n) uint64: one hash per LSH band of each sketch (its ROWS bins read as 64-bit words). Equal bands give
    equal keys; unequal bands collide with probability 2^-64, which only adds a candidate the sketch check rejects."""
    n = sig.shape[0]
    words = np.ascontiguousarray(sig).view(np.uint64).reshape(n, BANDS, ROWS // 2)
    key = np.broadcast_to(np.arange(BANDS, dtype=np.uint64), (n, BANDS))
    for w in range(ROWS // 2):
        key = _mix64(key ^ words[:, :, w])
    return np.ascontiguousarray(key.T)


def _band_pairs(key: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that share one band's key: in each bucket, every member with the first and with the one before it
    (members in index order)."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    heads = order[np.maximum.accumulate(np.where(np.r_[True, ~same], positions, 0))]
    members = order[1:][same]
    return np.concatenate([order[:-1][same], heads[1:][same]]), np.concatenate([members, members])


def _distinct_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs as (low, high) index pairs, each once, none with itself."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    code = lo[lo != hi].astype(np.int64) * n + hi[lo != hi]
    if len(code) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code.sort()  # then drop repeats (np.unique's hash path took 1.3 s on 3·10^6 pairs here; sorting takes 0.1 s)
    code = code[np.r_[True, code[1:] != code[:-1]]]
    return code // n, code % n


def _candidates(sig: np.ndarray, bands: Sequence[int] = range(BANDS)) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that share an LSH band: in each bucket, every member with the first and with the one before it."""
    n = sig.shape[0]
    keys, positions = _band_keys(sig), np.arange(n)
    pairs = [_band_pairs(keys[band], positions) for band in bands]
    return _distinct_pairs(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]), n)


def _similar(sig: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Which candidate pairs the sketches estimate at or above the Jaccard threshold (at least `need` equal bins).

    Most candidates are far below it: a pair with more than BINS − need unequal bins among the first half is
    rejected there without reading the second half (the same answer, half the memory traffic for those)."""
    need = int(np.ceil(threshold * BINS))
    low = sig.astype(np.uint16)  # 16 bits of each bin decide agreement: half the memory traffic, 1/65536 chance error
    half = BINS // 2
    keep = np.zeros(len(a), dtype=bool)
    step = 50_000
    for s in range(0, len(a), step):
        sa, sb = a[s : s + step], b[s : s + step]
        first = (low[sa, :half] == low[sb, :half]).sum(axis=1)
        alive = np.flatnonzero(first >= need - (BINS - half))
        second = (low[sa[alive], half:] == low[sb[alive], half:]).sum(axis=1)
        keep[s + alive] = first[alive] + second >= need
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
    a, b = similar_pairs(sketch([keys[i] for i in present.tolist()]), threshold=threshold)
    return present[a], present[b]


def similar_pairs(
    sig: np.ndarray, bands: Sequence[int] = range(BANDS), *, threshold: float = THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j, each once, in order) of `sketch`es that share one of `bands` and whose sketches estimate
    their Jaccard at or above the threshold. The pairs of all bands are the union of those of any split of them."""
    a, b = _candidates(sig, bands)
    if len(a):
        keep = _similar(sig, a, b, threshold)
        a, b = a[keep], b[keep]
    return a, b


def near_duplicate_roots(keys: Sequence[str], *, threshold: float = THRESHOLD) -> np.ndarray:
    """For each matching key, the index of the first key of its near-duplicate cluster (the connected components
    of `near_duplicate_pairs`)."""
    a, b = near_duplicate_pairs(keys, threshold=threshold)
    return _components(len(keys), a, b)

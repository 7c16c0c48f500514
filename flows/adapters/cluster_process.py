"""A comments file's matching keys and near-duplicate clusters worked out in a second process, on the other core, while
the importing process validates, hashes and stores the rows (threads did not overlap here: the GIL).

The child reads the file itself (`python -m flows.adapters.cluster_process KIND PATH`), takes each row's text as
`read_rows` keeps it (or a canonically equivalent one: the same key), and answers with the file's sha256, each row's
distinct-key number, each distinct key's sha256 (the `norm_hash`) and what `near_duplicate_roots` of the distinct keys
(in order of first appearance) needs: the same functions the importing process would run, on the same keys. The LSH
bands are shared out: as soon as the child has the sketches it sends what the second half of the bands needs (their
band keys and the bins' low 16 bits, `checked_pairs`) and checks the first half's candidate pairs while the parent,
done with its own work by then, checks the second half; the clusters are the connected components of both halves'
similar pairs (the same pairs as all bands' at once). The parent uses the answer only when the file's sha256 and row count
are those it read and validated itself (a file rewritten in between is worked out in-process instead).
"""

from __future__ import annotations

import gc
import hashlib
import os
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

_HEADER = struct.Struct("<32sqqq")  # file sha256, rows, distinct keys, 1 when the bands are shared out
_COUNT = struct.Struct("<q")
_ROOT = Path(__file__).resolve().parents[2]
# The child's environment: glibc's allocator takes large blocks (numpy's temporaries) from the heap rather than a fresh
# mmap each and keeps freed memory for the next (a short-lived batch: fewer page faults; other C libraries ignore
# it); and numpy's OpenBLAS starts no thread pool (no matrix algebra here; its threads cost 0.05–0.08 CPU s at import).
_CHILD_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_TOP_PAD_": str(64 << 20),
    "OPENBLAS_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class FileClusters:
    """What the child worked out for one file."""

    file_sha256: str
    codes: list[int]  # each row's distinct-key number
    norm_hashes: list[str]  # sha256 of each distinct matching key, in order of first appearance
    roots: np.ndarray  # near_duplicate_roots of the distinct keys, in that order


class ClusterProcess:
    """A running child for one file: `answer()` waits for it."""

    def __init__(self, kind: str, path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
        env.update(_CHILD_ENV)
        self._proc = subprocess.Popen(
            # -P: the working directory is not put first on the child's path (a `flows` folder there is not ours).
            [sys.executable, "-P", "-m", "flows.adapters.cluster_process", kind, str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )

    def answer(self) -> FileClusters:
        """The child's answer (this process checking its half of the bands meanwhile); RuntimeError with the child's
        error output when it failed."""
        from flows.adapters.similarity import BANDS, BINS, _components

        out = self._proc.stdout
        assert out is not None
        head = _read(out, _HEADER.size)
        if head is None:
            self._fail()
        digest, rows, distinct, shared = _HEADER.unpack(head)
        mine = None
        if shared:
            mine_bands = BANDS - BANDS // 2
            got = _read(out, (2 * BINS + 8 * mine_bands) * distinct)
            if got is None:
                self._fail()
            low = np.frombuffer(got, dtype="<u2", count=BINS * distinct).reshape(distinct, BINS)
            band_keys = np.frombuffer(got, dtype="<u8", offset=2 * BINS * distinct).reshape(mine_bands, distinct)
            mine = checked_pairs(band_keys, low)
        rest = out.read()
        self._proc.wait()
        if self._proc.returncode != 0:
            self._fail()
        at = 0
        codes = np.frombuffer(rest, dtype="<i4", count=rows, offset=at).tolist()
        at += 4 * rows
        hashes = rest[at : at + 32 * distinct]
        norm_hashes = [hashes[i : i + 32].hex() for i in range(0, len(hashes), 32)]
        at += 32 * distinct
        if mine is None:
            roots = np.frombuffer(rest, dtype="<i4", count=distinct, offset=at).astype(np.intp)
        else:
            (n,) = _COUNT.unpack_from(rest, at)
            at += _COUNT.size
            pairs = np.frombuffer(rest, dtype="<i4", count=2 * n, offset=at).astype(np.int64)
            roots = _components(distinct, np.concatenate([pairs[:n], mine[0]]), np.concatenate([pairs[n:], mine[1]]))
        return FileClusters(digest.hex(), codes, norm_hashes, roots)

    def _fail(self) -> NoReturn:
        self._proc.wait()
        err = self._proc.stderr.read() if self._proc.stderr is not None else b""
        raise RuntimeError(f"the clustering process failed (exit {self._proc.returncode}): {err.decode(errors='replace')}")

    def stop(self) -> None:
        """End the child (its answer is not wanted)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()


def _read(stream: IO[bytes], n: int) -> bytes | None:
    """Exactly `n` bytes, or None at an early end."""
    data = stream.read(n)
    return data if len(data) == n else None


KEYS_CHUNK = 4096  # texts a `matching_keys` call: its code point arrays stay small (0.22 → 0.11 s for 10^5 here)


def keys_in_chunks(texts: list[str]) -> list[str]:
    """`matching_keys(texts)`, a chunk of texts at a time (each text's key is its own)."""
    from flows.adapters.similarity import matching_keys

    keys: list[str] = []
    for start in range(0, len(texts), KEYS_CHUNK):
        keys += matching_keys(texts[start : start + KEYS_CHUNK])
    return keys


def texts_to_key(data: bytes, kind: str) -> list[str]:
    """The texts `read_rows` keeps from a valid file, for their matching keys only: `read_texts`, except that a JSON
    Lines text is not put in NFC first — its key is the same either way (the key starts with NFKC, which gives one
    answer for canonically equivalent texts), and the check was 0.05 s of 10^5 texts here."""
    from flows.adapters.comment_files import read_texts

    return read_texts(data, kind, nfc=kind not in (".jsonl", ".ndjson"))


def checked_pairs(band_keys: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`similar_pairs(sig, bands)` from what it works out of `sig`: the bands' keys (`_band_keys(sig)[bands]`) and
    the bins' low 16 bits (`sig.astype(np.uint16)`, all the sketch check reads). The child works both out once, for
    its bands and the parent's, and sends the parent its part: 29 MB instead of the 46 MB sketch for 10^5 texts."""
    from flows.adapters.similarity import THRESHOLD, _band_pairs, _distinct_pairs, _similar

    n = low.shape[0]
    positions = np.arange(n)
    pairs = [_band_pairs(key, positions) for key in band_keys]
    a, b = _distinct_pairs(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]), n)
    if len(a):
        keep = _similar(low, a, b, THRESHOLD)
        a, b = a[keep], b[keep]
    return a, b


def _main(kind: str, path: str) -> None:
    gc.disable()  # a short-lived batch: the collector only costs here
    from flows.adapters.similarity import BANDS, _band_keys, near_duplicate_roots, sketch

    data = Path(path).read_bytes()
    keys = keys_in_chunks(texts_to_key(data, kind))
    number = dict.fromkeys(keys)  # the distinct keys in order of first appearance; then each row's one by number
    distinct = list(number)
    number.update(zip(distinct, range(len(distinct))))
    codes = np.fromiter(map(number.__getitem__, keys), dtype="<i4", count=len(keys))
    del keys
    out = sys.stdout.buffer
    sha = hashlib.sha256
    shared = len(distinct) >= 2 and "" not in number  # else near_duplicate_roots' own way with empty keys, here
    out.write(_HEADER.pack(sha(data).digest(), len(codes), len(distinct), int(shared)))
    if shared:
        sig = sketch(distinct)
        band_keys = _band_keys(sig)
        low = sig.astype(np.uint16)
        del sig
        theirs = (np.ascontiguousarray(low, dtype="<u2"), np.ascontiguousarray(band_keys[BANDS // 2 :], dtype="<u8"))
        sending = threading.Thread(target=out.writelines, args=([x.data.cast("B") for x in theirs],))
        sending.start()  # the parent reads them when done with its own work
        a, b = checked_pairs(band_keys[: BANDS // 2], low)
    hashes = b"".join(sha(k.encode()).digest() for k in distinct)
    if shared:
        sending.join()
    out.write(codes.tobytes())
    out.write(hashes)
    if shared:
        out.write(_COUNT.pack(len(a)))
        out.write(a.astype("<i4").tobytes() + b.astype("<i4").tobytes())
    else:
        out.write(np.asarray(near_duplicate_roots(distinct), dtype="<i4").tobytes())
    out.flush()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])

"""A comments file's matching keys and near-duplicate clusters worked out in a second process, on the other core, while
the importing process validates, hashes and stores the rows (threads did not overlap here: the GIL).

The child reads the file itself (`python -m flows.adapters.cluster_process KIND PATH`), takes each row's text as
`read_rows` keeps it, and answers with the file's sha256, each row's distinct-key number, each distinct key's sha256
(the `norm_hash`) and `near_duplicate_roots` of the distinct keys in order of first appearance — the same functions
the importing process would run, on the same texts. The parent uses the answer only when the file's sha256 and row
count are those it read and validated itself (a file rewritten in between is worked out in-process instead).
"""

from __future__ import annotations

import gc
import hashlib
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_HEADER = struct.Struct("<32sqq")  # file sha256, rows, distinct keys
_ROOT = Path(__file__).resolve().parents[2]


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
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "flows.adapters.cluster_process", kind, str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )

    def answer(self) -> FileClusters:
        """The child's answer; RuntimeError with its error output when it failed."""
        out, err = self._proc.communicate()
        if self._proc.returncode != 0 or len(out) < _HEADER.size:
            raise RuntimeError(f"the clustering process failed (exit {self._proc.returncode}): {err.decode(errors='replace')}")
        digest, rows, distinct = _HEADER.unpack_from(out)
        at = _HEADER.size
        codes = np.frombuffer(out, dtype="<i4", count=rows, offset=at).tolist()
        at += 4 * rows
        roots = np.frombuffer(out, dtype="<i4", count=distinct, offset=at).astype(np.intp)
        at += 4 * distinct
        hashes = out[at : at + 32 * distinct]
        norm_hashes = [hashes[i : i + 32].hex() for i in range(0, len(hashes), 32)]
        return FileClusters(digest.hex(), codes, norm_hashes, roots)

    def stop(self) -> None:
        """End the child (its answer is not wanted)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()


def _main(kind: str, path: str) -> None:
    gc.disable()  # a short-lived batch: the collector only costs here
    from flows.adapters.comment_files import read_texts
    from flows.adapters.similarity import matching_keys, near_duplicate_roots

    data = Path(path).read_bytes()
    texts = read_texts(data, kind)
    number: dict[str, int] = {}
    codes = [number.setdefault(k, len(number)) for k in matching_keys(texts)]
    distinct = list(number)
    roots = near_duplicate_roots(distinct)
    sha = hashlib.sha256
    out = sys.stdout.buffer
    out.write(_HEADER.pack(sha(data).digest(), len(codes), len(distinct)))
    out.write(np.asarray(codes, dtype="<i4").tobytes())
    out.write(np.asarray(roots, dtype="<i4").tobytes())
    out.write(b"".join(sha(k.encode()).digest() for k in distinct))
    out.flush()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])

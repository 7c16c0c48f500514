"""How an import's rows are matched and clustered: each row's norm hash, the file's distinct keys, and cluster numbers
for new texts — worked out by a second process for a large first import (flows/adapters/cluster_process.py), by a
worker thread otherwise (flows/usecases/comments.py waits for them where it needs them)."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from flows.adapters.cluster_process import ClusterProcess
from flows.adapters.similarity import matching_keys, near_duplicate_roots
from models import comments as db
from models.canonical import sha256_hex

# Below this a second process costs more than it saves (its start-up, ≈ 0.1 s, against ≈ 10 µs a row clustered).
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


def cluster_process(source: Path, kind: str, limit: int) -> ClusterProcess | None:
    """A second process clustering `source`, for a regular file big enough to be worth it and not over the import's
    `limit` (never a pipe or a device, which a second reader would take the bytes from)."""
    try:
        st = source.stat()
    except OSError:
        return None  # read_bounded says why
    if not stat.S_ISREG(st.st_mode) or not PARALLEL_MIN_BYTES <= st.st_size <= limit:
        return None
    return ClusterProcess(kind, source)


@dataclass
class Matching:
    """Each row's norm hash; the distinct ones in order of first appearance; a row's matching key; and, for a first
    import, `near_duplicate_roots` of the distinct keys in that order, worked out early."""

    norm_hashes: list[str]
    distinct: list[str]
    key_of: Callable[[list[int]], list[str]]
    early: Callable[[], Any] | None

    @classmethod
    def from_keys(cls, keys: list[str], pool: ThreadPoolExecutor | None) -> Matching:
        """From each row's matching key; each distinct key hashed once and, given a pool (a first import), clustered
        there meanwhile."""
        distinct = list(dict.fromkeys(keys))
        early = pool.submit(near_duplicate_roots, distinct).result if pool is not None else None
        hash_of = {k: sha256_hex(k.encode()) for k in distinct}
        return cls([hash_of[k] for k in keys], [hash_of[k] for k in distinct], lambda rows: [keys[i] for i in rows], early)

    @classmethod
    def from_child(cls, child: ClusterProcess, file_sha256: str, texts: list[str]) -> Matching:
        """The second process's answer, when it read the same file (else the same worked out here)."""
        got = child.answer()
        if got.file_sha256 != file_sha256 or len(got.codes) != len(texts):  # the file changed in between
            return cls.from_keys(matching_keys(texts), None)
        distinct = got.norm_hashes
        return cls([distinct[c] for c in got.codes], distinct, lambda rows: matching_keys([texts[i] for i in rows]),
                   lambda: got.roots)


def assign_clusters(
    existing: list[db.DistinctText], fresh: list[tuple[str, str]], highest: int, roots: Any = None
) -> dict[str, int]:
    """Cluster numbers for new distinct texts: the (lowest) existing cluster they are near, else new numbers in order.

    Stored clusters never change (the table is append-only and dispositions name them), so a new text that bridges
    two earlier clusters joins the older one. `roots`, when given, are `near_duplicate_roots` of exactly the keys
    this would cluster (the existing texts' keys, then the fresh ones), worked out beforehand.
    """
    if roots is None:
        roots = near_duplicate_roots(matching_keys([d.text for d in existing]) + [k for _, k in fresh])
    at = np.arange(len(roots))
    if not existing and bool(np.all(roots <= at)) and bool(np.all(roots[roots] == roots)):
        # Each root is the first index of its cluster, so the clusters are numbered in the order of their roots: the
        # loop below, at once.
        numbers = highest + np.cumsum(roots == at)
        return dict(zip([h for h, _ in fresh], numbers[roots].tolist()))
    roots = roots.tolist()
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

"""A Merkle tree over the whole event history, exactly as RFC 9162 (Certificate Transparency v2) section 2.1 defines it.

Hashing (RFC 9162 section 2.1.1), with SHA-256:

- the hash of an empty list is ``MTH({}) = SHA-256()`` (the hash of the empty string, `EMPTY_ROOT`);
- a leaf hash is ``SHA-256(0x00 ‖ leaf)``;
- an interior node is ``SHA-256(0x01 ‖ left ‖ right)``, where for ``n > 1`` leaves the tree splits at ``k``, the
  largest power of two smaller than ``n``: ``MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))``.

The trees, inclusion proofs (section 2.1.3) and consistency proofs (section 2.1.4) are byte-for-byte those of RFC 6962
/ RFC 9162 logs; `tests/test_merkle.py` checks them against the known answers published with the reference
implementations (transparency-dev/merkle, google/certificate-transparency).

What the leaves are, for juece
------------------------------
Leaf ``i`` is the ``i``-th stored event in global order (ascending ``position``, counting from 0; positions may have
gaps, the leaf index never does), and the leaf *data* is that event's 32-byte chain hash,
``bytes.fromhex(StoredEvent.hash)`` — so the leaf hash is ``SHA-256(0x00 ‖ chain hash)``. The chain hash already
commits to the event's canonical bytes and, through ``prev_hash``, to everything before it in its stream; the tree
adds what the chain cannot see: how many events there were and in which global order (a truncated tail, a stream
rewritten from scratch). Note that the tree commits to the stored ``hash`` column: that the bodies still match those
hashes is the chain check's job (`models.integrity.verify_stream`); a verifier runs both.

Everything here is pure (no I/O, no database): `root` / `root_from_leaf_hashes` take the whole list, `TreeBuilder`
takes the leaves one at a time in O(log n) memory, so a verifier can stream 10^6 events without holding them.
Verification functions return ``False`` on any malformed input rather than raising.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) — e3b0c442…

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d)."""
    return _sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def event_leaf_data(event: Any) -> bytes:
    """The leaf data of a stored event (anything with a hex ``hash`` attribute): its 32-byte chain hash."""
    data = bytes.fromhex(event.hash)
    if len(data) != HASH_SIZE:
        raise ValueError(f"event hash is {len(data)} bytes, not {HASH_SIZE}")
    return data


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a list whose leaf hashes are given.

    Level by level: pair neighbours, and carry an unpaired last node up unchanged. That is the same tree as the RFC's
    recursive split at the largest power of two (the left subtree is always perfect), computed without recursion.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    sha = _sha256
    prefix = NODE_PREFIX
    while len(level) > 1:
        carry = level[-1] if len(level) & 1 else None
        level = [sha(prefix + a + b).digest() for a, b in zip(level[0::2], level[1::2])]
        if carry is not None:
            level.append(carry)
    return level[0]


def leaf_hashes(leaves: Iterable[bytes]) -> list[bytes]:
    """The leaf hashes of a list of leaf data."""
    sha = _sha256
    prefix = LEAF_PREFIX
    return [sha(prefix + d).digest() for d in leaves]


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of a list of leaf *data* (RFC 9162 section 2.1.1)."""
    return root_from_leaf_hashes(leaf_hashes(leaves))


# --- inclusion (RFC 9162 section 2.1.3) -------------------------------------------------------------------------


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of all of `leaf_hashes` (n = its length).

    Ordered from the leaf's sibling up to the child of the root, as RFC 9162 section 2.1.3.1 gives it. For an older
    tree size, pass ``leaf_hashes[:size]``. O(n) hashing.
    """
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of {n} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, n, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(root_from_leaf_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_from_leaf_hashes(leaf_hashes[lo : lo + k]))
            lo += k
            m -= k
    path.reverse()  # PATH is built inside-out: the innermost sibling comes first
    return path


def _is_hash(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def root_from_inclusion_proof(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root that `proof` implies for `leaf_hash` at `index` (RFC 9162 section 2.1.3.2 steps 1-5), or None when
    the proof cannot be valid for that index and size."""
    if not (isinstance(index, int) and isinstance(tree_size, int)) or isinstance(index, bool) or isinstance(tree_size, bool):
        return None
    if not 0 <= index < tree_size or not _is_hash(leaf_hash):
        return None
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if not _is_hash(p) or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(bytes(p), r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, bytes(p))
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True when `proof` shows that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves whose hash is
    `root` (RFC 9162 section 2.1.3.2)."""
    got = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    return got is not None and _is_hash(root) and got == bytes(root)


# --- consistency (RFC 9162 section 2.1.4) -----------------------------------------------------------------------


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first `old_size` leaves is a prefix of the tree of all of `leaf_hashes`.

    Empty when ``old_size`` is 0 or equal to n (RFC 9162 section 2.1.4.1). O(n) hashing.
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    path: list[bytes] = []
    lo, hi, m, whole = 0, n, old_size, True  # SUBPROOF(m, D[lo:hi], whole)
    while True:
        size = hi - lo
        if m == size:
            if not whole:
                path.append(root_from_leaf_hashes(leaf_hashes[lo:hi]))
            break
        k = _split(size)
        if m <= k:
            path.append(root_from_leaf_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_from_leaf_hashes(leaf_hashes[lo : lo + k]))
            lo += k
            m -= k
            whole = False
    path.reverse()
    return path


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True when `proof` shows that the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`).

    RFC 9162 section 2.1.4.2 for ``0 < old_size < new_size``. At the edges this is strict: equal sizes need equal
    roots and an empty proof; an old size of 0 needs the empty-tree root and an empty proof.
    """
    for v in (old_size, new_size):
        if not isinstance(v, int) or isinstance(v, bool):
            return False
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    old_root, new_root = bytes(old_root), bytes(new_root)
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if old_size == 0:
        return len(proof) == 0 and old_root == EMPTY_ROOT
    path = list(proof)
    if not path or not all(_is_hash(p) for p in path):
        return False
    path = [bytes(p) for p in path]
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old tree is itself a node of the new one
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# --- streaming ------------------------------------------------------------------------------------------------


class TreeBuilder:
    """Append leaf hashes one at a time; O(log n) state; the root at any size.

    The state is the list of roots of the perfect subtrees that make up the tree so far, largest (leftmost) first —
    one per set bit of the size (a "compact range" over [0, size)). `peaks` and `from_peaks` let a verifier save it
    and resume later without the leaves.
    """

    __slots__ = ("_size", "_peaks")

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[bytes]) -> "TreeBuilder":
        """Resume from a saved (size, peaks) pair."""
        if size < 0 or len(peaks) != bin(size).count("1") or not all(_is_hash(p) for p in peaks):
            raise ValueError("the peaks do not describe a tree of that size")
        b = cls()
        b._size = size
        b._peaks = [bytes(p) for p in peaks]
        return b

    @property
    def size(self) -> int:
        """How many leaves have been appended."""
        return self._size

    def __len__(self) -> int:
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, leftmost first (len = number of set bits of the size)."""
        return tuple(self._peaks)

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf by its leaf hash."""
        peaks = self._peaks
        h = bytes(leaf_hash)
        if len(h) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        n = self._size
        sha = _sha256
        while n & 1:
            h = sha(NODE_PREFIX + peaks.pop() + h).digest()
            n >>= 1
        peaks.append(h)
        self._size += 1

    def append_leaf(self, data: bytes) -> None:
        """Append one leaf by its data."""
        self.append(leaf_hash(data))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaves by their leaf hashes."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for p in reversed(self._peaks[:-1]):
            r = node_hash(p, r)
        return r


def root_of_events(events: Iterable[Any]) -> tuple[int, bytes, str | None]:
    """(tree size, root, head hash) over stored events given in global (position) order, streamed.

    The head hash is the hex chain hash of the last event (None for no events).
    """
    b = TreeBuilder()
    head = None
    sha = _sha256
    for ev in events:
        b.append(sha(LEAF_PREFIX + event_leaf_data(ev)).digest())
        head = ev.hash
    return b.size, b.root(), head

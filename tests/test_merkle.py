"""models/merkle.py against the published RFC 6962 / RFC 9162 known answers, a naive transcription of the RFC's
recursive definitions, and Hypothesis properties.

Known answers (copied verbatim, hex) from:

- transparency-dev/merkle, ``testonly/constants.go``: the 8 leaf inputs, the node hashes of the complete subtrees of
  the 8-leaf tree (level, index), and the root of every prefix (sizes 0..8);
- transparency-dev/merkle, ``proof/verify_test.go``: inclusion proofs (leaf, size, path) and consistency proofs
  (size1, size2, path) for those leaves, and the corruption probes a verifier must reject;
- transparency-dev/merkle, ``proof/proof_test.go``: which nodes make up an inclusion / consistency proof
  (``compact.NodeID(level, index)``, with a "rehash" range), for the tree sizes within those 8 leaves;
- transparency-dev/merkle, ``rfc6962/rfc6962_test.go``: the empty root, empty-leaf, leaf and node hashes;
- google/certificate-transparency, ``python/ct/crypto/merkle_test.py``: leaf / node hashes, the consistency proofs
  "lifted from the C++ branch", and an inclusion proof taken from a real CT log (leaf 848049 of 3,630,887).
"""

from __future__ import annotations

import hashlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import merkle
from models.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# --- transparency-dev/merkle testonly/constants.go ---------------------------------------------------------------

LEAF_INPUTS = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                              "606162636465666768696a6b6c6d6e6f")]

# NodeHashes(): [level][index] of every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
     h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
     h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
     h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
     h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
     h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
     h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
     h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")],
    [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
     h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
     h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
     h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")],
    [h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
     h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# RootHashes(): the root of the first n leaves, n = 0..8.
ROOT_HASHES = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# --- transparency-dev/merkle proof/verify_test.go ----------------------------------------------------------------
# inclusionProofs: (leaf, size, proof) with a 1-based leaf number, as in the Go test (it verifies index leaf-1).
INCLUSION_PROOFS = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (2, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
# consistencyProofs: (size1, size2, proof).
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")  # sha256SomeHash

# --- transparency-dev/merkle proof/proof_test.go (TestInclusion, TestConsistency), sizes within the 8 leaves ------
# (size, index) -> node ids (level, index) and an optional rehash range [begin, end): those nodes are folded into
# one, later ones on the left (Nodes.Rehash: hash = HashChildren(h[i], hash)).
INCLUSION_NODES = {
    (1, 0): ([], None),
    (2, 0): ([(0, 1)], None),
    (2, 1): ([(0, 0)], None),
    (3, 1): ([(0, 0), (0, 2)], None),
    (7, 0): ([(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 1): ([(0, 0), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 2): ([(0, 3), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 3): ([(0, 2), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 4): ([(0, 5), (0, 6), (2, 0)], None),
    (7, 5): ([(0, 4), (0, 6), (2, 0)], None),
    (7, 6): ([(1, 2), (2, 0)], None),
    (4, 2): ([(0, 3), (1, 0)], None),
    (5, 3): ([(0, 2), (1, 0), (0, 4)], None),
    (6, 3): ([(0, 2), (1, 0), (1, 2)], None),
    (6, 4): ([(0, 5), (2, 0)], None),
}
CONSISTENCY_NODES = {
    (1, 2): ([(0, 1)], None),
    (1, 4): ([(0, 1), (1, 1)], None),
    (1, 6): ([(0, 1), (1, 1), (1, 2)], None),
    (2, 3): ([(0, 2)], None),
    (2, 8): ([(1, 1), (2, 1)], None),
    (3, 7): ([(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)], (3, 5)),
    (4, 7): ([(0, 6), (1, 2)], (0, 2)),
    (5, 7): ([(0, 4), (0, 5), (0, 6), (2, 0)], None),
    (6, 7): ([(1, 2), (0, 6), (2, 0)], None),
    (7, 8): ([(0, 6), (0, 7), (1, 2), (2, 0)], None),
    (1, 1): ([], None), (2, 2): ([], None), (3, 3): ([], None), (4, 4): ([], None),
    (5, 5): ([], None), (7, 7): ([], None), (8, 8): ([], None),
    (2, 4): ([(1, 1)], None),
    (3, 5): ([(0, 2), (0, 3), (1, 0), (0, 4)], None),
    (3, 6): ([(0, 2), (0, 3), (1, 0), (1, 2)], None),
    (4, 6): ([(1, 2)], None),
    (1, 7): ([(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
}

# --- transparency-dev/merkle rfc6962/rfc6962_test.go -------------------------------------------------------------
RFC6962_HASHER = [
    ("empty root", EMPTY_ROOT, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("empty leaf", leaf_hash(b""), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    ("leaf", leaf_hash(b"L123456"), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"),
    ("node", node_hash(b"N123", b"N456"), "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"),
]

# --- google/certificate-transparency python/ct/crypto/merkle_test.py ---------------------------------------------
CT_LEAVES = [("", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
             ("101112131415161718191a1b1c1d1e1f", "3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a")]
CT_NODES = [("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
             "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
             "1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57")]
# MerkleVerifierTest.sha256_proofs: (old size, new size, old root, new root, proof), "lifted from the C++ branch".
CT_CONSISTENCY = [
    (1, 1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", []),
    (1, 8, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
     ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
     "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
     ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
     ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
# An audit path from a real CT log (MerkleVerifierTest: leaf_hash, leaf_index, tree_size, expected_root_hash).
CT_AUDIT_PATH = [h(x) for x in (
    "1a208aeebcd1b39fe2de247ee8db9454e1e93a312d206b87f6ca9cc6ec6f1ddd",
    "0a1b78b383f580856f433c01a5741e160d451c185910027f6cc9f828687a40c4",
    "3d1745789bc63f2da15850de1c12a5bf46ed81e1cc90f086148b1662e79aab3d",
    "9095b61e14d8990acf390905621e62b1714fb8e399fbb71de5510e0aef45affe",
    "0a332b91b8fab564e6afd1dd452449e04619b18accc0ff9aa8393cd4928451f2",
    "2336f0181d264aed6d8f3a6507ca14a8d3b3c3a23791ac263e845d208c1ee330",
    "b4ce56e300590500360c146c6452edbede25d4ed83919278749ee5dbe178e048",
    "933f6ddc848ea562e4f9c5cfb5f176941301dad0c6fdb9d1fbbe34fac1be6966",
    "b95a6222958a86f74c030be27c44f57dbe313e5e7c7f4ffb98bcbd3a03bb52f2",
    "daeeb3ce5923defd0faeb8e0c210b753b85b809445d7d3d3cd537a9aabaa9c45",
    "7fadd0a13e9138a2aa6c3fdec4e2275af233b94812784f66bcca9aa8e989f2bc",
    "1864e6ba3e32878610546539734fb5eeae2529991f130c575c73a7e25a2a7c56",
    "12842d1202b1dc6828a17ab253c02e7ce9409b5192430feba44189f39cc02d66",
    "29af64b16fa3053c13d02ac63aa75b23aa468506e44c3a2315edc85d2dc22b11",
    "b527b99934a0bd9edd154e449b0502e2c499bba783f3bc3dfe23364b6b532009",
    "4584db8ae8e351ace08e01f306378a92bfd43611714814f3d834a2842d69faa8",
    "86a9a41573b0d6e4292f01e93243d6cc65b30f06606fc6fa57390e7e90ed580f",
    "a88b98fbe84d4c6aae8db9d1605dfac059d9f03fe0fcb0d5dff1295dacba09e6",
    "06326dc617a6d1f7021dc536026dbfd5fffc6f7c5531d48ef6ccd1ed1569f2a1",
    "f41fe8fdc3a2e4e8345e30216e7ebecffee26ff266eeced208a6c2a3cf08f960",
    "40cf5bde8abb76983f3e98ba97aa36240402975674e120f234b3448911090f8d",
    "b3222dc8658538079883d980d7fdc2bef9285344ea34338968f736b04aeb387a",
)]
CT_LEAF_HASH = h("7a395c866d5ecdb0cccb623e011dbc392cd348d1d1d72776174e127a24b09c78")
CT_LEAF_INDEX = 848049
CT_TREE_SIZE = 3630887
CT_ROOT = h("78316a05c9bcf14a3a4548f5b854a9adfcd46a4c034401b3ce7eb7ac2f1d0ecb")


LEAF_HASHES = [leaf_hash(d) for d in LEAF_INPUTS]


def nodes_to_hashes(ids: list[tuple[int, int]], rehash: tuple[int, int] | None) -> list[bytes]:
    hashes = [NODE_HASHES[level][index] for level, index in ids]
    if rehash is None:
        return hashes
    begin, end = rehash
    folded = hashes[begin]
    for x in hashes[begin + 1 : end]:
        folded = node_hash(x, folded)
    return hashes[:begin] + [folded] + hashes[end:]


# --- a naive transcription of RFC 9162 section 2.1, recursive, as a reference ------------------------------------


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def flip(b: bytes, bit: int = 3) -> bytes:
    return bytes([b[0] ^ (1 << bit)]) + b[1:]


# --- known answers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("what,got,want", RFC6962_HASHER, ids=[x[0] for x in RFC6962_HASHER])
def test_rfc6962_hasher_known_answers(what: str, got: bytes, want: str) -> None:
    assert got.hex() == want


def test_ct_hasher_known_answers() -> None:
    for data, want in CT_LEAVES:
        assert leaf_hash(h(data)).hex() == want
    for left, right, want in CT_NODES:
        assert node_hash(h(left), h(right)).hex() == want


def test_leaf_hashes_are_the_published_level_zero() -> None:
    assert LEAF_HASHES == NODE_HASHES[0]


@pytest.mark.parametrize("size", range(0, 9))
def test_roots_of_every_prefix(size: int) -> None:
    assert root(LEAF_INPUTS[:size]) == ROOT_HASHES[size]
    assert root_from_leaf_hashes(LEAF_HASHES[:size]) == ROOT_HASHES[size]
    b = TreeBuilder()
    b.extend(LEAF_HASHES[:size])
    assert b.root() == ROOT_HASHES[size]


def test_complete_subtrees_match_published_node_hashes() -> None:
    for level, row in enumerate(NODE_HASHES):
        width = 1 << level
        for index, want in enumerate(row):
            assert root_from_leaf_hashes(LEAF_HASHES[index * width : (index + 1) * width]) == want


def test_builder_peaks_are_the_published_compact_trees() -> None:
    # testonly/constants.go CompactTrees(): the perfect-subtree roots of each prefix, leftmost first.
    nh = NODE_HASHES
    compact = [[], [nh[0][0]], [nh[1][0]], [nh[1][0], nh[0][2]], [nh[2][0]], [nh[2][0], nh[0][4]],
               [nh[2][0], nh[1][2]], [nh[2][0], nh[1][2], nh[0][6]], [nh[3][0]]]
    b = TreeBuilder()
    assert list(b.peaks) == compact[0]
    for size in range(1, 9):
        b.append(LEAF_HASHES[size - 1])
        assert list(b.peaks) == compact[size]


@pytest.mark.parametrize("leaf,size,proof", INCLUSION_PROOFS)
def test_published_inclusion_proofs(leaf: int, size: int, proof: list[bytes]) -> None:
    index = leaf - 1
    assert inclusion_proof(index, LEAF_HASHES[:size]) == proof
    assert root_from_inclusion_proof(LEAF_HASHES[index], index, size, proof) == ROOT_HASHES[size]
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOT_HASHES[size])


@pytest.mark.parametrize("leaf,size,proof", [p for p in INCLUSION_PROOFS if p[1] > 1])
def test_published_inclusion_corruptions_fail(leaf: int, size: int, proof: list[bytes]) -> None:
    """The probes of verify_test.go corruptInclusionProof: every one must fail."""
    i, lh, r = leaf - 1, LEAF_HASHES[leaf - 1], ROOT_HASHES[size]
    probes = [
        (i - 1, size, r, lh, proof), (i + 1, size, r, lh, proof), (i ^ 2, size, r, lh, proof),
        (i, size * 2, r, lh, proof), (i, size // 2, r, lh, proof),
        (i, size, r, b"WrongLeaf", proof), (i, size, EMPTY_ROOT, lh, proof), (i, size, SOME_HASH, lh, proof),
        (i, size, r, lh, proof + [b""]), (i, size, r, lh, proof + [r]),
        (i, size, r, lh, [b""] + proof), (i, size, r, lh, [r] + proof),
    ]
    probes += [(i, size, r, lh, proof[:k] + [flip(proof[k])] + proof[k + 1 :]) for k in range(len(proof))]
    if proof:
        probes.append((i, size, r, lh, proof[:-1]))
    if len(proof) > 1:
        probes.append((i, size, r, lh, [proof[0], SOME_HASH] + proof[1:]))
    for index, tree_size, rt, leaf_h, p in probes:
        assert not verify_inclusion(leaf_h, index, tree_size, p, rt), (index, tree_size)


@pytest.mark.parametrize("size1,size2,proof", CONSISTENCY_PROOFS)
def test_published_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == proof
    assert verify_consistency(size1, size2, ROOT_HASHES[size1], ROOT_HASHES[size2], proof)


@pytest.mark.parametrize("size1,size2,proof", [p for p in CONSISTENCY_PROOFS if p[2]])
def test_published_consistency_corruptions_fail(size1: int, size2: int, proof: list[bytes]) -> None:
    """The probes of verify_test.go corruptConsistencyProof: every one must fail."""
    r1, r2 = ROOT_HASHES[size1], ROOT_HASHES[size2]
    probes = [
        (size1 - 1, size2, r1, r2, proof), (size1 + 1, size2, r1, r2, proof), (size1 ^ 2, size2, r1, r2, proof),
        (size1, size2 * 2, r1, r2, proof), (size1, size2 // 2, r1, r2, proof),
        (size1, size2, b"WrongRoot", r2, proof), (size1, size2, r1, b"WrongRoot", proof), (size1, size2, r2, r1, proof),
        (size1, size2, r1, r2, []),
        (size1, size2, r1, r2, proof + [b""]), (size1, size2, r1, r2, proof + [r1]), (size1, size2, r1, r2, proof + [r2]),
        (size1, size2, r1, r2, [b""] + proof), (size1, size2, r1, r2, [r1] + proof), (size1, size2, r1, r2, [r2] + proof),
        (size1, size2, r1, r2, [proof[0]] + proof),
        (size1, size2, r1, r2, proof[:-1]),
    ]
    probes += [(size1, size2, r1, r2, proof[:k] + [flip(proof[k], 4)] + proof[k + 1 :]) for k in range(len(proof))]
    for s1, s2, a, b, p in probes:
        assert not verify_consistency(s1, s2, a, b, p), (s1, s2)


@pytest.mark.parametrize("size,index", sorted(INCLUSION_NODES))
def test_inclusion_proofs_are_the_published_nodes(size: int, index: int) -> None:
    ids, rehash = INCLUSION_NODES[(size, index)]
    want = nodes_to_hashes(ids, rehash)
    assert inclusion_proof(index, LEAF_HASHES[:size]) == want
    assert verify_inclusion(LEAF_HASHES[index], index, size, want, ROOT_HASHES[size])


@pytest.mark.parametrize("size1,size2", sorted(CONSISTENCY_NODES))
def test_consistency_proofs_are_the_published_nodes(size1: int, size2: int) -> None:
    ids, rehash = CONSISTENCY_NODES[(size1, size2)]
    want = nodes_to_hashes(ids, rehash)
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == want
    assert verify_consistency(size1, size2, ROOT_HASHES[size1], ROOT_HASHES[size2], want)


@pytest.mark.parametrize("size1,size2,old,new,proof", CT_CONSISTENCY)
def test_ct_consistency_vectors(size1: int, size2: int, old: str, new: str, proof: list[str]) -> None:
    assert verify_consistency(size1, size2, h(old), h(new), [h(p) for p in proof])
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == [h(p) for p in proof]


def test_ct_consistency_rejections() -> None:
    # From the same file: a proof one node short, a flipped bit in the new root, in the old root, in both.
    old6, new8 = h(CT_CONSISTENCY[2][2]), h(CT_CONSISTENCY[2][3])
    proof = [h(p) for p in CT_CONSISTENCY[2][4]]
    assert not verify_consistency(6, 8, old6, new8, proof[:2])
    assert not verify_consistency(6, 8, old6, flip(new8[::-1])[::-1], proof)
    bad_old = old6[:-1] + bytes([old6[-1] ^ 1])
    bad_new = new8[:-1] + bytes([new8[-1] ^ 1])
    assert not verify_consistency(6, 8, old6, bad_new, proof)
    assert not verify_consistency(6, 8, bad_old, new8, proof)
    assert not verify_consistency(6, 8, bad_old, bad_new, proof)
    # a newer tree that is smaller
    assert not verify_consistency(5, 2, ROOT_HASHES[5], ROOT_HASHES[2], [h(p) for p in CT_CONSISTENCY[3][4]])


def test_inclusion_proof_from_a_real_ct_log() -> None:
    assert root_from_inclusion_proof(CT_LEAF_HASH, CT_LEAF_INDEX, CT_TREE_SIZE, CT_AUDIT_PATH) == CT_ROOT
    assert verify_inclusion(CT_LEAF_HASH, CT_LEAF_INDEX, CT_TREE_SIZE, CT_AUDIT_PATH, CT_ROOT)
    assert not verify_inclusion(CT_LEAF_HASH, CT_LEAF_INDEX, CT_TREE_SIZE, CT_AUDIT_PATH, bytes(32))
    assert not verify_inclusion(CT_LEAF_HASH, CT_LEAF_INDEX + 1, CT_TREE_SIZE, CT_AUDIT_PATH, CT_ROOT)
    # too short a proof for that index (merkle_test.py test_calculate_root_too_short_proof)
    too_far = CT_LEAF_INDEX + 2 ** (len(CT_AUDIT_PATH) + 1)
    assert not verify_inclusion(CT_LEAF_HASH, too_far, CT_TREE_SIZE, CT_AUDIT_PATH, CT_ROOT)


# --- edges ------------------------------------------------------------------------------------------------------


def test_edges() -> None:
    assert root([]) == EMPTY_ROOT == TreeBuilder().root()
    with pytest.raises(ValueError):
        inclusion_proof(0, [])
    with pytest.raises(ValueError):
        inclusion_proof(3, LEAF_HASHES[:3])
    with pytest.raises(ValueError):
        consistency_proof(4, LEAF_HASHES[:3])
    assert consistency_proof(0, LEAF_HASHES) == [] and consistency_proof(8, LEAF_HASHES) == []
    assert not verify_inclusion(LEAF_HASHES[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(LEAF_HASHES[0], -1, 1, [], LEAF_HASHES[0])
    assert verify_inclusion(LEAF_HASHES[0], 0, 1, [], LEAF_HASHES[0])  # a single leaf is its own root
    # equal sizes: equal roots and no proof; size 0: the empty root and no proof (stricter than the RFC's "always").
    assert verify_consistency(3, 3, ROOT_HASHES[3], ROOT_HASHES[3], [])
    assert not verify_consistency(3, 3, ROOT_HASHES[3], ROOT_HASHES[3], [ROOT_HASHES[3]])
    assert not verify_consistency(3, 3, ROOT_HASHES[2], ROOT_HASHES[3], [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOT_HASHES[5], [])
    assert not verify_consistency(0, 5, ROOT_HASHES[1], ROOT_HASHES[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOT_HASHES[5], [EMPTY_ROOT])
    assert not verify_consistency(1, 2, ROOT_HASHES[1], ROOT_HASHES[2], [])  # empty proof
    assert not verify_consistency(True, 2, ROOT_HASHES[1], ROOT_HASHES[2], [LEAF_HASHES[1]])  # bools are not sizes


def test_builder_resumes_from_peaks() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    b = TreeBuilder()
    b.extend(hashes[:123])
    resumed = TreeBuilder.from_peaks(b.size, b.peaks)
    resumed.extend(hashes[123:])
    assert len(resumed) == 300 and resumed.root() == root_from_leaf_hashes(hashes)
    with pytest.raises(ValueError):
        TreeBuilder.from_peaks(5, b.peaks)
    with pytest.raises(ValueError):
        b.append(b"short")


def test_root_of_events_uses_the_chain_hash_as_leaf_data() -> None:
    class Ev:
        def __init__(self, i: int) -> None:
            self.hash = hashlib.sha256(str(i).encode()).hexdigest()

    evs = [Ev(i) for i in range(11)]
    size, rt, head = merkle.root_of_events(evs)
    assert size == 11 and head == evs[-1].hash
    assert rt == root([bytes.fromhex(e.hash) for e in evs])
    assert merkle.root_of_events([]) == (0, EMPTY_ROOT, None)


# --- against the RFC's recursive definitions ---------------------------------------------------------------------


def test_matches_the_recursive_definitions_up_to_70() -> None:
    data = [i.to_bytes(2, "big") for i in range(70)]
    hashes = [leaf_hash(d) for d in data]
    b = TreeBuilder()
    for n in range(0, 71):
        assert root(data[:n]) == ref_mth(data[:n]) == b.root()
        for m in range(n):
            assert inclusion_proof(m, hashes[:n]) == ref_path(m, data[:n])
        for m in range(1, n + 1):
            assert consistency_proof(m, hashes[:n]) == ref_subproof(m, data[:n], True)
        if n < 70:
            b.append(hashes[n])


# --- Hypothesis properties ----------------------------------------------------------------------------------------

unique_leaves = lambda lo, hi: st.lists(st.binary(max_size=40), min_size=lo, max_size=hi, unique=True)  # noqa: E731


@settings(max_examples=60, deadline=None)
@given(unique_leaves(1, 64), st.data())
def test_every_inclusion_proof_verifies_and_wrong_inputs_fail(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    hashes = [leaf_hash(d) for d in leaves]
    rt = root(leaves)
    for i in range(n):
        proof = inclusion_proof(i, hashes)
        assert verify_inclusion(hashes[i], i, n, proof, rt)
        # a wrong leaf
        assert not verify_inclusion(leaf_hash(leaves[i] + b"x"), i, n, proof, rt)
        # a wrong index (leaves are distinct, so no other index can carry the same leaf)
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i) if n > 1 else st.just(n), label="j")
        assert not verify_inclusion(hashes[i], j, n, proof, rt)
        # a wrong root
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = bytearray(rt)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not verify_inclusion(hashes[i], i, n, proof, bytes(bad))


@settings(max_examples=10, deadline=None)
@given(unique_leaves(40, 40))
def test_consistency_between_every_pair_up_to_40(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in leaves]
    roots = [root_from_leaf_hashes(hashes[:n]) for n in range(41)]
    for new in range(0, 41):
        for old in range(0, new + 1):
            proof = consistency_proof(old, hashes[:new])
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)
            tampered = bytes([roots[old][0] ^ 0x80]) + roots[old][1:]
            assert not verify_consistency(old, new, tampered, roots[new], proof), (old, new)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=16), max_size=200))
def test_builder_agrees_with_batch_root_at_every_size(leaves: list[bytes]) -> None:
    b = TreeBuilder()
    hashes = [leaf_hash(d) for d in leaves]
    assert b.root() == EMPTY_ROOT
    for n, lh in enumerate(hashes, 1):
        b.append(lh)
        assert b.root() == root_from_leaf_hashes(hashes[:n])
        assert len(b.peaks) == bin(n).count("1")


# --- speed ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_leaves_in_a_few_seconds() -> None:
    data = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(10**6)]
    t = time.perf_counter()
    rt = root(data)
    batch = time.perf_counter() - t
    hashes = merkle.leaf_hashes(data)
    t = time.perf_counter()
    b = TreeBuilder()
    for x in hashes:
        b.append(x)
    streamed = time.perf_counter() - t
    print(f"\nroot over 10^6 leaves: batch {batch:.2f} s, streaming builder {streamed:.2f} s")
    assert b.root() == rt
    assert batch < 10 and streamed < 10

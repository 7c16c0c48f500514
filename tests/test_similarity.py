"""Near-duplicate matching (flows/adapters/similarity.py) against plain-Python references: the vectorised MinHash
sketch bin for bin, and the clusters as the connected components of the accepted pairs. The fast paths may change
how the work is done, never the answer."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from flows.adapters import similarity as sim

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1


def mix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def mix32(x: int) -> int:
    x = (x * 0x9E3779B1) & MASK32
    x = ((x ^ (x >> 16)) * 0x85EBCA6B) & MASK32
    return x ^ (x >> 13)


def reference_sketch(key: str) -> list[int]:
    """One-permutation MinHash of the key's character 3-grams (padded with 0 past the end), rotation-densified."""
    cps = [ord(c) for c in key]
    sig = [MASK32] * sim.BINS
    for p in range(max(len(cps) - 2, 1)):
        shingle = 0
        for k in range(3):
            shingle = (shingle << 21) | (cps[p + k] if p + k < len(cps) else 0)
        h = mix64(shingle)
        b, v = h >> 57, (h >> 25) & MASK32
        sig[b] = min(sig[b], v)
    filled = [j for j in range(sim.BINS) if sig[j] != MASK32]
    out = []
    for j in range(sim.BINS):
        if sig[j] != MASK32:
            out.append(sig[j])
            continue
        right = [k for k in filled if k >= j]
        k = right[0] if right else filled[0] + sim.BINS
        out.append(mix32(sig[k % sim.BINS] ^ (((k - j) * 0x632BE5AB) & MASK32)))
    return out


def random_keys(rng: random.Random, n: int) -> list[str]:
    alphabet = "我们希望补偿安置交通环境程序abcxyz0123\U00020000\U0001F642"
    keys = [
        "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 2, 3, 4, 9, 40, 150, 400)))) for _ in range(n)
    ]
    return keys + ["a", "ab", "abc", "a\x00b", "\x00", "🙂", "\U00020000\U00020001"]


def test_sketch_equals_the_plain_python_minhash_bin_for_bin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim, "_SKETCH_CHUNK", 37)  # many chunks, keys of every length at chunk edges
    keys = random_keys(random.Random(5), 300)
    got = sim.sketch(keys)
    assert got.shape == (len(keys), sim.BINS) and got.dtype == np.uint32
    for i, key in enumerate(keys):
        assert got[i].tolist() == reference_sketch(key), (i, key)


def union_find_roots(n: int, a: list[int], b: list[int]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a, b):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return [find(x) for x in range(n)]


def campaign_keys(rng: random.Random) -> list[str]:
    """Form letters with a changed word here and there, short opinions that repeat, empty keys."""
    words = [chr(0x4E00 + rng.randrange(3000)) for _ in range(400)]
    letters = ["".join(rng.choice(words) for _ in range(rng.choice((60, 120, 300)))) for _ in range(8)]
    keys = []
    for _ in range(3000):
        roll = rng.random()
        if roll < 0.5:
            text = list(rng.choice(letters))
            for _ in range(rng.randrange(0, 4)):
                text[rng.randrange(len(text))] = rng.choice(words)
            keys.append("".join(text))
        elif roll < 0.98:
            keys.append("".join(rng.choice(words) for _ in range(rng.randrange(1, 30))))
        else:
            keys.append("")
    return keys


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cluster_roots_are_the_components_of_the_accepted_pairs(seed: int) -> None:
    keys = campaign_keys(random.Random(seed))
    a, b = sim.near_duplicate_pairs(keys)
    assert len(a) > 1000  # the campaigns make many accepted pairs, so the clusters are not trivial
    expected = union_find_roots(len(keys), a.tolist(), b.tolist())
    got = sim.near_duplicate_roots(keys).tolist()
    assert got == expected
    assert max(Counter(got).values()) > 100 and len(set(got)) < len(keys) - 1000


def test_texts_with_nothing_in_common_stay_apart_and_equal_ones_join() -> None:
    assert sim.near_duplicate_roots(["我同意这个方案", "完全不一样的意见", "第三条意见"]).tolist() == [0, 1, 2]
    assert sim.near_duplicate_roots(["", "同一条意见同一条意见", "", "同一条意见同一条意见"]).tolist() == [0, 1, 2, 1]
    assert sim.near_duplicate_roots(["只有一条"]).tolist() == [0]

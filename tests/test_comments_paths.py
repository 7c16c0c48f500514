"""The ways a comments import can run store the same thing: the keys and clusters worked out by a second process
(a large first import) or in-process, and the rows written through plain sqlite3 or through SQLAlchemy — the same
rows, ids, clusters, digests and `comments-imported` record, on a real workspace."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import backend_workspace
from flows.adapters import cluster_process
from flows.adapters.comment_files import read_rows, read_texts
from flows.usecases import comment_clusters
from flows.usecases.clock import LOCAL
from flows.usecases.comments import COMMENTS_IMPORTED, import_comments
from models import comments as db
from models import store
from models.db import read_transaction
from policies.errors import BadInput
from support import CLERK, Driver
from test_comments import SENTENCES, campaign, row, write_csv, write_jsonl


def more_rows(seed: int, n: int) -> list[dict[str, Any]]:
    """`n` comments: copies of the test campaign and sentences combined, some exact repeats, some late."""
    rng = random.Random(seed)
    base = campaign()
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            r = dict(rng.choice(base))
        else:
            picked = rng.sample(SENTENCES, rng.randint(1, 3))
            r = row("。".join(picked) + "。", author=rng.choice(["", "市民", "河西社区居委会", f"个人{i}"]),
                    at=f"2025-{rng.choice(['09', '10'])}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00+08:00")
        out.append(r)
    return out


def stored(ws, case_id: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """The case's comment rows and its `comments-imported` payloads."""
    with read_transaction(ws.engine) as conn:
        rows = db.case_comment_rows(conn, case_id)
        events = store.load_stream(conn, case_id)
    return rows, [e.payload for e in events if e.type == COMMENTS_IMPORTED]


def run_imports(ws, files: list[Path]) -> tuple[list[dict[str, Any]], tuple[list[Any], list[dict[str, Any]]]]:
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.record("consultation-opened")
    results = [import_comments(ws, CLERK, case.case_id, f).to_json() for f in files]
    return results, stored(ws, case.case_id)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """A first file, the same file again, and a second file overlapping it (as JSON Lines and CSV)."""
    first = more_rows(1, 1500)
    second = first[700:] + more_rows(2, 800)
    return [write_jsonl(tmp_path / "first.jsonl", first), write_jsonl(tmp_path / "again.jsonl", first),
            write_csv(tmp_path / "second.csv", second)]


@pytest.mark.parametrize("driver", ["sqlite", "sqlite-sqlalchemy"])
def test_a_second_process_and_either_sqlite_driver_store_the_same_rows_clusters_and_records(
    driver, files, tmp_path, monkeypatch
):
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 1 << 40)  # the reference: all in-process
    reference = next(backend_workspace("sqlite", tmp_path / "in-process", monkeypatch))
    want = run_imports(reference, files)
    spawned: list[Any] = []
    monkeypatch.setattr(cluster_process.ClusterProcess, "answer", _counting(spawned))
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 0)  # every first import through the second process
    ws = next(backend_workspace(driver, tmp_path / "second-process", monkeypatch))
    got = run_imports(ws, files)
    assert len(spawned) == 1  # the first import only: the others cluster with the stored comments
    assert got == want
    results, (rows, payloads) = got
    assert results[1]["repeated"] and results[2]["new_rows"] > 0
    assert len(payloads) == 2 and len(rows) == results[-1]["received_total"]


def _counting(calls: list[Any]):  # type: ignore[no-untyped-def]
    answer = cluster_process.ClusterProcess.answer

    def counted(self):  # type: ignore[no-untyped-def]
        calls.append(self)
        return answer(self)

    return counted


def test_a_file_rewritten_after_the_second_process_read_it_is_clustered_from_what_was_validated(files, tmp_path, monkeypatch):
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 1 << 40)
    want = run_imports(next(backend_workspace("sqlite", tmp_path / "a", monkeypatch)), files[:1])
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 0)
    other = cluster_process.FileClusters("0" * 64, [0], ["0" * 64], np.zeros(1, dtype=np.intp))  # another file's answer
    monkeypatch.setattr(cluster_process.ClusterProcess, "answer", lambda self: other)
    assert run_imports(next(backend_workspace("sqlite", tmp_path / "b", monkeypatch)), files[:1]) == want


def test_when_the_second_process_fails_the_import_fails_and_stores_nothing(files, tmp_path, monkeypatch):
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cluster_process.sys, "executable", "/bin/false")
    ws = next(backend_workspace("sqlite", tmp_path / "ws", monkeypatch))
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.record("consultation-opened")
    with pytest.raises(RuntimeError, match="clustering process failed"):
        import_comments(ws, CLERK, case.case_id, files[0])
    assert stored(ws, case.case_id) == ([], [])


def test_a_bad_file_is_refused_whole_while_the_second_process_runs(files, tmp_path, monkeypatch):
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 0)
    bad = more_rows(3, 200)
    bad[150]["text"] = ""
    ws = next(backend_workspace("sqlite", tmp_path / "ws", monkeypatch))
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.record("consultation-opened")
    with pytest.raises(BadInput, match="line 151: text: empty"):
        import_comments(ws, CLERK, case.case_id, write_jsonl(tmp_path / "bad.jsonl", bad))
    assert stored(ws, case.case_id) == ([], [])


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(lambda t: not t.isspace())


def comment_file(folder: Path, texts: list[str], nfd: bool, blank: int, csv: bool) -> Path:
    """A comments file of these texts (in NFD when `nfd`): CSV (with a BOM when `nfd`), or JSON Lines with a blank line
    at `blank`."""
    rows = [row(unicodedata.normalize("NFD", t) if nfd else t, author="") for t in texts]
    if csv:
        return write_csv(folder / "c.csv", rows, bom=nfd)
    return write_jsonl(folder / "c.jsonl", rows, blank_at=min(blank, len(rows)))


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=20), nfd=st.booleans(), blank=st.integers(1, 20), csv=st.booleans())
def test_the_second_process_reads_the_texts_the_import_validates(texts, nfd, blank, csv, tmp_path_factory):
    path = comment_file(tmp_path_factory.mktemp("texts"), texts, nfd, blank, csv)
    data = path.read_bytes()
    assert read_texts(data, path.suffix) == read_rows(data, path.suffix, path.name, LOCAL).texts


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=60), st.integers(0, 500))
def test_new_clusters_are_numbered_in_the_order_of_their_first_text(edges, highest):
    """The first import's numbering (at once, from the roots) is the one the general loop gives: each cluster the
    next number when its first text comes."""
    from flows.adapters.similarity import _components

    n = 41
    a = np.asarray([min(e) for e in edges], dtype=np.int64)
    b = np.asarray([max(e) for e in edges], dtype=np.int64)
    roots = _components(n, a, b)
    fresh = [(f"h{i}", f"k{i}") for i in range(n)]
    got = comment_clusters.assign_clusters([], fresh, highest, roots)
    want: dict[str, int] = {}
    number_of: dict[int, int] = {}
    for i, r in enumerate(roots.tolist()):
        if r not in number_of:
            number_of[r] = highest + len(number_of) + 1
        want[f"h{i}"] = number_of[r]
    assert got == want


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
                min_size=1, max_size=25), st.integers(0, 2000))
def test_the_second_process_keys_a_chunk_at_a_time_as_matching_keys_does_all_at_once(texts, split):
    from flows.adapters.similarity import matching_key, matching_keys

    tricky = ["한국어", "e\u0301", "\u1100\u1161\u11a8", "ﬁ", "ß", "İ", "①②", "㈱", "ｶﾞ", "\u0f73", "😀！", "．．．"]
    batch = texts + tricky + [f"意见第{n}条，ＡＢＣ！{texts[n % len(texts)]}" for n in range(4100 + split)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cluster_process, "KEYS_CHUNK", 2048)  # chunks on the batch path and a last one on the exact
        assert cluster_process.keys_in_chunks(batch) == matching_keys(batch) == [matching_key(t) for t in batch]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)] * 4), max_size=20))
def test_the_row_hashes_of_many_rows_are_each_rows_row_hash(rows):
    columns = [list(c) for c in zip(*rows)] or [[], [], [], []]
    assert db.row_hash_list(*columns) == [db.row_hash(*r) for r in rows]


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=20), nfd=st.booleans(), blank=st.integers(1, 20), csv=st.booleans())
def test_the_second_process_keys_texts_the_import_validates_to_the_same_keys(texts, nfd, blank, csv, tmp_path_factory):
    from flows.adapters.similarity import matching_keys

    path = comment_file(tmp_path_factory.mktemp("keys"), texts, nfd, blank, csv)
    if not csv:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\n \t\r\n", 1))  # a line of white space too
    data = path.read_bytes()
    validated = read_rows(data, path.suffix, path.name, LOCAL).texts
    read = cluster_process.texts_to_key(data, path.suffix)
    assert len(read) == len(validated) and matching_keys(read) == matching_keys(validated)


@pytest.mark.parametrize("bands", [range(0, 8), range(8, 16), range(3, 11), range(16)])
def test_the_pairs_from_the_band_keys_and_low_bits_sent_are_those_of_the_sketches(bands):
    from flows.adapters.similarity import _band_keys, similar_pairs, sketch
    from test_comments import campaign

    rng = random.Random(5)
    texts = [r["text"] for r in campaign()] + ["。".join(rng.sample(SENTENCES, rng.randint(1, 4))) for _ in range(600)]
    sig = sketch(list(dict.fromkeys(texts)))
    got = cluster_process.checked_pairs(_band_keys(sig)[list(bands)], sig.astype(np.uint16))
    want = similar_pairs(sig, bands)
    assert len(want[0]) > 100 and all(np.array_equal(g, w) for g, w in zip(got, want))


def test_the_second_process_runs_this_code_whatever_folder_the_import_is_run_from(files, tmp_path, monkeypatch):
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 1 << 40)
    want = run_imports(next(backend_workspace("sqlite", tmp_path / "a", monkeypatch)), files[:1])
    fake = tmp_path / "cwd" / "flows" / "adapters"  # a `flows` package in the working folder: never imported
    fake.mkdir(parents=True)
    for folder in (fake.parent, fake):
        (folder / "__init__.py").write_text("")
    (fake / "cluster_process.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(comment_clusters, "PARALLEL_MIN_BYTES", 0)
    assert run_imports(next(backend_workspace("sqlite", tmp_path / "b", monkeypatch)), files[:1]) == want

"""The standing test of the command line (issue 12): generated argument vectors and files, as a careless user or an
attacker would type them, through the same `cli.main` — parsing, usage errors, error handling, exit codes — as the
`juece` executable.

Every run must end with an exit code from the contract (PRODUCT.md, "Exit codes") and never a Python traceback; with
`--json` among the arguments, stdout holds exactly one JSON object; a refusal changes no history (a rule's refusal may
add only the record of the refused attempt) and leaves no file behind. The commands and their options are read from
the command tree itself, so a new command is covered the day it is added.

A short profile runs by default; `--run-slow` runs the long one. Figures (argument vectors tried, by command) are in
bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from models.events import EVENT_TYPES, RECORDABLE
from support import MANDATORY_PATH, Driver, new_workspace
from test_cli import juece

# Commands that serve, wait on a network or start Prefect: not for a generated argument vector.
SKIPPED = {("web",), ("worker",), ("demo",), ("flow",), ("server", "start")}
CONTRACT_CODES = {0, 1, 2, 3, 4, 5, 6}
SECONDS_PER_RUN = 30  # a run still going by then is a hang (an unbounded read), which fails the test
TRIED: Counter[str] = Counter()  # argument vectors tried, by command (for bench/RESULTS.md)


@dataclass(frozen=True)
class Param:
    """One parameter of a command as the command tree declares it."""

    kind: str  # "option" or "argument"
    opts: tuple[str, ...]
    word: str  # what it takes: CASE, EVENT, FILE, DATETIME, N, TEXT, … ("" for a flag)
    flag: bool
    required: bool
    many: bool


def _commands() -> list[tuple[tuple[str, ...], tuple[Param, ...]]]:
    import typer.core
    from typer.main import get_command

    found = []

    def walk(group: Any, path: tuple[str, ...]) -> None:
        for name, sub in group.commands.items():
            here = (*path, name)
            if any(here[: len(s)] == s for s in SKIPPED):
                continue
            if isinstance(sub, typer.core.TyperGroup):
                walk(sub, here)
                continue
            params = []
            for p in sub.params:
                word = (p.metavar or p.name.upper()) if p.param_type_name == "argument" else (
                    "" if p.is_flag else (p.metavar or ("N" if (p.bare_type() if hasattr(p, "bare_type") else p.type.name) in ("int", "float", "integer") else "TEXT")))
                params.append(Param(p.param_type_name, tuple(p.opts), word.strip("[].").upper(), bool(p.is_flag)
                                    if p.param_type_name == "option" else False, bool(p.required),
                                    bool(getattr(p, "multiple", False)) or p.nargs == -1))
            found.append((here, tuple(params)))

    walk(get_command(cli.app), ())
    return found


COMMANDS = _commands()


# --- the values a careless user or an attacker types ------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    # not "--json" or "--": as a value they would hide the flag this test checks the output of
    st.sampled_from(["", " ", "-", "-x", "[red]x[/red]", "公开标题[white on white]隐藏[/]", ":cross_mark:",
                     "\udcff\udcfe", "a\nb", "x" * 100_000, "../../etc/passwd", "%s%n", "{0}", "\\", "NaN"]),
).filter(lambda t: not t.startswith("--"))
CASES = st.sampled_from(["JC-2025-0001", "JC-2025-0002", "JC-2025-9999", "@workspace", "", "x" * 100_000,
                         "JC-[red]1[/red]", "jc-2025-0001", "\udcff"])
EVENTS = st.sampled_from([*RECORDABLE, "case-launched", "attempt-refused", "no-such-event", "", "CONSULTATION-OPENED"])
MOMENTS = st.sampled_from(["2025-08-25", "2025-08-25T09:00", "2025-08-25T09:00+08:00", "2025-08-25T01:00Z",
                           "2025-13-01", "2025-02-30", "yesterday", "9999-12-31", "0001-01-01", "", "2025-08-25T09:00+25:00",
                           "2025-10-01T00:00:00.000000001", "1e9"])
NUMBERS = st.one_of(st.integers(-3, 5).map(str), st.sampled_from(["0", "-1", "99999999999999999999999", "abc", "1e3",
                                                                  "", "2.5", "nan", "2025"]))
ACTORS = st.sampled_from(["legal-office:张伟", "clerk:李明", "reviewer:王芳", "secretary:陈静", "head:李市长",
                          "auditor:赵审计", "archivist:周档案", "admin:系统管理员", "clerk:张[x]伟", "nobody:x", "clerk",
                          ":", "clerk:", "x" * 5000 + ":y", "clerk:\udcff"])
FILE_NAMES = ("good.json", "deep.json", "big.json", "random.bin", "empty.json", "list.json", "folder", "missing.json",
              "good.json/sub", "odd name 文件.json", "markup[red].json", "comments.jsonl", "comments.csv", "key.pem",
              "proof.json", "bag")
SYSTEM_PATHS = ("/dev/null", "/dev/zero", "/proc/x", "/proc/x.json", "/", "-")


@st.composite
def paths(draw: Any, scratch: Path) -> str:
    """A path: one of the prepared files (good, deep, huge, random bytes, empty, a folder, missing, under a file…),
    a system path, or a fresh name for an output."""
    kind = draw(st.sampled_from(["prepared", "prepared", "system", "fresh"]))
    if kind == "prepared":
        return str(scratch / draw(st.sampled_from(FILE_NAMES)))
    if kind == "system":
        return draw(st.sampled_from(SYSTEM_PATHS))
    return str(scratch / "out" / draw(st.sampled_from(["new.json", "new", "a b", "新", "\udcff", "sub/deeper/x"])))


def values(word: str, scratch: Path) -> st.SearchStrategy[str]:
    """What to type for a parameter that takes `word`."""
    if word in ("CASE", "CASE_ID", "CASE_IDS"):
        return st.one_of(CASES, ODD_TEXT)
    if word == "EVENT":
        return st.one_of(EVENTS, ODD_TEXT)
    if word in ("FILE", "PATH", "DIR", "OUT"):
        return st.one_of(paths(scratch), ODD_TEXT)
    if word in ("DATETIME", "DATE", "MOMENT"):
        return st.one_of(MOMENTS, ODD_TEXT)
    if word in ("N", "YEAR", "SEQ", "SECONDS"):
        return st.one_of(NUMBERS, ODD_TEXT)
    if word in ("ROLE:NAME",):
        return ACTORS
    if word == "URL":  # nothing that reaches out: a closed local port, or not a URL at all
        return st.sampled_from(["http://127.0.0.1:9/x", "not a url", "", "file:///etc/passwd"])
    return ODD_TEXT


@st.composite
def argument_vectors(draw: Any, home: Path, scratch: Path) -> tuple[tuple[str, ...], list[str], bytes]:
    """(command, argv, stdin): the command's parameters each given, left out, given twice or given without a value,
    in any order, with `--json`, an unknown option or a stray word now and then."""
    path, params = draw(st.sampled_from(COMMANDS))
    pieces: list[list[str]] = []
    arguments: list[str] = []
    bare: list[str] = []  # options whose value is missing: last on the line
    for p in params:
        if p.opts == ("--help",) or p.opts == ("--json",):
            continue
        how = draw(st.sampled_from(["give", "give", "give", "omit", "twice", "bare"] if p.kind == "option"
                                   else ["give", "give", "give", "give", "omit", "twice"]))
        if how == "omit" and not (p.required and draw(st.booleans())):
            continue
        times = 2 if how == "twice" else 1
        for _ in range(times):
            if p.kind == "argument":
                arguments.append(draw(values(p.word, scratch)))
            elif p.flag:
                pieces.append([p.opts[0]])
            elif how == "bare":
                bare.append(draw(st.sampled_from(p.opts)))
            else:
                pieces.append([draw(st.sampled_from(p.opts)), draw(values(p.word, scratch))])
    if draw(st.integers(0, 2)):
        pieces.append(["--json"])
    if not draw(st.integers(0, 9)):
        pieces.append([draw(st.sampled_from(["--bogus", "-z", "--json=1", "--home"]))])
    order = draw(st.permutations(range(len(pieces)))) if pieces else []
    tail = [t for i in order for t in pieces[i]]
    # arguments keep their order among themselves, and land anywhere between the options
    for a in arguments:
        tail.insert(draw(st.integers(0, len(tail))), a)
    tail += bare[:1]
    head = ["--home", str(home)]
    if draw(st.integers(0, 3)):
        head += ["--as", draw(ACTORS)]
    stdin = draw(st.sampled_from([b"", b"{}", b"[" * 2000, b"\xff\xfe\x00", json.dumps(
        EVENT_TYPES["consultation-opened"].example, ensure_ascii=False).encode(), b'{"a": 1}' * 3]))
    return path, [*head, *path, *tail], stdin


# --- one run, in process, through cli.main ------------------------------------------------------------------------


class Hang(Exception):
    """A run that did not end within SECONDS_PER_RUN."""


def run(argv: list[str], stdin: bytes, env: dict[str, str | None], cwd: Path | None = None) -> tuple[Any, str, str]:
    """(exit code or the exception that escaped, stdout, stderr) of `juece ARGV` run in this process, in `cwd` (where
    a relative path lands)."""
    from typer.testing import CliRunner

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {SECONDS_PER_RUN} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(SECONDS_PER_RUN)
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
            try:
                cli.main(argv)
                code: Any = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException as exc:  # noqa: BLE001 — what escapes main is a traceback for the user
                code = exc
            finally:
                sys_flush()
            return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")
    finally:
        os.chdir(here)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def sys_flush() -> None:
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except ValueError:
            pass


def history(db: Path) -> list[tuple[Any, ...]]:
    """Every stored event (position, case, seq, type, hash): what a refusal must leave as it was."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT position, case_id, seq, type, hash FROM events ORDER BY position").fetchall()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


# --- the workspace every run starts from --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with two cases (one with its first stages recorded), copied afresh for every run."""
    root = tmp_path_factory.mktemp("standing")
    ws = new_workspace(root / "ws")
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(MANDATORY_PATH[:3])
    Driver(ws).launch()
    ws.engine.dispose()
    return root / "ws"


def prepare_files(scratch: Path, rng: random.Random) -> None:
    """The files a generated path may name."""
    scratch.mkdir(parents=True)
    (scratch / "out").mkdir()
    good = EVENT_TYPES["consultation-opened"].example
    (scratch / "good.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    (scratch / "deep.json").write_text("[" * 1000 + "]" * 1000, encoding="utf-8")
    (scratch / "big.json").write_text('{"a": "' + "x" * (1 << 20) + '"}', encoding="utf-8")
    (scratch / "random.bin").write_bytes(rng.randbytes(512))
    (scratch / "empty.json").write_bytes(b"")
    (scratch / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (scratch / "folder").mkdir()
    (scratch / "odd name 文件.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    (scratch / "markup[red].json").write_text('{"title": "[white on white]x[/]"}', encoding="utf-8")
    (scratch / "comments.jsonl").write_text(
        '{"submitted_at": "2025-09-02T10:00+08:00", "channel": "web", "author": "[b]x", "text": "意见"}\n'
        '{"submitted_at": "nope"}\n', encoding="utf-8")
    (scratch / "comments.csv").write_bytes(b"submitted_at,channel,author,text\n\xff,\"x\n")
    (scratch / "key.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", encoding="utf-8")
    (scratch / "proof.json").write_text('{"leaf_index": -1, "tree_size": 1e308, "path": [[[[]]]]}', encoding="utf-8")
    (scratch / "bag").mkdir()
    (scratch / "bag" / "bagit.txt").write_text("BagIt-Version: 0.97\n", encoding="utf-8")




def check(template: Path, work: Path, command: tuple[str, ...], argv: list[str], stdin: bytes, rng: random.Random) -> None:
    """Run one generated vector on a fresh copy of the template and hold it to the contract."""
    home, scratch = work / "ws", work / "files"
    for old in (home, scratch):
        shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(template, home)
    prepare_files(scratch, rng)
    before, files_before = history(home / "juece.db"), files_under(scratch)
    env = {"JUECE_HOME": None, "JUECE_ACTOR": None, "JUECE_DATABASE_URL": None, "JUECE_WEBHOOK_URL": None,
           "COLUMNS": "120"}
    code, out, err = run(argv, stdin, env, cwd=scratch)
    TRIED[" ".join(command)] += 1
    shown = f"juece {' '.join(map(repr, argv))}"
    assert not isinstance(code, BaseException), f"{shown}: a traceback ({type(code).__name__}: {code})"
    assert code in CONTRACT_CODES, f"{shown}: exit {code}"
    assert "Traceback (most recent call last)" not in err, f"{shown}: {err}"
    if "--json" in argv and "--help" not in argv:
        try:
            answer = json.loads(out)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{shown}: --json, but stdout is not one JSON object ({exc}): {out[:500]!r}") from exc
        assert isinstance(answer, dict), f"{shown}: --json, but stdout is {type(answer).__name__}"
        if code not in (0, 4, 5):  # a verdict (4, 5) is an answer, not an error object
            assert answer.get("error", {}).get("exit_code") == code, f"{shown}: {answer}"
    if code != 0:
        after = history(home / "juece.db")
        assert after[: len(before)] == before, f"{shown}: exit {code}, and the stored history changed"
        added = {row[3] for row in after[len(before):]}
        assert added <= ({"attempt-refused"} if code == 3 else set()), f"{shown}: exit {code}, yet recorded {added}"
        assert files_under(scratch) == files_before, \
            f"{shown}: exit {code}, and left {sorted(files_under(scratch) - files_before)}"


def _standing(template: Path, tmp_path: Path, data: Any) -> None:
    work = tmp_path / "run"
    work.mkdir(parents=True, exist_ok=True)
    command, argv, stdin = data.draw(argument_vectors(work / "ws", work / "files"), label="argv")
    check(template, work, command, argv, stdin, random.Random(len(argv)))


_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)


@settings(max_examples=150, **_SETTINGS)  # about 45 s on a quiet 2-core machine
@given(data=st.data())
def test_generated_command_lines_get_a_contract_exit_code_and_never_a_traceback(template, tmp_path_factory, data):
    _standing(template, tmp_path_factory.getbasetemp() / "standing-short", data)


@pytest.mark.slow
@settings(max_examples=3000, **_SETTINGS)
@given(data=st.data())
def test_generated_command_lines_long_profile(template, tmp_path_factory, data):
    _standing(template, tmp_path_factory.getbasetemp() / "standing-long", data)
    if TRIED.total() % 500 == 0:
        print(json.dumps(dict(TRIED.most_common()), ensure_ascii=False))


def test_every_command_is_reached_by_the_generator():
    """The generator draws from the command tree itself: every command but those that serve or wait is in it."""
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("record", "case launch", "case show", "audit verify", "audit checkpoint", "archive export",
                     "comments import", "catalog publish", "calendar days", "user add"):
        assert expected in names
    assert not any(n.startswith(("web", "worker", "demo", "flow ")) for n in names)


@pytest.mark.parametrize("argv, stdin", [
    (["record", "JC-2025-0001", "risk-assessed", "--file", "/dev/zero", "--json"], b""),
    (["record", "JC-2025-0001", "risk-assessed", "-f", "-", "--json"], b"[" * 1000 + b"]" * 1000),
    (["case", "show", "x" * 100_000, "--json"], b""),
    (["calendar", "days", "abc", "--json"], b""),
    (["--as", "clerk:张[x]伟", "case", "list", "--bogus"], b""),
])
def test_a_few_vectors_through_the_real_executable_agree(template, tmp_path, argv, stdin):
    """The in-process runs stand for the executable: a few of the same vectors, as separate processes."""
    home = tmp_path / "ws"
    shutil.copytree(template, home)
    before = history(home / "juece.db")
    code, out, err = juece(home, *argv, stdin=stdin.decode("utf-8", "surrogateescape") if stdin else None)
    assert code in CONTRACT_CODES - {0, 1} and "Traceback" not in err, (code, err)
    if "--json" in argv:
        assert json.loads(out)["error"]["exit_code"] == code
    assert history(home / "juece.db") == before
    in_process = run(["--home", str(home), *argv], stdin, {"JUECE_HOME": None, "JUECE_ACTOR": None})
    assert in_process[0] == code

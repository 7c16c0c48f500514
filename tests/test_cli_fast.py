"""`case show`, `record` and `comments import` start without typer (cli.py `_fast_call`): a plain command line is parsed by cli.py
itself, anything else by typer. The two must give the same answer — exit code, stdout, stderr, what is written — so
each command line here is run twice, on two copies of one workspace: once as the `juece` executable runs it, once
with the fast path turned off (JUECE_CLI_TYPER=1). Generated command lines (Hypothesis) mix the plain forms with
the ones typer must answer: help, `--`, `--name=value`, a value left out, a repeated option, an unknown option, a
number out of range or not in ASCII digits, text that looks like markup."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import cli
from support import MANDATORY_PATH, Driver, new_workspace
from test_cli_standing import run

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # --verbose log lines carry the wall-clock time


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A workspace with one published case and one whose consultation is open, payload files and comment files."""
    root = tmp_path_factory.mktemp("fast")
    ws = new_workspace(root / "ws")
    consulting = Driver(ws)
    consulting.launch("risk-relevant", "technical")
    consulting.record("consultation-opened")
    case = Driver(ws)
    case.launch("risk-relevant", "technical")
    case.walk(MANDATORY_PATH + ("party-reported", "decision-published"))
    case.clock_to(date(2025, 12, 15))
    ws.engine.dispose()
    comments = root / "comments.jsonl"
    comments.write_text("".join(json.dumps({"submitted_at": "2025-09-15T10:30:00+08:00", "channel": "政府网站",
                                            "author": f"市民{i}", "text": f"建议延长征求意见期限，第{i % 4}条"},
                                           ensure_ascii=False) + "\n" for i in range(30)), encoding="utf-8")
    bad_comments = root / "bad.csv"
    bad_comments.write_text("submitted_at,channel,author,text\n2025-09-15,政府网站,市民,\n", encoding="utf-8")
    good = root / "report.json"
    good.write_text(json.dumps({"reported_on": "2025-12-15", "unit": "市住建局", "status": "第1次执行情况报告"},
                               ensure_ascii=False), encoding="utf-8")
    bad = root / "bad.json"
    bad.write_text('{"reported_on": "2025-12-15", "unit": ', encoding="utf-8")
    return {"home": ws.home, "case": case.case_id, "good": str(good), "bad": str(bad), "root": root,
            "consulting": consulting.case_id, "comments": str(comments), "bad_comments": str(bad_comments)}


def twice(base: dict[str, Any], argv: list[str], stdin: bytes = b"") -> tuple[Any, Any]:
    """(fast, typer): each (exit code, stdout, stderr, the history's rows) of `argv` on its own copy of the
    workspace; `@HOME@` in argv names that copy."""
    outcomes = []
    for typer_only, name in ((False, "fast"), (True, "typer")):
        home = base["root"] / name
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base["home"], home)
        env = {"JUECE_HOME": None, "JUECE_ACTOR": None, "JUECE_CLI_TYPER": "1" if typer_only else None}
        args = [a.replace("@HOME@", str(home)) for a in argv]
        code, out, err = run(args, stdin, env)
        out, err = (STAMP.sub("T", x.replace(str(home), "@HOME@")) for x in (out, err))
        rows = subprocess.run([sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); print("
                               "db.execute('SELECT count(*), max(seq) FROM events').fetchone(), db.execute("
                               "'SELECT count(*), group_concat(row_hash || cluster) FROM comments').fetchone())",
                               str(home / "juece.db")], capture_output=True, text=True).stdout
        outcomes.append((code, out, err, rows))
    return outcomes[0], outcomes[1]


def plain(base: dict[str, Any]) -> list[list[str]]:
    c, good = base["case"], base["good"]
    return [
        ["--home", "@HOME@", "case", "show", c],
        ["--home", "@HOME@", "case", "show", c, "--json"],
        ["--home", "@HOME@", "case", "show", "--json", c, "--as-of", "2025-11-01"],
        ["--home", "@HOME@", "case", "show", "JC-2025-9999"],
        ["--home", "@HOME@", "case", "show", c, "--as-of", "2025-13-01", "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "record", c, "execution-reported", "--file", good],
        ["--as", "clerk:李明", "--home", "@HOME@", "record", "-f", good, c, "execution-reported", "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "record", c, "execution-reported", "-f", good, "--if-seq", "3"],
        ["--home", "@HOME@", "--as", "auditor:王芳", "record", c, "execution-reported", "-f", good, "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "record", c, "execution-reported", "-f", base["bad"]],
        ["--home", "@HOME@", "--as", "clerk:李明", "record", c, "no-such-event", "-f", good, "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "record", c, "execution-reported", "-f", good,
         "--acknowledge", "LEG-04", "--reason", "[red]x[/red]", "--idempotency-key", "<b>k</b>"],
        ["--home", "@HOME@", "--verbose", "--as", "clerk:李明", "record", c, "execution-reported", "-f", "-"],
        ["--home", "@HOME@", "record", c, "execution-reported", "-f", good],
        ["--home", "@HOME@", "--as", "clerk:李明", "comments", "import", base["consulting"], base["comments"]],
        ["--as", "clerk:李明", "--home", "@HOME@", "comments", "import", "--json", base["consulting"], base["comments"]],
        ["--home", "@HOME@", "--as", "clerk:李明", "comments", "import", base["consulting"], base["bad_comments"], "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "comments", "import", c, base["comments"]],
        ["--home", "@HOME@", "--as", "reviewer:赵六", "comments", "import", base["consulting"], base["comments"], "--json"],
        ["--home", "@HOME@", "--as", "clerk:李明", "comments", "import", base["consulting"], str(base["root"] / "nope.jsonl")],
        ["--home", "@HOME@", "comments", "import", "JC-2025-9999", base["comments"]],
    ]


def test_plain_command_lines_take_the_fast_path_and_answer_as_typer_does(base):  # type: ignore[no-untyped-def]
    for argv in plain(base):
        assert cli._fast_call([str(base["home"]) if a == "@HOME@" else a for a in argv]) is not None, argv
        fast, typer = twice(base, argv, stdin=Path(base["good"]).read_bytes())
        assert fast == typer, argv
    # the record really happened, the same on both copies
    fast, typer = twice(base, plain(base)[5])
    assert fast[0] == 0 and "recorded" in fast[1] and fast == typer


def test_what_is_not_plain_goes_to_typer(base):  # type: ignore[no-untyped-def]
    c, good = base["case"], base["good"]
    for argv in (["case", "show", c, "--help"], ["--home=/x", "case", "show", c], ["case", "show", "--", c],
                 ["case", "show", c, "--json", "--json"], ["record", c, "e", "--file"], ["record", c, "e", f"-f{good}"],
                 ["record", c, "e", "-f", good, "--if-seq", "１２"], ["record", c, "e", "-f", good, "--if-seq", "-1"],
                 ["case", "list"], ["case", "show"], ["record", c], ["case", "show", c, "extra"], ["--help"], [],
                 ["comments", "import", c, ""], ["comments", "import", c, "-"], ["comments", "import", c],
                 ["comments", "show", c], ["comments", "import", c, base["comments"], "--help"]):
        assert cli._fast_call(argv) is None, argv
    os.environ["JUECE_CLI_TYPER"] = "1"
    try:
        assert cli._fast_call(["case", "show", c]) is None
    finally:
        del os.environ["JUECE_CLI_TYPER"]


TOKENS = ["--json", "--as-of", "2025-11-01", "2025-13-01", "--file", "-f", "@GOOD@", "@BAD@", "-", "--if-seq", "12",
          "0", "-1", "2147483648", "１２", "abc", "--acknowledge", "LEG-04", "PP-05", "--reason", "因为", "--",
          "--idempotency-key", "k1", "-h", "--help", "--json=1", "--if-seq=3", "[red]x[/red]", "execution-reported",
          "decision-published", "@CASE@", "JC-2025-9999", "--home", "--as", "clerk:李明", "--verbose", "--unknown"]
GLOBALS = [["--home", "@HOME@"], ["--as", "clerk:李明"], ["--as", "auditor:王芳"], ["--as", "nobody"], ["--verbose"],
           ["--home"], ["--help"], ["--home=@HOME@"]]


SHOW_OPTIONS = [["--json"], ["--as-of", "2025-11-01"], ["--as-of", "2025-13-01"], ["--as-of", "2025-11-01T09:30+08:00"]]
RECORD_OPTIONS = [["--json"], ["--if-seq", "12"], ["--if-seq", "0"], ["--acknowledge", "LEG-04"], ["--reason", "因为"],
                  ["--acknowledge", "PP-05"], ["--idempotency-key", "k1"], ["--idempotency-key", "[red]x[/red]"]]


@st.composite
def command_lines(draw: Any) -> list[str]:
    """A plain `case show`, `record` or `comments import` line (global options, then the command's arguments and
    options in any order), and then, half the time, one token of TOKENS put somewhere in it, one part left out, or an
    option without its value at the end."""
    globals_ = draw(st.lists(st.sampled_from(GLOBALS[:5]), max_size=3, unique_by=lambda g: g[0]))
    command = draw(st.sampled_from(["show", "record", "comments"]))
    if command == "show":
        path, words, options = ["case", "show"], ["@CASE@"], draw(st.lists(st.sampled_from(SHOW_OPTIONS), max_size=3))
    elif command == "comments":
        case = draw(st.sampled_from(["@CONSULTING@", "@CASE@"]))
        path, words = ["comments", "import"], [case, draw(st.sampled_from(["@COMMENTS@", "@BAD_COMMENTS@", "@GOOD@"]))]
        options = draw(st.lists(st.just(["--json"]), max_size=1))
    else:
        event = draw(st.sampled_from(["execution-reported", "decision-published", "no-such-event"]))
        file = draw(st.sampled_from([["--file", "@GOOD@"], ["-f", "@GOOD@"], ["-f", "@BAD@"], ["-f", "-"]]))
        path, words = ["record"], ["@CASE@", event]
        options = [file, *draw(st.lists(st.sampled_from(RECORD_OPTIONS), max_size=4))]
    options = draw(st.permutations(options))
    cut = draw(st.integers(0, len(options)))  # options before, between and after the arguments, as click allows
    args = [t for o in options[:cut] for t in o] + words[:1] + [t for o in options[cut:][:1] for t in o] + words[1:] + [
        t for o in options[cut:][1:] for t in o]
    line = [a for g in globals_ for a in g] + path + args
    change = draw(st.sampled_from(["none", "insert", "drop", "last"]))
    if change == "insert":
        line.insert(draw(st.integers(0, len(line))), draw(st.sampled_from(TOKENS + [g[0] for g in GLOBALS])))
    elif change == "drop" and line:
        del line[draw(st.integers(0, len(line) - 1))]
    elif change == "last":  # an option's value left out at the end
        line += draw(st.sampled_from([["--as-of"], ["--if-seq"], ["-f"], ["--reason"], ["--home"]]))
    return line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command_lines())
def test_generated_command_lines_answer_the_same_both_ways(base, line):  # type: ignore[no-untyped-def]
    names = {"@GOOD@": base["good"], "@BAD@": base["bad"], "@CASE@": base["case"], "@CONSULTING@": base["consulting"],
             "@COMMENTS@": base["comments"], "@BAD_COMMENTS@": base["bad_comments"]}
    argv = [names.get(t, t) for t in line]
    event("fast" if cli._fast_call([a.replace("@HOME@", "/h") for a in argv]) is not None else "typer")
    fast, typer = twice(base, argv, stdin=Path(base["good"]).read_bytes())
    assert fast == typer, argv


def test_case_show_record_and_comments_import_start_without_typer(base):  # type: ignore[no-untyped-def]
    """Measured in a real process: a plain `case show` imports neither typer nor click (the budget of
    tests/test_startup.py, one module further); nor do `record` and `comments import`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    for argv in (["--home", str(base["home"]), "case", "show", base["case"], "--json"],
                 ["--home", str(base["home"]), "--as", "clerk:李明", "record", base["case"], "execution-reported",
                  "--file", base["good"], "--json"],
                 ["--home", str(base["home"]), "--as", "clerk:李明", "comments", "import", base["consulting"],
                  base["comments"], "--json"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cli", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        json.loads(done.stdout)
        names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "sqlite3" in names  # the parse sees the modules
        assert {n.split(".")[0] for n in names} & {"typer", "click"} == set(), argv


def _through_rich(template: str, values: dict[str, Any]) -> str:
    """What Rich prints for `say(template, **values)` to a pipe (cli.say's path for any line)."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, highlight=False, emoji=False, soft_wrap=True, width=160).print(
        template.format(**{k: cli.typed(v) for k, v in values.items()}))
    return buf.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(), st.text(max_size=300)), min_size=1, max_size=3),
       st.sampled_from(["recorded {0} #{1} {2}", "  acknowledged {0} ({1}) {2}", "{0}{1}{2}", "  {0}   {1} {2}  "]))
def test_a_line_say_prints_without_rich_is_what_rich_prints(values: list[Any], shape: str) -> None:
    """cli.say writes a piped line with nothing for Rich to do as it is; for every value, plain or not, the output is
    Rich's (a value with markup, `\\`, a tab, a line break or a control character goes through Rich)."""
    import io

    names = {f"v{i}": v for i, v in enumerate(values + [""] * (3 - len(values)))}
    template = shape.format(*(f"{{{n}}}" for n in names))
    buf = io.StringIO()
    saved = sys.stdout
    sys.stdout = buf
    try:
        cli.say(template, **names)
    finally:
        sys.stdout = saved
    plain = all(map(cli._plain, names.values()))
    event("plain" if plain else "through Rich")
    assert buf.getvalue() == _through_rich(template, names)
    if plain:
        assert buf.getvalue() == template.format(**names) + "\n"


def test_say_leaves_markup_and_a_terminal_to_rich() -> None:
    """A template with juece's markup is rendered by Rich, not written as it is (the plain path can be told apart)."""
    import io

    buf = io.StringIO()
    saved = sys.stdout
    sys.stdout = buf
    try:
        cli.say("[bold]{case}[/bold] ok", case="JC-2025-0001")
        cli.say("{x}", x="a\tb")
    finally:
        sys.stdout = saved
    assert buf.getvalue() == "JC-2025-0001 ok\n" + _through_rich("{x}", {"x": "a\tb"})
    assert "\t" not in buf.getvalue()  # Rich expands the tab; the plain path would have kept it

"""Issue 12, the command-line half: usage errors, spoofed screens, help, time zones and grammar — each through the
real `juece` executable (PRODUCT.md, "The command line", "Display", "Limits", "Exit codes")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from test_cli import LAUNCH, history_length, juece, one_line

# --- usage errors are bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, field", [
    (("case", "list", "--bogus", "--json"), "--bogus"),
    (("calendar", "days", "abc", "--json"), "YEAR"),
    (("case", "show", "--json"), "CASE"),
    (("record", "JC-2025-0001", "risk-assessed", "--json"), "--file"),
    (("record", "JC-2025-0001", "risk-assessed", "-f", "-", "--if-seq", "many", "--json"), "--if-seq"),
    (("case", "lst", "--json"), None),
    (("--json", "case", "list"), None),
])
def test_a_usage_error_with_json_anywhere_prints_the_error_object_and_exits_2(ws, argv, field):
    code, out, err = juece(ws.home, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    error = json.loads(out)["error"]
    assert error["code"] == "usage" and error["exit_code"] == 2 and error["message"]
    if field:
        assert error["field"] == field


def test_a_usage_error_without_json_says_so_in_a_sentence_with_the_usage_line_and_nothing_on_stdout(ws):
    code, out, err = juece(ws.home, "calendar", "days", "abc")
    assert code == 2
    assert out == ""
    text = one_line(err)
    assert "bad input (exit 2)" in text and "'YEAR'" in text
    assert "Usage: juece calendar days" in text and "juece calendar days --help" in text


def test_a_usage_error_writes_nothing(ws):
    code, out, err = juece(ws.home, *LAUNCH, "--flag", actor="legal-office:张伟")
    assert code == 2, err
    code, out, err = juece(ws.home, "case", "list", "--json")
    assert json.loads(out)["cases"] == []
    assert history_length(ws, "@workspace") == 1  # init only


@pytest.mark.parametrize("case_id", ["JC-2099-0001", ""])
def test_audit_verify_of_a_case_that_does_not_exist_is_bad_input(ws, case_id):
    """Found by the standing test: `audit verify ''` was a TypeError (the audit's linked-case loader called as the
    unit of work's)."""
    code, out, err = juece(ws.home, "audit", "verify", case_id, "--json")
    assert code == 2, err
    assert json.loads(out)["error"]["code"] == "unknown-case"
    code, out, err = juece(ws.home, "audit", "verify", case_id)
    assert code == 2 and "there is no case" in err and "Traceback" not in err


# --- what people typed is shown as typed (PRODUCT.md, "Display") ---------------------------------------------------

SPOOF_TITLE = "公开标题[white on white]隐藏的真实内容[/]"
SPOOF_ACTOR = "clerk:张[x]伟"
SPOOF_REASON = "补录[bold]:cross_mark:[/bold] 说明\\"  # markup, an emoji code and a trailing backslash


def _spoofed_workspace(ws, tmp_path: Path) -> str:
    """A case whose title, organ, lead unit, recording actor, acknowledgement reason and expert pool carry markup."""
    code, out, err = juece(ws.home, "case", "launch", "--title", SPOOF_TITLE, "--category", "plan",
                           "--organ", "三亚市[red]人民政府[/red]", "--lead-unit", "[link=http://x]交通局[/link]",
                           "--decided-on", "2025-08-20", "--json", actor="legal-office:张伟")
    assert code == 0, err
    case_id = json.loads(out)["case_id"]
    body = tmp_path / "activity.json"
    body.write_text(json.dumps({"method": "forum", "held_on": "2025-08-18", "description": "座谈会[dim]（摘要）[/dim]",
                                "participants": ["居民[u]代表[/u]"]}, ensure_ascii=False), encoding="utf-8")
    code, out, err = juece(ws.home, "record", case_id, "participation-activity-held", "--file", str(body),
                           "--acknowledge", "ORD-02", "--reason", SPOOF_REASON, actor=SPOOF_ACTOR)
    assert code == 0, err
    assert "participation-activity-held" in out
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps([{"name": "刘[i]专家[/i]", "affiliation": "海南大学[b]", "specialty": "交通规划",
                                 "stance": "[/]", "interests": ["[green]无[/green]"]}], ensure_ascii=False),
                    encoding="utf-8")
    code, out, err = juece(ws.home, "experts", "import", str(pool), "--bank", "专家库[s]", actor="legal-office:张伟")
    assert code == 0 and "专家库[s]" in out, (out, err)
    return case_id


def test_typed_markup_is_shown_as_typed_in_every_listing(ws, tmp_path: Path):
    case_id = _spoofed_workspace(ws, tmp_path)
    views = {
        "case list": (("case", "list"), [SPOOF_TITLE]),
        "case show": (("case", "show", case_id), [SPOOF_TITLE, "三亚市[red]人民政府[/red]", "[link=http://x]交通局[/link]",
                                                 SPOOF_REASON, SPOOF_ACTOR]),
        "audit replay": (("audit", "replay", case_id), [SPOOF_TITLE, SPOOF_ACTOR, SPOOF_REASON]),
        "audit verify": (("audit", "verify", case_id), [SPOOF_ACTOR, SPOOF_REASON]),
        "experts list": (("experts", "list"), ["刘[i]专家[/i]", "海南大学[b]", "[/]", "[green]无[/green]", "专家库[s]"]),
    }
    for name, (argv, shown) in views.items():
        code, out, err = juece(ws.home, *argv)
        assert code == 0, (name, err)
        for text in shown:
            assert text in out, (name, text, out)
    code, out, err = juece(ws.home, "user", "add", "王[x]五", "--role", "auditor", actor="admin:系统[b]管理员")
    assert code == 0 and "王[x]五" in out, (out, err)
    code, out, err = juece(ws.home, "user", "list")
    assert code == 0 and "王[x]五" in out, (out, err)


def test_a_refusal_quoting_typed_text_shows_it_as_typed(ws):
    code, out, err = juece(ws.home, "case", "show", "JC-[red]1[/red]")
    assert code == 2
    assert "JC-[red]1[/red]" in err


# --- contract gaps ------------------------------------------------------------------------------------------------


def test_as_of_a_bare_date_means_the_end_of_that_day_so_the_case_exists_on_its_launch_day(ws):
    code, out, err = juece(ws.home, *LAUNCH, "--json", actor="legal-office:张伟")  # the clock: 2025-08-25 09:00
    case_id = json.loads(out)["case_id"]
    for command in (("case", "show"), ("audit", "replay")):
        code, out, err = juece(ws.home, *command, case_id, "--as-of", "2025-08-25", "--json")
        assert code == 0, (command, err)
        shown = json.loads(out)
        as_of = (shown.get("case") or shown)["as_of"]
        assert as_of.startswith("2025-08-25T23:59:59") and as_of.endswith("+08:00"), as_of
    code, out, err = juece(ws.home, "case", "show", case_id, "--as-of", "2025-08-24", "--json")
    assert code == 2 and json.loads(out)["error"]["field"] == "--as-of"
    # a moment without a zone is Asia/Shanghai: 08:59 there is before the launch, 09:00 is not
    assert juece(ws.home, "case", "show", case_id, "--as-of", "2025-08-25T08:59")[0] == 2
    assert juece(ws.home, "case", "show", case_id, "--as-of", "2025-08-25T09:00")[0] == 0
    assert juece(ws.home, "case", "show", case_id, "--as-of", "2025-08-25T01:00Z")[0] == 0


def test_server_stop_says_no_server_was_running_when_none_was(ws):
    code, out, err = juece(ws.home, "server", "stop")
    assert code == 0, err
    assert "no Prefect server was running" in out and "stopped" not in out.replace("nothing to stop", "")
    code, out, err = juece(ws.home, "server", "stop", "--json")
    assert code == 0 and json.loads(out)["was_running"] is False


def test_audit_prove_with_json_prints_one_object_with_or_without_out(ws, tmp_path: Path):
    code, out, err = juece(ws.home, *LAUNCH, "--json", actor="legal-office:张伟")
    case_id = json.loads(out)["case_id"]
    code, out, err = juece(ws.home, "audit", "prove", case_id, "1", "--json")
    assert code == 0, err
    proof = json.loads(out)
    assert out.count("\n") == 1 and isinstance(proof, dict)
    code, out, err = juece(ws.home, "audit", "check-proof", "-", "--json")  # nothing on stdin is no proof
    assert code == 2
    target = tmp_path / "proof.json"
    code, out, err = juece(ws.home, "audit", "prove", case_id, "1", "--out", str(target), "--json")
    assert code == 0, err
    assert json.loads(out) == {"case_id": case_id, "seq": 1, "out": str(target)}
    assert json.loads(target.read_text(encoding="utf-8")) == proof


def test_counts_and_articles_read_as_english(ws, tmp_path: Path):
    code, out, err = juece(ws.home, *LAUNCH, "--json", actor="legal-office:张伟")
    case_id = json.loads(out)["case_id"]
    code, out, err = juece(ws.home, "case", "show", case_id)
    assert " 1 event " in out and "1 events" not in out
    assert juece(ws.home, "clock", "set", "2025-09-02T09:00", actor="admin:系统管理员")[0] == 0
    body = tmp_path / "c.json"
    body.write_text(juece(ws.home, "example", "consultation-opened")[1], encoding="utf-8")
    code, out, err = juece(ws.home, "record", case_id, "consultation-opened", "-f", str(body), actor="auditor:赵审计")
    assert code == 3 and "ROLE-01" in err, err
    assert "an auditor cannot record" in one_line(err), err


# --- help, as a clerk reads it cold -------------------------------------------------------------------------------


def _help(ws, *argv: str) -> str:
    code, out, err = juece(ws.home, *argv, "--help")
    assert code == 0, err
    return one_line(out.replace("│", " "))


def test_record_help_lists_every_event_and_says_file_takes_a_path(ws):
    from models.events import RECORDABLE

    text = _help(ws, "record")
    for event in RECORDABLE:
        assert event in text, event
    assert "The path of the payload" in text
    for option in ("--idempotency-key", "--if-seq", "--acknowledge"):
        assert option in text


def test_launch_help_lists_every_flag_and_category_uncut(ws):
    from typing import get_args

    from models.events import Category, Flag

    text = _help(ws, "case", "launch")
    assert "…" not in text.split("--flag", 1)[1].split("--co-unit", 1)[0]
    for word in (*get_args(Flag), *get_args(Category)):
        assert word in text.replace(" ", ""), word  # a long list may wrap mid-word in the help box


def test_no_command_shows_placeholders_as_python_types_and_every_option_has_help(ws):
    import typer.core
    from typer.main import get_command

    import cli

    def commands(group, path):
        for name, sub in group.commands.items():
            if isinstance(sub, typer.core.TyperGroup):
                yield from commands(sub, path + [name])
            else:
                yield path + [name], sub

    for path, command in commands(get_command(cli.app), []):
        for param in command.params:
            assert param.help, (path, param.name)
    for argv in (["record"], ["case", "launch"], ["audit", "verify"], ["worker"], ["user", "log"], ["due"], []):
        text = _help(ws, *argv)
        assert "<str>" not in text and "<list[" not in text and "<bool>" not in text and "<int>" not in text, argv
        assert "{CASE}" not in text


@pytest.mark.parametrize("argv", [("case", "show"), ("audit", "replay"), ("due",)])
def test_as_of_help_says_what_a_bare_date_and_a_missing_zone_mean(ws, argv):
    text = _help(ws, *argv)
    assert "end of that day" in text and "Asia/Shanghai" in text


# --- no traceback: nested JSON, destinations that cannot be written, a home that cannot be one --------------------

DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("argv", [
    ("record", "JC-2025-0001", "consultation-opened", "--file", "{deep}"),
    ("audit", "check-proof", "{deep}"),
    ("catalog", "publish", "{deep}"),
    ("case", "launch", "--title", "t", "--category", "plan", "--organ", "o", "--proposal", "{deep}"),
])
def test_json_nested_a_thousand_deep_is_bad_input_under_lim_01(case, tmp_path: Path, argv):
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP, encoding="utf-8")
    argv = [a.replace("{deep}", str(deep)) for a in argv]
    code, out, err = juece(case.ws.home, *argv, "--json", actor="legal-office:张伟")
    assert code == 2, (out, err)
    assert json.loads(out)["error"]["code"] == "LIM-01"


@pytest.fixture
def published(case):
    from support import MANDATORY_PATH

    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    return case


def test_an_out_path_that_cannot_be_written_is_a_sentence_and_the_contracts_code(published, tmp_path: Path):
    home, case_id = published.ws.home, published.case_id
    tmp_path = tmp_path / "outs"
    tmp_path.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    attempts = [
        (("archive", "export", case_id, "--out", f"{a_file}/sub"), 2),
        (("archive", "export", case_id, "--out", str(a_file)), 2),
        (("archive", "export", case_id, "--out", "/proc/x"), 2),
        (("archive", "export", case_id, "--out", "/sys/juece-bag"), 1),
        (("audit", "checkpoint", "--out", str(tmp_path)), 2),
        (("audit", "checkpoint", "--out", "/proc/x.json"), 2),
        (("audit", "checkpoint", "--out", f"{a_file}/cp.json"), 2),
        (("audit", "checkpoint", "--out", "/sys/cp.json"), 1),
        (("audit", "prove", case_id, "2", "--out", "/proc/x.json"), 2),
        (("audit", "prove", case_id, "2", "--out", str(tmp_path)), 2),
    ]
    events = history_length(published.ws, case_id)
    for argv, expected in attempts:
        code, out, err = juece(home, *argv, actor="archivist:周档案")
        assert code == expected, (argv, out, err)
        assert "Traceback" not in err and argv[-1] in one_line(err), (argv, err)
        code, out, err = juece(home, *argv, "--json", actor="archivist:周档案")
        assert json.loads(out)["error"]["exit_code"] == expected, (argv, out)
    assert history_length(published.ws, case_id) == events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # and no half-built bag beside it
    assert not list(Path("/proc").glob("juece-bag-*")) and not list(Path("/sys").glob("juece-bag-*"))


def test_a_name_too_long_for_the_file_system_is_bad_input_wherever_it_is_given(published, tmp_path: Path):
    """ENAMETOOLONG is the user's input, never a traceback: exit 2, the name shown cut short, nothing written (found by
    tests/test_cli_standing.py's generated command lines: `archive export --out` with a 300-character name)."""
    home, case_id = published.ws.home, published.case_id
    long = "长" * 120  # 360 bytes of UTF-8: over the 255 a name may have
    nested = tmp_path / long / "sub"
    events = history_length(published.ws, case_id)
    archivist, clerk = "archivist:周档案", "clerk:李明"
    for argv, actor in ((("archive", "export", case_id, "--out", long), archivist),
                        (("archive", "export", case_id, "--out", str(nested)), archivist),
                        (("audit", "checkpoint", "--out", long), archivist),
                        (("audit", "prove", case_id, "2", "--out", long), archivist),
                        (("record", case_id, "execution-reported", "--file", long), clerk),
                        (("attach", case_id, long, "--title", "t"), clerk),
                        (("comments", "import", case_id, long), clerk),
                        (("archive", "verify", long), archivist),
                        (("publication", "verify", case_id, "--file", long), archivist)):
        code, out, err = juece(home, *argv, actor=actor)
        assert code == 2 and "Traceback" not in err and "长" * 10 in err, (argv[:2], code, err[-500:])
        code, out, err = juece(home, *argv, "--json", actor=actor)
        assert code == 2 and json.loads(out)["error"]["code"] == "bad-input", (argv[:2], out[-500:])
    assert history_length(published.ws, case_id) == events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]  # no folder made for the bag
    assert not [name for name in os.listdir(".") if name.startswith("长")]  # nor beside the command (its cwd)


def test_a_checkpoint_never_overwrites_an_existing_file(published, tmp_path: Path):
    home = published.ws.home
    (tmp_path / "evidence").mkdir()
    kept = tmp_path / "evidence" / "cp.json"
    assert juece(home, "audit", "checkpoint", "--out", str(kept), actor="auditor:审计")[0] == 0
    before = kept.read_bytes()
    for extra in ((), ("--json",)):
        code, out, err = juece(home, "audit", "checkpoint", "--out", str(kept), *extra, actor="auditor:审计")
        assert code == 2 and "Traceback" not in err, (out, err)
        if extra:
            assert json.loads(out)["error"]["exit_code"] == 2
        else:
            assert str(kept) in one_line(err) and "exists" in err, err
    assert kept.read_bytes() == before
    assert sorted(p.name for p in kept.parent.iterdir()) == ["cp.json"]  # no temporary file left beside it


def test_init_where_no_workspace_can_be_is_one_sentence(tmp_path: Path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    for home, expected in ((a_file, 2), (a_file / "ws", 2), (Path("/sys/juece-ws"), 1)):
        code, out, err = juece(home, "init")
        assert code == expected, (home, out, err)
        assert "Traceback" not in err and str(home) in err and len(err.strip().splitlines()) == 1, err
        code, out, err = juece(home, "init", "--json")
        assert json.loads(out)["error"]["exit_code"] == expected
    assert a_file.read_text(encoding="utf-8") == "x"


def test_typed_text_in_a_prefect_artifact_is_shown_as_typed_never_as_markdown_or_html(ws):
    from markdown_it import MarkdownIt

    from flows.render.stage_table import stage_table_markdown
    from flows.usecases.show import show_case
    from support import Driver

    title = "公开标题[white on white]隐藏[/] <img src=x onerror=alert(1)> **粗** | 列 # 标题 [链接](javascript:alert(1))"
    d = Driver(ws)
    d.launch(title=title)
    html = MarkdownIt("commonmark").enable("table").render(stage_table_markdown(show_case(ws, d.case_id)))
    assert "<img" not in html and "<strong>粗" not in html and 'href="javascript' not in html
    heading = html.split("</h1>")[0]
    assert heading.count("<h1>") == 1 and "公开标题[white on white]隐藏[/] &lt;img src=x onerror=alert(1)&gt; **粗** | 列 # 标题" in heading


def test_demo_under_home_dir_uses_dir_and_with_json_prints_one_object(tmp_path: Path):
    import os
    import subprocess

    from test_cli import JUECE

    home, cwd = tmp_path / "demo-here", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    done = subprocess.run([JUECE, "--home", str(home), "demo", "--no-flow", "--json"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["home"] == str(home) and summary["audit_exit_code"] == 0
    assert Path(summary["prefect_home"]).is_relative_to(home) and Path(summary["archive"]).is_relative_to(home)
    assert {a["name"] for a in summary["accounts"]} >= {"李明", "赵审计"}
    assert "juece demo" in done.stderr  # the walk-through, on stderr
    assert list(cwd.iterdir()) == []  # no ./.juece-demo left in the current folder
    again = subprocess.run([JUECE, "--home", str(home), "demo", "--no-flow", "--json"], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and json.loads(again.stdout)["error"]["field"] == "--home"


def test_a_chained_event_whose_payload_does_not_match_its_type_is_an_integrity_failure_naming_it(case, tmp_path: Path):
    from datetime import datetime, timezone

    from models import store
    from models.db import write_transaction
    from models.store import NewEvent
    from support import MANDATORY_PATH

    case.walk(MANDATORY_PATH[:2])
    with write_transaction(case.ws.engine) as conn:  # written as a generic tool would: correctly chained, not validated
        events = store.load_stream(conn, case.case_id)
        store.append(conn, case.case_id, events, [NewEvent("risk-assessed", 1, {"assessed_on": 12, "level": "extreme"},
                                                           "clerk:李明", "clerk", "forged-1")],
                     datetime(2025, 10, 20, 2, tzinfo=timezone.utc))
    seq = len(events) + 1
    code, out, err = juece(case.ws.home, "audit", "verify", "--json")
    assert code == 4, err
    (verdict,) = [v for v in json.loads(out)["cases"] if v["case_id"] == case.case_id]
    assert not verdict["intact"] and f"#{seq} `risk-assessed`" in verdict["problem"]
    from datetime import date

    case.clock_to(date(2025, 10, 21))
    body = tmp_path / "p.json"
    body.write_text(juece(case.ws.home, "example", "legality-review-submitted")[1], encoding="utf-8")
    for argv, actor in ((("case", "show", case.case_id), None), (("audit", "replay", case.case_id), None),
                        (("record", case.case_id, "legality-review-submitted", "-f", str(body)), "clerk:李明")):
        code, out, err = juece(case.ws.home, *argv, actor=actor)
        assert code == 4 and "Traceback" not in err and f"#{seq} `risk-assessed`" in one_line(err), (argv, err)
    assert history_length(case.ws, case.case_id) == seq


# --- limits: bounded reads, identifiers to their column sizes ----------------------------------------------------


@pytest.mark.parametrize("argv, actor", [
    (("record", "JC-2025-0001", "risk-assessed", "--file", "/dev/zero"), "clerk:李明"),
    (("calendar", "load", "/dev/zero"), "admin:系统管理员"),
    (("experts", "import", "/dev/zero", "--bank", "专家库"), "legal-office:张伟"),
    (("publication", "verify", "JC-2025-0001", "--file", "/dev/zero"), None),
    (("attach", "JC-2025-0001", "/dev/zero", "--title", "无穷"), "clerk:李明"),
    (("audit", "check-proof", "/dev/zero"), None),
    (("audit", "verify", "--checkpoint", "/dev/zero"), None),
])
def test_an_endless_file_is_bad_input_and_the_read_ends(case, argv, actor):
    code, out, err = juece(case.ws.home, *argv, "--json", actor=actor)
    assert code == 2, (argv, out, err)
    assert json.loads(out)["error"]["exit_code"] == 2
    assert history_length(case.ws, case.case_id) == 1


@pytest.mark.parametrize("argv, actor, field", [
    (("case", "show", "J" * 100_000), None, "CASE"),
    (("audit", "replay", "J" * 100_000), None, "CASE"),
    (("record", "JC-2025-0001", "participation-exempted", "-f", "-"), "legal-office:" + "名" * 20_000, "--as"),
    (("record", "JC-2025-0001", "participation-exempted", "-f", "-", "--idempotency-key", "k" * 100_000), "legal-office:张伟",
     "--idempotency-key"),
    (("case", "launch", "--title", "t", "--category", "plan", "--organ", "o", "--idempotency-key", "k" * 100_000),
     "legal-office:张伟", "--idempotency-key"),
])
def test_an_identifier_longer_than_its_column_is_bad_input_echoed_back_cut_short(case, argv, actor, field):
    stdin = json.dumps({"basis": "依法", "decided_on": "2025-08-25"}, ensure_ascii=False)
    code, out, err = juece(case.ws.home, *argv, "--json", actor=actor, stdin=stdin)
    assert code == 2, (out, err)
    error = json.loads(out)["error"]
    assert error["field"] == field and len(error["message"]) < 300, error
    assert history_length(case.ws, case.case_id) == 1


def test_an_argument_that_is_not_utf8_is_bad_input_before_anything_reads_it(ws):
    import os
    import subprocess

    from test_cli import JUECE

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    done = subprocess.run([os.fsencode(JUECE), b"--home", os.fsencode(ws.home), b"case", b"show", b"JC-\xff\xfe",
                           b"--json"], capture_output=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert "not UTF-8" in error["message"] and "\\xff\\xfe" in error["message"]


# --- closed standard streams ---------------------------------------------------------------------------------------


def _closed(home: Path, fd: int, *args: str) -> tuple[int, str]:
    """`juece --home HOME ARGS…` started with file descriptor `fd` closed (`>&-` or `2>&-`); (exit code, the other
    stream's text)."""
    import subprocess

    from test_cli import JUECE

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    other = subprocess.PIPE
    proc = subprocess.run([JUECE, "--home", str(home), *args], stdout=other if fd == 2 else None,
                          stderr=other if fd == 1 else None, text=True, env=env, timeout=120,
                          preexec_fn=lambda: os.close(fd))
    return proc.returncode, (proc.stderr if fd == 1 else proc.stdout) or ""


def test_with_standard_output_closed_a_command_writes_nothing_and_says_so_on_stderr(ws, tmp_path):
    """`juece … >&-`: the answer cannot be given, so nothing is done (exit 1, the environment, in one sentence) — it
    was a traceback (sys.stdout is None) after the record had been written."""
    code, out, err = juece(ws.home, *LAUNCH, "--json", actor="legal-office:张伟")
    case_id = json.loads(out)["case_id"]
    before = history_length(ws, case_id)
    payload = tmp_path / "opened.json"
    code, example, err = juece(ws.home, "example", "consultation-opened")
    payload.write_text(example, encoding="utf-8")
    code, said = _closed(ws.home, 1, "--as", "clerk:李明", "record", case_id, "consultation-opened", "--file",
                         str(payload))
    assert code == 1 and "Traceback" not in said
    assert one_line(said) == "juece: standard output is closed, so the answer could not be printed; nothing was done"
    assert history_length(ws, case_id) == before
    code, said = _closed(ws.home, 1, "case", "list")
    assert code == 1 and "standard output is closed" in said


def test_with_standard_error_closed_a_command_still_answers(ws):
    code, out = _closed(ws.home, 2, "--as", "legal-office:张伟", *LAUNCH, "--json")
    assert code == 0 and json.loads(out)["case_id"]
    code, out = _closed(ws.home, 2, "case", "show", "JC-2099-0001", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "unknown-case"
    code, out = _closed(ws.home, 2, "case", "show", "JC-2099-0001")  # the message had nowhere to go
    assert code == 2 and out == ""

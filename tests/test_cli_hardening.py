"""Issue 12, the command-line half: usage errors, spoofed screens, help, time zones and grammar — each through the
real `juece` executable (PRODUCT.md, "The command line", "Display", "Limits", "Exit codes")."""

from __future__ import annotations

import json
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
def test_a_usage_error_with_json_anywhere_prints_the_error_object_and_exits_2(ws, argv, field):  # type: ignore[no-untyped-def]
    code, out, err = juece(ws.home, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    error = json.loads(out)["error"]
    assert error["code"] == "usage" and error["exit_code"] == 2 and error["message"]
    if field:
        assert error["field"] == field


def test_a_usage_error_without_json_says_so_in_a_sentence_with_the_usage_line_and_nothing_on_stdout(ws):  # type: ignore[no-untyped-def]
    code, out, err = juece(ws.home, "calendar", "days", "abc")
    assert code == 2
    assert out == ""
    text = one_line(err)
    assert "bad input (exit 2)" in text and "'YEAR'" in text
    assert "Usage: juece calendar days" in text and "juece calendar days --help" in text


def test_a_usage_error_writes_nothing(ws):  # type: ignore[no-untyped-def]
    code, out, err = juece(ws.home, *LAUNCH, "--flag", actor="legal-office:张伟")
    assert code == 2, err
    code, out, err = juece(ws.home, "case", "list", "--json")
    assert json.loads(out)["cases"] == []
    assert history_length(ws, "@workspace") == 1  # init only


# --- what people typed is shown as typed (PRODUCT.md, "Display") ---------------------------------------------------

SPOOF_TITLE = "公开标题[white on white]隐藏的真实内容[/]"
SPOOF_ACTOR = "clerk:张[x]伟"
SPOOF_REASON = "补录[bold]:cross_mark:[/bold] 说明\\"  # markup, an emoji code and a trailing backslash


def _spoofed_workspace(ws, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
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


def test_typed_markup_is_shown_as_typed_in_every_listing(ws, tmp_path: Path):  # type: ignore[no-untyped-def]
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


def test_a_refusal_quoting_typed_text_shows_it_as_typed(ws):  # type: ignore[no-untyped-def]
    code, out, err = juece(ws.home, "case", "show", "JC-[red]1[/red]")
    assert code == 2
    assert "JC-[red]1[/red]" in err

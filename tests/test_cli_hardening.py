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

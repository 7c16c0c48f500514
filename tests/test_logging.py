"""Logging (ARCHITECTURE.md; issue 10): the standard library, one logger per layer, key=value lines on stderr, quiet
by default; `juece --verbose` turns on INFO — on stderr only, so `--json` output on stdout stays one JSON object.
Through the real `juece` executable."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

from flows.adapters import logs
from support import Driver, payload
from test_cli import LAUNCH, juece, write_json

LINE = re.compile(r"^ts=\S+ level=(?P<level>[A-Z]+) logger=(?P<logger>juece\.[a-z]+) msg=(?P<msg>\S+|\"[^\"]*\")( \w+=\S+)*$")


def info_lines(stderr: str) -> list[dict[str, str]]:
    """Every log line on stderr, parsed; anything else on stderr is not a log line."""
    return [m.groupdict() for m in map(LINE.match, stderr.splitlines()) if m]


def test_json_output_stays_one_json_object_with_verbose_and_the_log_goes_to_stderr(case: Driver, tmp_path: Path):
    code, out, err = juece(case.ws.home, "--verbose", *LAUNCH, "--json", actor="legal-office:张伟")
    assert code == 0, err
    launched = json.loads(out)  # stdout: exactly one JSON object, nothing logged into it
    assert out.count("\n") == 1 and "level=" not in out
    lines = info_lines(err)
    assert {"level": "INFO", "logger": "juece.usecases", "msg": '"case launched"'} in lines, err
    assert f"case_id={launched['case_id']}" in err

    case.clock_to(date(2025, 9, 5))  # the day the hearing is announced
    body = write_json(tmp_path / "hearing.json", payload("hearing-announced"))
    code, out, err = juece(case.ws.home, "--verbose", "record", case.case_id, "hearing-announced", "--file", str(body),
                           "--json", actor="clerk:李明")
    assert code == 0, err
    assert json.loads(out)["event"] == "hearing-announced"
    assert {"level": "INFO", "logger": "juece.usecases", "msg": '"event recorded"'} in info_lines(err), err

    code, out, err = juece(case.ws.home, "--verbose", "due", "--json")
    assert code == 0, err
    assert "items" in json.loads(out)
    assert any(line["msg"] == '"deadlines swept"' for line in info_lines(err)), err


def test_without_verbose_nothing_below_a_warning_is_logged(case: Driver):
    code, out, err = juece(case.ws.home, *LAUNCH, "--json", actor="legal-office:张伟")
    assert code == 0, err
    json.loads(out)
    assert "level=" not in err


def test_a_refusal_is_logged_with_its_rules_and_the_json_error_stays_whole(case: Driver, tmp_path: Path):
    case.clock_to(date(2025, 10, 21))
    body = write_json(tmp_path / "submit.json", payload("legality-review-submitted"))  # stages skipped: PP-01
    code, out, err = juece(case.ws.home, "--verbose", "record", case.case_id, "legality-review-submitted", "--file",
                           str(body), "--json", actor="clerk:李明")
    assert code == 3, (out, err)
    assert json.loads(out)["error"]["code"] == "PP-01"
    refused = [line for line in err.splitlines() if 'msg="record refused"' in line]
    assert refused and "PP-01" in refused[0], err


def test_user_text_stays_inside_its_field_and_every_layer_has_its_logger(capsys) -> None:
    logs.configure(verbose=True)
    try:
        logs.logger("usecases").info("case launched", extra={"title": "第一行\nts=forged level=ERROR", "n": 3})
        assert [logs.logger(layer).name for layer in logs.LAYERS] == [f"juece.{layer}" for layer in logs.LAYERS]
    finally:
        logs.configure(verbose=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'title="第一行\\nts=forged level=ERROR" n=3' in err
    assert logging.getLogger("juece").level == logging.WARNING

"""The command-line contract (PRODUCT.md, "The command line"), through the real `juece` executable.

Each test runs `juece --home DIR …` as a separate process on a real workspace and checks what a script relies on:
the exit code, what is printed on stdout (one JSON object with `--json`), and that a user's mistake gets a sentence
naming the field — never a Python traceback — and changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.usecases.audit import verify_cases
from flows.usecases.record import record_event
from flows.usecases.clock import LOCAL
from models.events import EVENT_TYPES, RECORDABLE
from models.store import load_stream
from policies.errors import DecisionError
from support import GOOD, MANDATORY_PATH, ROLE_OF, Driver, new_workspace, payload

JUECE = str(Path(sys.executable).with_name("juece"))


def juece(home: Path, *args: str, actor: str | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """Run `juece --home HOME [--as ACTOR] ARGS…`; (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    env["COLUMNS"] = "250"  # keep rich from wrapping messages mid-word
    cmd = [JUECE, "--home", str(home), *(["--as", actor] if actor else []), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def one_line(text: str) -> str:
    return " ".join(text.split())


def history_length(ws, case_id: str) -> int:
    with ws.engine.connect() as conn:
        return len(load_stream(conn, case_id))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


LAUNCH = ("case", "launch", "--title", "三亚市公共停车场建设规划", "--category", "plan",
          "--organ", "三亚市人民政府", "--lead-unit", "三亚市交通运输局")


# --- workspace and cases ----------------------------------------------------------------------------------------


def test_init_twice_is_idempotent(tmp_path: Path):
    home = tmp_path / "new"
    code, out, err = juece(home, "init", "--json")
    assert code == 0, err
    assert json.loads(out)["created"] is True
    code, out, err = juece(home, "init", "--json")
    assert code == 0, err
    assert json.loads(out)["created"] is False
    code, out, err = juece(home, "audit", "verify", "--json")
    assert code == 0, err
    assert json.loads(out)["workspace"]["events"] == 1  # the second init wrote nothing


def test_case_launch_prints_the_new_case_id_and_with_json_an_object_holding_it(ws):
    code, out, err = juece(ws.home, *LAUNCH, actor="legal-office:张伟")
    assert code == 0, err
    assert out.strip() == "JC-2025-0001"
    code, out, err = juece(ws.home, *LAUNCH[:3], "三亚市海棠湾停车场规划", *LAUNCH[4:], "--json", actor="legal-office:张伟")
    assert code == 0, err
    data = json.loads(out)
    assert data["case_id"] == "JC-2025-0002"
    assert juece(ws.home, "case", "show", data["case_id"])[0] == 0


def test_case_show_json_has_the_stages_in_order_the_next_step_and_the_deadlines(case: Driver):
    case.walk(MANDATORY_PATH[:1])  # consultation opened: gives a deadline
    code, out, err = juece(case.ws.home, "case", "show", case.case_id, "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["case_id"] == case.case_id
    assert [s["stage"] for s in view["stages"]][:5] == [
        "public_participation", "expert_review", "risk_assessment", "legality_review", "collective_discussion"]
    assert all({"stage", "status"} <= set(s) for s in view["stages"])
    assert view["stages"][0]["status"] == "in-progress"
    assert "participation-concluded" in [n["event"] for n in view["next"]]
    assert isinstance(view["deadlines"], list)
    assert any(d["rule"] == "PP-05" and d["due"] == "2025-10-09" for d in view["deadlines"])


def test_the_example_payload_piped_into_record_records_the_first_step(case: Driver):
    code, _, err = juece(case.ws.home, "clock", "set", "2025-09-02T09:00+08:00", actor="admin:系统管理员")
    assert code == 0, err
    code, example, err = juece(case.ws.home, "example", "consultation-opened")
    assert code == 0, err
    code, out, err = juece(case.ws.home, "record", case.case_id, "consultation-opened", "--file", "-", "--json",
                           actor="clerk:李明", stdin=example)
    assert code == 0, err
    assert json.loads(out) == {"case_id": case.case_id, "seq": 2, "event": "consultation-opened", "acknowledged": [],
                               "repeated": False}
    assert case.status("public_participation") == "in-progress"


# --- bad input: exit 2, the field named, no traceback, nothing written -----------------------------------------

BadInputCase = Callable[[Driver, Path], tuple[list[str], str | None, str | None, str]]


def _record(event: str, data: Any) -> Callable[[Driver, Path], tuple[list[str], str | None, str | None, str]]:
    def build(case: Driver, tmp: Path):
        f = write_json(tmp / "payload.json", data)
        return ["record", case.case_id, event, "--file", str(f)], "clerk:李明", None, ""
    return build


def _unknown_case(case: Driver, tmp: Path):
    f = write_json(tmp / "p.json", payload("consultation-opened", published_on="2025-08-25"))
    return ["record", "JC-2099-0042", "consultation-opened", "--file", str(f)], "clerk:李明", None, "JC-2099-0042"


def _unknown_event(case: Driver, tmp: Path):
    f = write_json(tmp / "p.json", {})
    return ["record", case.case_id, "risk-assesed", "--file", str(f)], "clerk:李明", None, "risk-assesed"


def _invalid_json(case: Driver, tmp: Path):
    f = tmp / "broken.json"
    f.write_text('{"published_on": "2025-08-25",', encoding="utf-8")
    return ["record", case.case_id, "consultation-opened", "--file", str(f)], "clerk:李明", None, "broken.json"


def _missing_file(case: Driver, tmp: Path):
    return ["record", case.case_id, "consultation-opened", "--file", str(tmp / "nowhere.json")], "clerk:李明", None, "nowhere.json"


def _wrong_date_format(case: Driver, tmp: Path):
    build = _record("consultation-opened", payload("consultation-opened", published_on="2025/08/25"))
    return (*build(case, tmp)[:3], "published_on")


def _missing_field(case: Driver, tmp: Path):
    data = payload("consultation-opened", published_on="2025-08-25")
    del data["deadline"]
    return (*_record("consultation-opened", data)(case, tmp)[:3], "deadline")


def _missing_actor(case: Driver, tmp: Path):
    args, _, stdin, _ = _record("consultation-opened", payload("consultation-opened", published_on="2025-08-25"))(case, tmp)
    return args, None, stdin, "--as"


def _unknown_role(case: Driver, tmp: Path):
    args, _, stdin, _ = _record("consultation-opened", payload("consultation-opened", published_on="2025-08-25"))(case, tmp)
    return args, "mayor:李市长", stdin, "--as"


def _future_date(case: Driver, tmp: Path):
    # The simulated clock stands at 2025-08-25; the good payload was published on 2025-09-01.
    return (*_record("consultation-opened", payload("consultation-opened"))(case, tmp)[:3], "published_on")


def _payload_not_an_object(case: Driver, tmp: Path):
    return (*_record("consultation-opened", ["2025-08-25"])(case, tmp)[:3], "payload")


def _unknown_status_filter(case: Driver, tmp: Path):
    return ["case", "list", "--status", "finished"], None, None, "--status"


def _bad_as_of(case: Driver, tmp: Path):
    return ["case", "show", case.case_id, "--as-of", "yesterday"], None, None, "--as-of"


BAD_INPUTS: dict[str, BadInputCase] = {
    "unknown-case": _unknown_case,
    "unknown-event": _unknown_event,
    "invalid-json-file": _invalid_json,
    "missing-file": _missing_file,
    "wrong-date-format": _wrong_date_format,
    "missing-required-field": _missing_field,
    "missing-actor": _missing_actor,
    "unknown-role": _unknown_role,
    "date-in-the-future": _future_date,
    "payload-not-an-object": _payload_not_an_object,
    "unknown-status-filter": _unknown_status_filter,
    "unparseable-as-of": _bad_as_of,
}


@pytest.mark.parametrize("scenario", BAD_INPUTS)
def test_bad_input_exits_2_with_a_message_naming_the_field_and_no_traceback(scenario: str, case: Driver, tmp_path: Path):
    args, actor, stdin, names = BAD_INPUTS[scenario](case, tmp_path)
    before = history_length(case.ws, case.case_id)
    code, out, err = juece(case.ws.home, *args, actor=actor, stdin=stdin)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert names in one_line(err)
    assert history_length(case.ws, case.case_id) == before


@pytest.mark.parametrize("scenario", BAD_INPUTS)
def test_bad_input_with_json_prints_one_error_object_on_stdout(scenario: str, case: Driver, tmp_path: Path):
    args, actor, stdin, names = BAD_INPUTS[scenario](case, tmp_path)
    code, out, err = juece(case.ws.home, *args, "--json", actor=actor, stdin=stdin)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    error = json.loads(out)["error"]  # exactly one JSON object: json.loads refuses trailing output
    assert {"code", "message"} <= set(error)
    assert names in error["message"] or names == error.get("field")


# --- refusals by a procedure rule: exit 3, the rule named -------------------------------------------------------


def test_skipping_to_the_legality_review_is_refused_naming_PP_01(case: Driver, tmp_path: Path):
    case.clock_to(date(2025, 10, 21))
    f = write_json(tmp_path / "submit.json", payload("legality-review-submitted"))
    code, out, err = juece(case.ws.home, "record", case.case_id, "legality-review-submitted", "--file", str(f),
                           actor="clerk:李明")
    assert code == 3, (out, err)
    assert "PP-01" in err
    assert "Traceback" not in err
    assert case.status("legality_review") == "pending"


def test_a_refusal_with_json_gives_the_rule_id_as_the_error_code(case: Driver, tmp_path: Path):
    case.clock_to(date(2025, 10, 21))
    f = write_json(tmp_path / "submit.json", payload("legality-review-submitted"))
    code, out, err = juece(case.ws.home, "record", case.case_id, "legality-review-submitted", "--file", str(f), "--json",
                           actor="clerk:李明")
    assert code == 3, (out, err)
    error = json.loads(out)["error"]
    assert error["code"] == "PP-01"
    assert "PP-01" in error["message"]


def test_acknowledge_without_a_reason_is_bad_input(case: Driver, tmp_path: Path):
    f = write_json(tmp_path / "p.json", payload("consultation-opened", published_on="2025-08-25", deadline="2025-09-05"))
    code, out, err = juece(case.ws.home, "record", case.case_id, "consultation-opened", "--file", str(f),
                           "--acknowledge", "PP-05", actor="clerk:李明")
    assert code == 2, (out, err)
    assert "--reason" in one_line(err)
    assert "Traceback" not in err
    assert history_length(case.ws, case.case_id) == 1


def test_audit_verify_exits_0_on_a_clean_workspace(case: Driver):
    case.walk(MANDATORY_PATH)
    code, out, err = juece(case.ws.home, "audit", "verify", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [(c["case_id"], c["intact"], c["findings"]) for c in report["cases"]] == [(case.case_id, True, [])]


# --- schemas and examples ---------------------------------------------------------------------------------------


def _run_for_every_event(home: Path, command: str) -> dict[str, tuple[int, str, str]]:
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(RECORDABLE, pool.map(lambda e: juece(home, command, e), RECORDABLE)))


def test_schema_prints_a_valid_json_schema_for_every_recordable_event(ws):
    for event, (code, out, err) in _run_for_every_event(ws.home, "schema").items():
        assert code == 0, (event, err)
        schema = json.loads(out)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        assert schema.get("type") == "object", event
        jsonschema.validate(EVENT_TYPES[event].example, schema)


def test_example_prints_a_payload_the_event_model_accepts_for_every_recordable_event(ws):
    for event, (code, out, err) in _run_for_every_event(ws.home, "example").items():
        assert code == 0, (event, err)
        EVENT_TYPES[event].model_validate(json.loads(out))


def test_schema_of_an_engine_event_is_bad_input(ws):
    code, out, err = juece(ws.home, "schema", "case-launched")
    assert code == 2
    assert "case-launched" in one_line(err)


# --- calendar and clock -----------------------------------------------------------------------------------------


def test_calendar_list_names_the_shipped_years(ws):
    code, out, err = juece(ws.home, "calendar", "list", "--json")
    assert code == 0, err
    years = {c["year"] for c in json.loads(out)["calendars"]}
    assert {2025, 2026} <= years
    assert juece(ws.home, "calendar", "list")[0] == 0


def test_calendar_days_2026_includes_the_make_up_working_day_of_14_february(ws):
    code, out, err = juece(ws.home, "calendar", "days", "2026", "--json")
    assert code == 0, err
    days = {d["date"]: d for d in json.loads(out)["days"]}
    assert days["2026-02-14"]["kind"] == "makeup-working-day"
    assert days["2026-02-16"]["kind"] == "rest"
    code, out, err = juece(ws.home, "calendar", "days", "2026")
    assert code == 0, err
    assert "2026-02-14" in out


def test_calendar_days_of_a_year_without_a_notice_is_refused_naming_CAL_05(ws):
    code, out, err = juece(ws.home, "calendar", "days", "2027")
    assert code == 3, (out, err)
    assert "CAL-05" in err
    assert "Traceback" not in err
    code, out, _ = juece(ws.home, "calendar", "days", "2027", "--json")
    assert code == 3
    assert json.loads(out)["error"]["code"] == "CAL-05"


TEST_NOTICE_2027 = {
    "year": 2027,
    "kind": "test-notice",
    "notice": "测试用节假日安排（非官方，仅供测试）",
    "source": "made up in tests/test_cli.py; not the State Council's 2027 notice",
    "rest_blocks": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
    "makeup_working_days": ["2027-01-09"],  # a Saturday
}


def test_calendar_load_by_an_admin_makes_the_year_usable(ws, tmp_path: Path):
    f = write_json(tmp_path / "2027.json", TEST_NOTICE_2027)
    code, out, err = juece(ws.home, "calendar", "load", str(f), actor="admin:系统管理员")
    assert code == 0, err
    code, out, err = juece(ws.home, "calendar", "days", "2027", "--json")
    assert code == 0, err
    days = {d["date"]: d["kind"] for d in json.loads(out)["days"]}
    assert days == {"2027-01-01": "rest", "2027-01-02": "rest", "2027-01-03": "rest", "2027-01-09": "makeup-working-day"}
    assert verify_cases(ws).exit_code == 0  # the load is recorded in the @workspace stream, chained like the rest


def test_calendar_load_by_a_clerk_is_refused_under_role_01_and_loads_nothing(ws, tmp_path: Path):
    f = write_json(tmp_path / "2027.json", TEST_NOTICE_2027)
    code, out, err = juece(ws.home, "calendar", "load", str(f), "--json", actor="clerk:李明")
    assert code == 3, (out, err)
    error = json.loads(out)["error"]
    assert error["code"] == "ROLE-01" and "CAL-05" in error["article"] and "admin" in error["message"]
    assert juece(ws.home, "calendar", "days", "2027")[0] == 3


def test_moving_the_simulated_clock_backwards_is_bad_input(ws):
    code, out, err = juece(ws.home, "clock", "set", "2025-08-01T09:00+08:00", actor="admin:系统管理员")
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert "only moves forward" in one_line(err)
    code, out, err = juece(ws.home, "clock", "set", "2025-08-26T09:00+08:00", actor="admin:系统管理员")
    assert code == 0, err


# --- fuzz: whatever arrives, `record` records it or says why not ------------------------------------------------

_ODD_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\u202e", "李\u202e明", "\u200b", "\ufeff", "，。：；！？（）【】《》", "２０２５－０９－０１",
    "2025-02-30", "2025-13-01", "0001-01-01", "9999-12-31", "1900-01-01", "2030-01-01", "2025-09-01", "2025-10-20",
    "high", "lawful", "approved", "executive", "website", "𠀀𠀁", "e\u0301", "'; DROP TABLE events; --", "\n", "\t",
    "a" * 400, "中" * 301,
])
_TEXT = st.one_of(_ODD_TEXT, st.text(max_size=20))
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**53, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), _TEXT,
)


def _json_ish(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=8,
    )


@st.composite
def _records(draw: st.DrawFn) -> tuple[str, Any, str, list[tuple[str, str]]]:
    event = draw(st.sampled_from(RECORDABLE))
    fields = sorted(EVENT_TYPES[event].model_json_schema(by_alias=True).get("properties", {}))
    known = st.sampled_from(fields or ["x"])
    keys = st.one_of(known, known, known, _TEXT, st.sampled_from(["name", "side", "member", "kind", "ref"]))
    base = draw(st.sampled_from([GOOD.get(event, EVENT_TYPES[event].example), EVENT_TYPES[event].example, {}]))
    changes = draw(st.dictionaries(keys, _json_ish(keys), max_size=2))
    data: Any = {**base, **changes}
    if draw(st.integers(0, 19)) == 0:
        data = draw(_json_ish(keys))  # sometimes not an object at all
    usual = ROLE_OF[event].label if event in ROLE_OF else "legal-office:张伟"
    role = draw(st.sampled_from([usual, usual, "clerk:李明", "auditor:赵审计"]))
    acks = draw(st.lists(st.tuples(st.sampled_from(["PP-05", "LEG-04", "CD-04", "XX-99", ""]), _TEXT), max_size=2))
    return event, data, role, acks


@pytest.fixture(scope="module")
def fuzz_case(tmp_path_factory: pytest.TempPathFactory) -> Driver:
    """A case launched on 2025-08-25 in a workspace whose clock then stands at 2026-06-30 (every good date is past)."""
    ws = new_workspace(tmp_path_factory.mktemp("fuzz") / "ws")
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.clock_to(datetime(2026, 6, 30, tzinfo=LOCAL).date())
    return d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records())
def test_record_either_records_or_raises_a_decision_error_for_any_json_payload(fuzz_case: Driver, record):
    from flows.usecases.workspace import parse_actor

    event, data, role, acks = record
    try:
        record_event(fuzz_case.ws, parse_actor(role), fuzz_case.case_id, event, data, acknowledge=acks)
    except DecisionError:
        pass
    report = verify_cases(fuzz_case.ws, [fuzz_case.case_id])
    assert all(v.intact for v in report.cases)

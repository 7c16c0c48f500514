"""What a black-box audit of the command line against PRODUCT.md ("The command line (stable contract)", "Exit codes",
"Accounts") found, each through the real `juece` executable on a real workspace:

- a JUECE_DATABASE_URL juece cannot use (no scheme, another kind of database, an in-memory SQLite, a driver that is
  not there, a server that does not answer) was a Python traceback; now bad input (2) or the environment (1), in one
  sentence, with the password hidden and no workspace folder left behind;
- a damaged workspace.json was a traceback; now an integrity failure (4) naming the file and the way back;
- `--idempotency-key ""` was silently no key (a retry launched a second case); now bad input;
- `attach --non-disclosure ""` recorded the document as public; now bad input, no record, no blob;
- `case adjust --decided-on 2026-13-01` named the child case's `case-launched` payload; now it names --decided-on;
- `--as ROLE:NAME` was checked only by writing commands; the contract says that once a workspace has accounts it must
  name an active account holding that role, so reading commands refuse a disabled or unknown name too (AUTH-01).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import LAUNCH, history_length, one_line

JUECE = str(Path(sys.executable).with_name("juece"))


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """`juece ARGS…` with only the JUECE_ variables given in `env`; (exit code, stdout, stderr)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    base["COLUMNS"] = "250"
    proc = subprocess.run([JUECE, *args], input=stdin, capture_output=True, text=True, env={**base, **(env or {})},
                          timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def error_of(out: str) -> dict:
    data = json.loads(out)  # exactly one JSON object on stdout
    assert set(data) == {"error"}, data
    return data["error"]


def cases_in(home: Path) -> list[str]:
    code, out, err = run("--home", str(home), "case", "list", "--json")
    assert code == 0, err
    return [c["case_id"] for c in json.loads(out)["cases"]]


# --- JUECE_DATABASE_URL ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["juece.db", "mysql://root@localhost/juece", "sqlite://", "sqlite:///:memory:",
                                 "postgresql+nodriver://u@localhost/juece"])
def test_a_database_url_juece_cannot_use_is_bad_input_and_init_leaves_no_folder(tmp_path: Path, url: str):
    home = tmp_path / "new" / "ws"
    code, out, err = run("--home", str(home), "init", "--json", env={"JUECE_DATABASE_URL": url})
    assert code == 2, (out, err)
    error = error_of(out)
    assert error["field"] == "JUECE_DATABASE_URL" and error["exit_code"] == 2
    assert not (tmp_path / "new").exists()
    code, out, err = run("--home", str(home), "init", env={"JUECE_DATABASE_URL": url})
    assert code == 2 and out == ""
    assert "bad input (exit 2)" in one_line(err) and "JUECE_DATABASE_URL" in err


def test_an_unusable_database_url_on_an_existing_workspace_is_bad_input_for_every_command(ws):
    for argv in (("case", "list", "--json"), ("case", "show", "JC-2025-0001", "--json"), ("audit", "verify", "--json")):
        code, out, err = run("--home", str(ws.home), *argv, env={"JUECE_DATABASE_URL": "not a url"})
        assert code == 2, (argv, out, err)
        assert error_of(out)["field"] == "JUECE_DATABASE_URL"


def test_a_database_server_that_does_not_answer_is_the_environment_exit_1_with_the_password_hidden(tmp_path: Path):
    url = "postgresql+psycopg://juece:s3cret-pw@127.0.0.1:1/juece"  # port 1: nothing listens there
    home = tmp_path / "ws"
    code, out, err = run("--home", str(home), "init", "--json", env={"JUECE_DATABASE_URL": url})
    assert code == 1, (out, err)
    error = error_of(out)
    assert error["exit_code"] == 1 and "cannot reach the case store" in error["message"]
    assert "s3cret-pw" not in out + err and "127.0.0.1:1" in error["message"]
    assert not home.exists()


def test_a_workspace_made_on_postgresql_and_opened_without_its_url_says_to_set_it(tmp_path: Path):
    """workspace.json records the kind of database JUECE_DATABASE_URL named at `init` (never the URL: it may carry a
    password); opened without the variable, the workspace says so (exit 2, naming it) — it read as a damaged store,
    "restore from the backup", because the workspace's own juece.db is not there. A workspace on its own SQLite file
    records nothing and opens as before."""
    from backends import postgres_schema

    home = tmp_path / "ws"
    with postgres_schema() as url:
        code, out, err = run("--home", str(home), "init", "--json", env={"JUECE_DATABASE_URL": url})
        assert code == 0, (out, err)
        config = json.loads((home / "workspace.json").read_text(encoding="utf-8"))
        assert config["database"] == "PostgreSQL" and url not in json.dumps(config)
        code, out, err = run("--home", str(home), "--as", "legal-office:张伟", *LAUNCH, env={"JUECE_DATABASE_URL": url})
        assert code == 0, (out, err)
        for argv in (("case", "list", "--json"), ("audit", "verify", "--json"), ("init", "--json")):
            code, out, err = run("--home", str(home), *argv)
            assert code == 2, (argv, out, err)
            error = error_of(out)
            assert error["field"] == "JUECE_DATABASE_URL" and "PostgreSQL" in error["message"], error
            assert "damaged" not in error["message"]
        assert not (home / "juece.db").exists()  # nothing made in its place
        code, out, err = run("--home", str(home), "case", "list", "--json", env={"JUECE_DATABASE_URL": url})
        assert code == 0 and len(json.loads(out)["cases"]) == 1, (out, err)
    own = tmp_path / "own"
    code, out, err = run("--home", str(own), "init", "--json")
    assert code == 0 and "database" not in json.loads((own / "workspace.json").read_text(encoding="utf-8"))


def test_init_shows_the_database_without_its_password_and_the_workspaces_own_clock(tmp_path: Path):
    """`init --json` answers with the database URL — without the password JUECE_DATABASE_URL may carry (it was printed
    whole) — and, on an existing workspace, the workspace's own simulated clock as it stands (it was null)."""
    from backends import postgres_schema

    with postgres_schema() as url:
        secret = url.replace("postgres@", "postgres:s3cret-pw@", 1)  # trust auth here: the password is not checked
        assert secret != url
        code, out, err = run("--home", str(tmp_path / "pg"), "init", "--json", env={"JUECE_DATABASE_URL": secret})
        assert code == 0, (out, err)
        assert "s3cret-pw" not in out + err and json.loads(out)["database"].startswith("postgresql+psycopg://postgres:")
    home = tmp_path / "sim"
    code, out, err = run("--home", str(home), "init", "--simulated-clock", "2025-08-25T09:00", "--json")
    assert code == 0 and json.loads(out)["simulated_clock"] == "2025-08-25T09:00", (out, err)
    code, out, err = run("--home", str(home), "--as", "admin:王芳", "clock", "set", "2025-09-01T10:00", "--json")
    assert code == 0, (out, err)
    code, out, err = run("--home", str(home), "init", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["created"] is False and answer["simulated_clock"].startswith("2025-09-01T10:00"), answer
    code, out, err = run("--home", str(tmp_path / "system"), "init", "--json")
    code, out, err = run("--home", str(tmp_path / "system"), "init", "--json")
    assert code == 0 and json.loads(out)["simulated_clock"] is None


# --- a damaged workspace file ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{broken", b"\xff\xfe", b"[]", b'"a string"'])
def test_a_damaged_workspace_file_is_an_integrity_failure_naming_it_never_a_traceback(ws, content: bytes):
    cfg = ws.home / "workspace.json"
    cfg.write_bytes(content)
    for argv in (("case", "list"), ("init",), ("--as", "legal-office:张伟", *LAUNCH)):
        code, out, err = run("--home", str(ws.home), *argv, "--json")
        assert code == 4, (argv, out, err)
        error = error_of(out)
        assert error["code"] == "damaged-store" and str(cfg) in error["message"]
        assert "restore" in error["message"] and "docs/deployment.md" in error["message"]
    assert cfg.read_bytes() == content  # left as it was, for whoever restores it
    assert history_length(ws, "@workspace") == 1


# --- --idempotency-key "" ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_idempotency_key_is_bad_input_not_a_second_launch(ws, key: str):
    for _ in range(2):  # the retry a key is for
        code, out, err = run("--home", str(ws.home), "--as", "legal-office:张伟", *LAUNCH, "--idempotency-key", key,
                             "--json")
        assert code == 2, (out, err)
        error = error_of(out)
        assert error["field"] == "--idempotency-key" and "empty" in error["message"]
    assert cases_in(ws.home) == []


def test_an_empty_idempotency_key_on_record_is_bad_input_and_records_nothing(case):
    home = str(case.ws.home)
    _, example, _ = run("example", "consultation-opened")
    before = history_length(case.ws, case.case_id)
    code, out, err = run("--home", home, "--as", "clerk:李明", "record", case.case_id, "consultation-opened",
                         "--file", "-", "--idempotency-key", "", "--json", stdin=example)
    assert code == 2, (out, err)
    assert error_of(out)["field"] == "--idempotency-key"
    assert history_length(case.ws, case.case_id) == before


# --- attach --non-disclosure "" ----------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", ["", "  "])
def test_non_disclosure_without_its_basis_is_bad_input_and_leaves_no_record_and_no_blob(case, tmp_path: Path,
                                                                                       basis: str):
    doc = tmp_path / "内部请示.txt"
    doc.write_text("不予公开的内部材料", encoding="utf-8")
    before = history_length(case.ws, case.case_id)
    code, out, err = run("--home", str(case.ws.home), "--as", "clerk:李明", "attach", case.case_id, str(doc),
                         "--title", "内部请示", "--non-disclosure", basis, "--json")
    assert code == 2, (out, err)
    error = error_of(out)
    assert error["field"] == "--non-disclosure" and "legal basis" in error["message"]
    assert history_length(case.ws, case.case_id) == before
    blobs = case.ws.home / "blobs" / "sha256"
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()]
    code, out, err = run("--home", str(case.ws.home), "--as", "clerk:李明", "attach", case.case_id, str(doc),
                         "--title", "内部请示", "--non-disclosure", "政府信息公开条例第十四条", "--json")
    assert code == 0, err
    assert json.loads(out)["seq"] == before + 1


# --- case adjust --decided-on ------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2026-13-01", "2026-2-1", ""])
def test_case_adjust_names_decided_on_as_typed_when_it_is_not_a_date(case, day: str):
    before = cases_in(case.ws.home)
    code, out, err = run("--home", str(case.ws.home), "--as", "legal-office:张伟", "case", "adjust", case.case_id,
                         "--kind", "amend", "--ground", "后评估建议修改", "--decided-on", day, "--json")
    assert code == 2, (out, err)
    error = error_of(out)
    assert error["field"] == "--decided-on" and "YYYY-MM-DD" in error["message"]
    assert cases_in(case.ws.home) == before


# --- --as on reading commands, once the workspace has accounts ---------------------------------------------------


@pytest.fixture
def accounts(case):
    """The case's workspace with accounts: 管理员 (admin), 赵审计 (auditor), 李明 (clerk, then disabled)."""
    home = str(case.ws.home)
    for argv in (("--as", "admin:管理员", "user", "add", "管理员", "--role", "admin"),
                 ("--as", "admin:管理员", "user", "add", "赵审计", "--role", "auditor"),
                 ("--as", "admin:管理员", "user", "add", "李明", "--role", "clerk"),
                 ("--as", "admin:管理员", "user", "disable", "李明")):
        code, out, err = run("--home", home, *argv)
        assert code == 0, err
    return case


@pytest.mark.parametrize("actor, why", [("clerk:李明", "disabled"), ("auditor:无此人", "not an account"),
                                        ("admin:赵审计", "did not hold the role")])
def test_reading_as_someone_who_is_not_an_active_account_holding_the_role_is_refused_under_auth_01(accounts, actor,
                                                                                                    why):
    home, case_id = str(accounts.ws.home), accounts.case_id
    for argv in (("case", "list"), ("case", "show", case_id), ("audit", "replay", case_id), ("audit", "verify"),
                 ("user", "list")):
        code, out, err = run("--home", home, "--as", actor, *argv, "--json")
        assert code == 3, (argv, out, err)
        error = error_of(out)
        assert error["code"] == "AUTH-01" and error["rule"] == "AUTH-01" and error["article"], error
        assert why in error["message"]
        code, out, err = run("--home", home, *argv, "--json", env={"JUECE_ACTOR": actor})
        assert code == 3 and error_of(out)["code"] == "AUTH-01"
    code, out, err = run("--home", home, "--as", actor, "case", "show", case_id)
    assert code == 3 and out == "" and "AUTH-01" in err


def test_reading_as_an_active_account_or_without_naming_anyone_still_works(accounts):
    home, case_id = str(accounts.ws.home), accounts.case_id
    code, out, err = run("--home", home, "--as", "auditor:赵审计", "case", "show", case_id, "--json")
    assert code == 0, err
    assert json.loads(out)["case_id"] == case_id
    code, out, err = run("--home", home, "case", "show", case_id, "--json")
    assert code == 0, err
    code, out, err = run("--home", home, "--as", "auditor:赵审计", "audit", "verify", case_id, "--json")
    assert code == 0, err
    assert [c["case_id"] for c in json.loads(out)["cases"]] == [case_id]


def test_without_accounts_any_well_formed_name_may_read(case):
    code, out, err = run("--home", str(case.ws.home), "--as", "auditor:随便谁", "case", "list", "--json")
    assert code == 0, err
    assert [c["case_id"] for c in json.loads(out)["cases"]] == [case.case_id]
    code, out, err = run("--home", str(case.ws.home), "--as", "boss:x", "case", "list", "--json")
    assert code == 2 and error_of(out)["field"] == "--as"


# --- moments and payloads Python cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:00-12:00", "0001-01-01T07:59",
                                    "0001-01-01"])
def test_an_as_of_outside_the_years_python_holds_in_beijing_time_is_bad_input(case, moment: str):
    """`case show --as-of 9999-12-31T23:59:59+00:00` was an OverflowError: it is the year 10000 in Asia/Shanghai."""
    for argv in (("case", "show", case.case_id), ("audit", "replay", case.case_id), ("due",)):
        code, out, err = run("--home", str(case.ws.home), *argv, "--as-of", moment, "--json")
        assert code == 2, (argv, out, err)
        error = error_of(out)
        assert error["field"] == "--as-of" and moment in error["message"]
    code, out, err = run("--home", str(case.ws.home), "case", "show", case.case_id, "--as-of", "9999-12-31", "--json")
    assert code == 0, err  # the end of the last day Python holds is still a moment


@pytest.mark.parametrize("text, said", [
    ('{"reported_on": "2025-08-25", "unit": "\\ud800", "status": "x"}', "lone surrogate"),
    ('{"reported_on": "2025-08-25", "unit": "u", "status": "x", "n": ' + "9" * 5000 + "}", "digits"),
])
def test_json_python_parses_but_cannot_hold_is_bad_input_wherever_a_file_is_read(case, tmp_path: Path, text: str,
                                                                                said: str):
    """A lone surrogate escape was a TypeError in the canonical bytes, a 5,000-digit number a ValueError."""
    home = str(case.ws.home)
    before = history_length(case.ws, case.case_id)
    code, out, err = run("--home", home, "--as", "clerk:李明", "record", case.case_id, "execution-reported", "--file",
                         "-", "--json", stdin=text)
    assert code == 2, (out, err)
    assert said in error_of(out)["message"]
    path = tmp_path / "notice.json"
    path.write_text(text, encoding="utf-8")
    code, out, err = run("--home", home, "--as", "admin:管理员", "calendar", "load", str(path), "--json")
    assert code == 2, (out, err)
    assert said in error_of(out)["message"]
    code, out, err = run("--home", home, "--as", "legal-office:张伟", *LAUNCH, "--proposal", str(path), "--json")
    assert code == 2, (out, err)
    assert said in error_of(out)["message"]
    assert history_length(case.ws, case.case_id) == before
    assert cases_in(case.ws.home) == [case.case_id]


# --- empty values that were read as something else ---------------------------------------------------------------


@pytest.fixture
def published(case):
    """A case whose decision is published (archivable)."""
    from support import MANDATORY_PATH

    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    return case


def test_an_empty_path_is_a_usage_error_naming_its_parameter_not_a_folder_called_dot(published, tmp_path: Path):
    """`Path("")` is `.`: `archive export --out ""` answered ". already exists", `attach CASE ""` blamed --name."""
    home, case_id = str(published.ws.home), published.case_id
    attempts = [
        (("--as", "archivist:档案员", "archive", "export", case_id, "--out", ""), "--out"),
        (("audit", "checkpoint", "--out", ""), "--out"),
        (("archive", "verify", ""), "DIR"),
        (("--as", "clerk:李明", "attach", case_id, "", "--title", "x"), "FILE"),
        (("publication", "verify", case_id, "--file", ""), "--file"),
        (("--as", "clerk:李明", "comments", "import", case_id, ""), "FILE"),
        (("audit", "verify", "--checkpoint", ""), "--checkpoint"),
    ]
    before = history_length(published.ws, case_id)
    for argv, field in attempts:
        code, out, err = run("--home", home, *argv, "--json")
        assert code == 2, (argv, out, err)
        error = error_of(out)
        assert error["code"] == "usage" and error["field"] == field and "empty path" in error["message"], error
        assert not error["message"].startswith(".")
    assert history_length(published.ws, case_id) == before



def test_an_empty_home_or_actor_is_a_usage_error_not_a_fall_back_to_the_environment(case, tmp_path: Path):
    """`--home ""` fell back to JUECE_HOME or ./.juece, `--as ""` to JUECE_ACTOR: another workspace, another person."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    proc = subprocess.run([JUECE, "--home", "", "init", "--json"], capture_output=True, text=True, cwd=cwd,
                          env={k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert error_of(proc.stdout)["field"] == "--home"
    assert list(cwd.iterdir()) == []  # no ./.juece made
    code, out, err = run("--home", "", "case", "show", case.case_id, "--json",
                         env={"JUECE_HOME": str(case.ws.home)})
    assert code == 2 and error_of(out)["field"] == "--home"
    _, example, _ = run("example", "consultation-opened")
    before = history_length(case.ws, case.case_id)
    code, out, err = run("--home", str(case.ws.home), "--as", "", "record", case.case_id, "consultation-opened",
                         "--file", "-", "--json", stdin=example, env={"JUECE_ACTOR": "clerk:李明"})
    assert code == 2 and error_of(out)["field"] == "--as"
    assert history_length(case.ws, case.case_id) == before


def test_an_account_name_too_long_for_role_name_is_bad_input_not_a_validation_traceback(ws):
    """`user add` with a 500-character name was a pydantic ValidationError (the recorded name holds 300); the limit
    is the longest name `--as legal-office:NAME` still carries."""
    home = str(ws.home)
    code, out, err = run("--home", home, "--as", "admin:管理员", "user", "add", "x" * 500, "--role", "clerk", "--json")
    assert code == 2, (out, err)
    error = error_of(out)
    assert error["field"] == "NAME" and "500 characters" in error["message"]
    longest = "y" * error["limit"]
    code, out, err = run("--home", home, "--as", "admin:管理员", "user", "add", longest, "--role", "legal-office",
                         "--json")
    assert code == 0, err
    code, out, err = run("--home", home, "--as", f"legal-office:{longest}", "case", "list", "--json")
    assert code == 0, err  # the account can act
    code, out, err = run("--home", home, "user", "list", "--json")
    assert [a["name"] for a in json.loads(out)["accounts"]] == [longest]

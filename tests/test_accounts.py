"""Accounts and AUTH-01 (PRODUCT.md "Accounts, the web console and the HTTP API"; PROCEDURE.md (d)).

Accounts, grants, revocations and disabling are events of the hash-chained workspace history; credential material is
not. Once a workspace has accounts every record's actor must be an active account holding the role at that moment —
refused live, and found again by `audit verify` judging each record by the grants as they stood.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import text

from flows.usecases.accounts import add_account, change_password, disable_account, grant_role, issue_token, revoke_role
from flows.usecases.audit import verify_cases
from flows.usecases.clock import LOCAL
from flows.usecases.workspace import Actor
from models import store
from models.db import write_transaction
from models.events import SCHEMA_VERSION
from models.store import NewEvent
from policies.errors import BadInput, RuleRefusal
from support import ADMIN, CLERK, LEGAL, REVIEWER, SECRETARY, Driver, payload
from test_cli import JUECE, juece  # noqa: F401  (the real executable)

PASSWORD = "Sanya-2025-河西片区"


def with_accounts(ws):
    """The support module's actors as accounts: the admin first (made by an admin actor while there are none)."""
    add_account(ws, ADMIN, ADMIN.name, ["admin"], PASSWORD)
    for a in (LEGAL, CLERK, REVIEWER, SECRETARY):
        add_account(ws, ADMIN, a.name, [a.role], PASSWORD)


def append_directly(ws, case_id: str, actor: str, event: str, body: dict, at: datetime) -> None:
    """Write a record behind the engine's back (no live check): what a tampering insider with database access does."""
    from flows.usecases.record import validate_payload

    data = validate_payload(event, body).body
    role = actor.split(":", 1)[0]
    with write_transaction(ws.engine) as conn:
        events = store.load_stream(conn, case_id)
        store.append(conn, case_id, events, [NewEvent(event, SCHEMA_VERSION, data, actor, role, f"direct:{event}:{actor}",
                                                      events[0].envelope["policy"], events[0].envelope["policy_hash"])], at)


def auth_findings(ws, case_id: str) -> list[dict]:
    report = verify_cases(ws, [case_id])
    return [f for f in report.cases[0].findings if f["rule"] == "AUTH-01"]


def test_the_first_account_is_made_by_an_admin_actor_and_from_then_on_the_admin_must_be_an_account(tmp_path) -> None:
    home = tmp_path / "ws"
    assert juece(home, "init")[0] == 0
    code, out, _ = juece(home, "user", "add", "管理员", "--role", "admin", "--json", actor="admin:root")
    assert code == 0
    first = json.loads(out)
    assert first["name"] == "管理员" and first["roles"] == ["admin"] and len(first["password"]) >= 12

    code, out, _ = juece(home, "user", "add", "李明", "--role", "clerk", "--json", actor="admin:root")
    assert code == 3
    err = json.loads(out)["error"]
    assert err["code"] == "AUTH-01" and "PROCEDURE.md (d)" in err["article"] and "root" in err["message"]

    code, out, _ = juece(home, "user", "add", "李明", "--role", "clerk", "--json", actor="admin:管理员")
    assert code == 0
    code, out, _ = juece(home, "user", "list", "--json")
    assert json.loads(out)["accounts"] == [
        {"name": "管理员", "roles": ["admin"], "active": True, "locked": False},
        {"name": "李明", "roles": ["clerk"], "active": True, "locked": False},
    ]


def test_once_there_are_accounts_the_command_line_actor_must_be_an_active_account_holding_the_role(tmp_path) -> None:
    home = tmp_path / "ws"
    juece(home, "init")
    juece(home, "user", "add", "管理员", "--role", "admin", actor="admin:root")
    juece(home, "user", "add", "张伟", "--role", "legal-office", actor="admin:管理员")
    launch = ("case", "launch", "--title", "停车场规划", "--category", "plan", "--organ", "三亚市人民政府",
              "--lead-unit", "三亚市交通运输局", "--json")
    assert juece(home, *launch, actor="legal-office:张伟")[0] == 0
    for who in ("legal-office:冒名者", "clerk:张伟"):
        code, out, err = juece(home, *launch, actor=who)
        assert code == 3 and json.loads(out)["error"]["code"] == "AUTH-01"
        assert "Traceback" not in err
    juece(home, "user", "disable", "张伟", actor="admin:管理员")
    code, out, _ = juece(home, *launch, actor="legal-office:张伟")
    assert code == 3 and "disabled" in json.loads(out)["error"]["message"]
    assert [c["case_id"] for c in json.loads(juece(home, "case", "list", "--json")[1])["cases"]] == ["JC-2026-0001"]


def test_a_workspace_without_accounts_works_as_before(case) -> None:
    case.walk(["consultation-opened"])
    assert case.status("public_participation") == "in-progress"
    assert auth_findings(case.ws, case.case_id) == []


def test_the_password_and_token_are_kept_out_of_the_history_and_the_token_only_as_a_hash(ws) -> None:
    with_accounts(ws)
    token, token_id = issue_token(ws, ADMIN, CLERK.name)
    with ws.engine.connect() as conn:
        bodies = b"".join(r[0] for r in conn.execute(text("SELECT body FROM events")))
        hashes = [r[0] for r in conn.execute(text("SELECT password_hash FROM credentials"))]
        tokens = [tuple(r) for r in conn.execute(text("SELECT token_hash, token_id FROM api_tokens"))]
    assert PASSWORD.encode() not in bodies and b"argon2" not in bodies and token.encode() not in bodies
    assert token_id.encode() in bodies  # the issuance is history; the token is not
    assert all(h.startswith("$argon2id$") for h in hashes) and len(hashes) == 5
    assert tokens == [(tokens[0][0], token_id)] and token not in tokens[0][0]


def test_a_weak_password_is_refused_and_none_of_the_last_five_may_return(ws) -> None:
    with pytest.raises(BadInput, match="at least 12 characters"):
        add_account(ws, ADMIN, "弱口令", ["clerk"], "short1A")
    with pytest.raises(BadInput, match="three|at least 3 of"):
        add_account(ws, ADMIN, "弱口令", ["clerk"], "alllowercaseletters")
    add_account(ws, ADMIN, ADMIN.name, ["admin"], PASSWORD)
    history = [PASSWORD] + [f"Next-Passw0rd-{i}" for i in range(5)]
    for old, new in zip(history, history[1:]):
        change_password(ws, ADMIN.name, old, new)
    with pytest.raises(BadInput, match="used before"):
        change_password(ws, ADMIN.name, history[-1], history[-2])
    change_password(ws, ADMIN.name, history[-1], history[0])  # the sixth back is allowed again


def test_a_clerk_account_cannot_record_a_step_of_a_role_it_does_not_hold_and_nothing_is_written(ws) -> None:
    with_accounts(ws)
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    with pytest.raises(RuleRefusal) as exc:
        d.record("consultation-opened", actor=Actor("clerk", REVIEWER.name))
    assert exc.value.code == "AUTH-01" and "did not hold the role clerk" in exc.value.message
    assert d.show().events == 1  # no record, and no attempt either: the actor was not who it claimed


def test_a_record_written_directly_by_an_actor_without_the_role_at_that_moment_is_an_audit_finding(ws) -> None:
    with_accounts(ws)
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(["consultation-opened"])
    at = datetime(2025, 10, 10, 18, 0, tzinfo=LOCAL)
    d.clock_to(at.date())
    append_directly(ws, d.case_id, f"clerk:{REVIEWER.name}", "participation-concluded", payload("participation-concluded"), at)
    found = auth_findings(ws, d.case_id)
    assert [(f["seq"], f["actor"]) for f in found] == [(3, f"clerk:{REVIEWER.name}")]
    assert "did not hold the role clerk" in found[0]["message"]


@pytest.mark.parametrize("who", ["never-existed", "disabled"])
def test_a_record_written_directly_by_an_unknown_or_disabled_account_is_an_audit_finding(ws, who: str) -> None:
    with_accounts(ws)
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    name = "冒名者" if who == "never-existed" else CLERK.name
    if who == "disabled":
        disable_account(ws, ADMIN, CLERK.name)
    at = datetime(2025, 9, 1, 18, 0, tzinfo=LOCAL)
    d.clock_to(at.date())
    append_directly(ws, d.case_id, f"clerk:{name}", "consultation-opened", payload("consultation-opened"), at)
    found = auth_findings(ws, d.case_id)
    assert len(found) == 1 and found[0]["seq"] == 2
    assert ("not an account" if who == "never-existed" else "disabled") in found[0]["message"]


def test_a_revocation_after_the_record_does_not_make_it_a_finding_but_a_record_after_it_is(ws) -> None:
    with_accounts(ws)
    d = Driver(ws)
    d.launch("risk-relevant", "technical")
    d.walk(["consultation-opened"])  # by the clerk account, while it held the role
    revoke_role(ws, ADMIN, CLERK.name, "clerk")
    assert auth_findings(ws, d.case_id) == []
    at = datetime(2025, 10, 10, 18, 0, tzinfo=LOCAL)
    d.clock_to(at.date())
    append_directly(ws, d.case_id, CLERK.label, "participation-concluded", payload("participation-concluded"), at)
    assert [f["seq"] for f in auth_findings(ws, d.case_id)] == [3]
    grant_role(ws, ADMIN, CLERK.name, "clerk")  # granting it back later does not cure the record made without it
    assert [f["seq"] for f in auth_findings(ws, d.case_id)] == [3]


def test_account_changes_by_someone_who_was_not_an_admin_account_are_workspace_findings(ws) -> None:
    with_accounts(ws)
    with write_transaction(ws.engine) as conn:
        events = store.load_stream(conn, store.WORKSPACE_STREAM)
        store.append(conn, store.WORKSPACE_STREAM, events, [NewEvent(
            "role-granted", SCHEMA_VERSION, {"name": CLERK.name, "role": "head"}, "admin:冒名者", "admin", "direct-grant")],
            datetime(2025, 8, 25, 10, 0, tzinfo=LOCAL))
    report = verify_cases(ws)
    assert report.workspace is not None and report.workspace.intact
    assert [(f["rule"], f["event"]) for f in report.workspace.findings] == [("AUTH-01", "role-granted")]
    assert report.exit_code == 5


def test_the_security_log_is_append_only(ws) -> None:
    add_account(ws, ADMIN, ADMIN.name, ["admin"], PASSWORD)
    with pytest.raises(Exception, match="append-only"):
        with ws.engine.begin() as conn:
            conn.execute(text("UPDATE security_log SET detail = 'x'"))
    with pytest.raises(Exception, match="append-only"):
        with ws.engine.begin() as conn:
            conn.execute(text("DELETE FROM security_log"))


def test_only_an_admin_manages_accounts(ws) -> None:
    with_accounts(ws)
    with pytest.raises(RuleRefusal) as exc:
        add_account(ws, LEGAL, "新人", ["clerk"], PASSWORD)
    assert exc.value.code == "ROLE-01"
    with pytest.raises(BadInput, match="already an account"):
        add_account(ws, ADMIN, CLERK.name, ["clerk"], PASSWORD)
    with pytest.raises(BadInput, match="no role"):
        grant_role(ws, ADMIN, CLERK.name, "mayor")

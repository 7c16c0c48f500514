"""The decision catalog (重大行政决策事项目录, 条例 art. 3(3)): SCP-05 — a version is published only with the Party
committee's consent, adjustments are new versions; SCP-06 — the year-end report of catalog items not yet archived.
Through the use cases and through the real command line."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.usecases.archive import export_archive
from flows.usecases.audit import verify_cases
from flows.usecases.show import list_cases
from flows.usecases.catalog import list_catalogs, publish_catalog, year_end_report
from models import store
from models.db import read_transaction, write_transaction
from models.events import SCHEMA_VERSION
from models.store import WORKSPACE_STREAM, NewEvent
from policies.errors import BadInput, RuleRefusal
from policies.pack import load_pack
from support import CLERK, LEGAL, MANDATORY_PATH, Actor, Driver
from test_cli import juece, one_line, write_json

ARCHIVIST = Actor("archivist", "周档案")
ORGAN = "三亚市人民政府"
CATALOG: dict[str, Any] = {
    "organ": ORGAN,
    "year": 2025,
    "version": 1,
    "items": [
        {"item_no": "1", "title": "三亚市河西片区棚户区改造项目", "category": "public-construction", "criteria": "投资10亿元以上",
         "lead_unit": "三亚市住房和城乡建设局", "planned_quarter": "2025Q3"},
        {"item_no": "2", "title": "三亚市公共停车场建设规划", "category": "plan", "criteria": "全市性规划",
         "lead_unit": "三亚市交通运输局", "planned_quarter": "2025Q4"},
    ],
    "party_consent": {"decided_on": "2025-02-20", "ref": "三委办〔2025〕12号"},
    "published_on": "2025-02-25",
    "url": "https://www.sanya.gov.cn/sanyasite/mulu/2025.html",
}


def catalog(**changes: Any) -> dict[str, Any]:
    c = copy.deepcopy(CATALOG)
    c.update(changes)
    return c


def workspace_events(ws) -> list:
    with read_transaction(ws.engine) as conn:
        return store.load_stream(conn, WORKSPACE_STREAM)


# --- SCP-05: publishing a catalog version -----------------------------------------------------------------------


def test_a_catalog_published_with_the_party_committees_consent_is_recorded_in_the_workspace_history(ws):
    r = publish_catalog(ws, LEGAL, catalog())
    assert (r.organ, r.year, r.version, r.items, r.repeated) == (ORGAN, 2025, 1, 2, False)
    last = workspace_events(ws)[-1]
    assert (last.type, last.seq, last.role) == ("catalog-published", r.seq, "legal-office")
    assert last.payload["party_consent"] == {"decided_on": "2025-02-20", "ref": "三委办〔2025〕12号"}
    assert last.envelope["policy_hash"] == load_pack("cn-2019").hash
    [(version, current)] = list_catalogs(ws)
    assert current and [i["item_no"] for i in version.items] == ["1", "2"]
    assert verify_cases(ws).exit_code == 0


@pytest.mark.parametrize("consent", [None, {}, {"decided_on": "2025-02-20"}, {"ref": "三委办〔2025〕12号"},
                                     {"decided_on": "2025-02-20", "ref": "  "}], ids=repr)
def test_a_catalog_without_a_party_consent_record_is_refused_naming_SCP_05(ws, consent):
    data = catalog(party_consent=consent)
    if consent is None:
        del data["party_consent"]
    with pytest.raises(RuleRefusal) as exc:
        publish_catalog(ws, LEGAL, data)
    assert exc.value.code == "SCP-05" and exc.value.exit_code == 3
    assert "art. 3(3)" in exc.value.findings[0].article and "党委同意" in exc.value.message
    assert list_catalogs(ws) == []
    assert [e.type for e in workspace_events(ws)] == ["workspace-initialised", "attempt-refused"]


def test_a_catalog_published_before_the_consent_was_given_is_refused(ws):
    with pytest.raises(RuleRefusal) as exc:
        publish_catalog(ws, LEGAL, catalog(party_consent={"decided_on": "2025-02-26", "ref": "三委办〔2025〕12号"}))
    assert exc.value.code == "SCP-05"
    publish_catalog(ws, LEGAL, catalog(party_consent={"decided_on": "2025-02-25", "ref": "三委办〔2025〕12号"}))


def test_only_the_legal_office_publishes_a_catalog(ws):
    with pytest.raises(RuleRefusal) as exc:
        publish_catalog(ws, CLERK, catalog())
    assert exc.value.code == "ROLE-01"
    assert list_catalogs(ws) == []


def test_publishing_the_same_version_again_changes_nothing(ws):
    first = publish_catalog(ws, LEGAL, catalog())
    again = publish_catalog(ws, LEGAL, catalog())
    assert again.repeated and again.seq == first.seq
    assert len(list_catalogs(ws)) == 1


def test_an_adjustment_is_a_new_version_with_consent_and_a_reason(ws):
    publish_catalog(ws, LEGAL, catalog())
    items = CATALOG["items"] + [{"item_no": "3", "title": "三亚市生活垃圾分类管理办法", "category": "public-policy"}]
    with pytest.raises(BadInput) as exc:
        publish_catalog(ws, LEGAL, catalog(version=2, items=items, published_on="2025-06-10"))
    assert exc.value.details["field"] == "adjustment_reason"
    with pytest.raises(RuleRefusal):
        publish_catalog(ws, LEGAL, catalog(version=2, items=items, published_on="2025-06-10", party_consent=None,
                                           adjustment_reason="增列第3项"))
    publish_catalog(ws, LEGAL, catalog(version=2, items=items, published_on="2025-06-10", adjustment_reason="增列第3项",
                                       party_consent={"decided_on": "2025-06-05", "ref": "三委办〔2025〕31号"}))
    versions = list_catalogs(ws)
    assert [(v.version, current, len(v.items)) for v, current in versions] == [(1, False, 2), (2, True, 3)]


@pytest.mark.parametrize(("changes", "field"), [
    ({"version": 3, "adjustment_reason": "跳号"}, "version"),
    ({"version": 1, "url": "https://www.sanya.gov.cn/other.html"}, "version"),
])
def test_versions_run_one_after_another(ws, changes, field):
    publish_catalog(ws, LEGAL, catalog())
    with pytest.raises(BadInput) as exc:
        publish_catalog(ws, LEGAL, catalog(**changes))
    assert exc.value.details["field"] == field


def test_each_organ_and_year_has_its_own_versions(ws):
    publish_catalog(ws, LEGAL, catalog())
    publish_catalog(ws, LEGAL, catalog(organ="三亚市天涯区人民政府"))
    publish_catalog(ws, LEGAL, catalog(year=2026))
    assert sorted((v.organ, v.year, v.version) for v, _ in list_catalogs(ws)) == [
        ("三亚市人民政府", 2025, 1), ("三亚市人民政府", 2026, 1), ("三亚市天涯区人民政府", 2025, 1)]


@pytest.mark.parametrize(("data", "field"), [
    (catalog(items=[{"item_no": "1", "category": "plan"}]), "items.0.title"),
    (catalog(items=[{"item_no": "1", "title": "甲", "category": "budget"}]), "items.0.category"),
    (catalog(items=CATALOG["items"] + [dict(CATALOG["items"][0])]), "items"),
    (catalog(published_on="2025-09-30"), "published_on"),
    (catalog(party_consent={"decided_on": "2025-12-01", "ref": "三委办"}, published_on="2025-08-01"),
     "party_consent.decided_on"),
    (catalog(year="二〇二五"), "year"),
    (["not", "an", "object"], "(payload)"),
])
def test_a_malformed_catalog_is_bad_input_naming_the_field(ws, data, field):
    with pytest.raises(BadInput) as exc:
        publish_catalog(ws, LEGAL, data)
    assert exc.value.details["field"] == field
    assert list_catalogs(ws) == []


def test_a_catalog_appended_without_consent_behind_the_rules_back_is_an_audit_finding(ws):
    pack = load_pack("cn-2019")
    body = {**catalog(), "party_consent": None, "adjustment_reason": ""}
    for item in body["items"]:
        item.setdefault("criteria", "")
    with write_transaction(ws.engine) as conn:
        history = store.load_stream(conn, WORKSPACE_STREAM)
        store.append(conn, WORKSPACE_STREAM, history, [NewEvent("catalog-published", SCHEMA_VERSION, body, "legal-office:张伟",
                                                                "legal-office", "forged-catalog", pack.id, pack.hash)],
                     history[-1].moment)
    report = verify_cases(ws)
    assert report.exit_code == 5
    assert report.workspace is not None and report.workspace.intact
    assert [(f["rule"], f["event"]) for f in report.workspace.findings] == [("SCP-05", "catalog-published")]


# --- SCP-06: the year-end report --------------------------------------------------------------------------------


def archived_case(ws, item: str, tmp_path: Path) -> str:
    d = Driver(ws)
    d.launch("risk-relevant", "technical", catalog_item=item)
    d.walk(MANDATORY_PATH)
    d.walk(["party-reported", "decision-published"])
    export_archive(ws, ARCHIVIST, d.case_id, tmp_path / f"bag-{d.case_id}")
    return d.case_id


def test_the_year_end_report_lists_every_item_and_warns_for_those_not_archived(ws, tmp_path: Path):
    publish_catalog(ws, LEGAL, catalog())
    done = archived_case(ws, "1", tmp_path)
    report = year_end_report(ws, year=2025)
    assert [(i.item["item_no"], i.archived, [c.case_id for c in i.cases]) for i in report.items] == [
        ("1", True, [done]), ("2", False, [])]
    assert report.items[1].reason == "no case has been launched for this item"
    assert [(f.rule, f.enforcement, f.values["item_no"]) for f in report.findings] == [("SCP-06", "WARN", "2")]
    assert report.exit_code == 5


def test_an_item_whose_case_is_still_open_says_what_it_waits_on(ws):
    publish_catalog(ws, LEGAL, catalog())
    d = Driver(ws)
    d.launch("risk-relevant", "technical", catalog_item="2", category="plan")
    (item,) = [i for i in year_end_report(ws, year=2025).items if i.item["item_no"] == "2"]
    assert not item.archived and item.reason == f"{d.case_id} is open, waiting on AwaitingPublicParticipation"


def test_the_report_exits_0_once_every_item_is_archived(ws, tmp_path: Path):
    publish_catalog(ws, LEGAL, catalog(items=CATALOG["items"][:1]))
    archived_case(ws, "1", tmp_path)
    report = year_end_report(ws, year=2025)
    assert report.exit_code == 0 and report.findings == () and [i.archived for i in report.items] == [True]


def test_a_year_without_a_catalog_has_nothing_to_report(ws):
    report = year_end_report(ws, year=2024)
    assert report.items == () and report.exit_code == 0
    assert "no decision catalog is published" in report.notes[0]


def test_the_report_follows_the_catalog_version_in_force(ws):
    publish_catalog(ws, LEGAL, catalog())
    Driver(ws).launch(catalog_item="2", category="plan")
    publish_catalog(ws, LEGAL, catalog(version=2, items=CATALOG["items"][:1], published_on="2025-06-10",
                                       adjustment_reason="第2项调出目录",
                                       party_consent={"decided_on": "2025-06-05", "ref": "三委办〔2025〕31号"}))
    report = year_end_report(ws, year=2025)
    assert [i.item["item_no"] for i in report.items] == ["1"]
    assert any("item 2" in n and "no longer lists" in n for n in report.notes)


# --- the command line -------------------------------------------------------------------------------------------


def test_catalog_publish_list_and_report_through_the_command_line(ws, tmp_path: Path):
    home = ws.home
    f = write_json(tmp_path / "catalog.json", catalog())
    code, out, err = juece(home, "catalog", "publish", str(f), "--json", actor="legal-office:张伟")
    assert code == 0, err
    assert json.loads(out) == {"organ": ORGAN, "year": 2025, "version": 1, "items": 2, "seq": 2, "policy": "cn-2019",
                               "repeated": False}
    code, out, err = juece(home, "catalog", "list", "--json")
    assert code == 0, err
    (listed,) = json.loads(out)["catalogs"]
    assert (listed["version"], listed["current"], [i["item_no"] for i in listed["items"]]) == (1, True, ["1", "2"])
    assert listed["party_consent"] == {"decided_on": "2025-02-20", "ref": "三委办〔2025〕12号"}
    code, out, err = juece(home, "catalog", "report", "--year", "2025", "--json")
    assert code == 5, err
    data = json.loads(out)
    assert [(i["item_no"], i["archived"]) for i in data["items"]] == [("1", False), ("2", False)]
    assert [f["rule"] for f in data["findings"]] == ["SCP-06", "SCP-06"] and data["exit_code"] == 5
    code, out, err = juece(home, "catalog", "report", "--year", "2025")
    assert code == 5 and "SCP-06" in out and "no case has been launched" in out
    code, out, err = juece(home, "catalog", "report", "--year", "2024", "--json")
    assert code == 0 and json.loads(out)["items"] == []


def test_publishing_without_consent_through_the_command_line_exits_3_naming_SCP_05(ws, tmp_path: Path):
    data = catalog()
    del data["party_consent"]
    f = write_json(tmp_path / "catalog.json", data)
    code, out, err = juece(ws.home, "catalog", "publish", str(f), actor="legal-office:张伟")
    assert code == 3, (out, err)
    assert "SCP-05" in err and "art. 3(3)" in err and "党委" in err and "Traceback" not in err
    code, out, err = juece(ws.home, "catalog", "publish", str(f), "--json", actor="legal-office:张伟")
    assert code == 3 and json.loads(out)["error"]["code"] == "SCP-05"
    code, out, _ = juece(ws.home, "catalog", "list", "--json")
    assert json.loads(out) == {"catalogs": []}


@pytest.mark.parametrize(("args", "actor", "names"), [
    (["catalog", "publish", "nowhere.json"], "legal-office:张伟", "nowhere.json"),
    (["catalog", "publish", "bad.json"], "legal-office:张伟", "items.0.title"),
    (["catalog", "publish", "good.json"], None, "--as"),
    (["catalog", "publish", "good.json", "--policy", "cn-2030"], "legal-office:张伟", "cn-2030"),
    (["catalog", "report", "--year", "last"], None, "--year"),
])
def test_catalog_commands_give_bad_input_exit_2_naming_the_problem(ws, tmp_path: Path, args, actor, names):
    write_json(tmp_path / "good.json", catalog())
    write_json(tmp_path / "bad.json", catalog(items=[{"item_no": "1", "category": "plan"}]))
    args = [str(tmp_path / a) if a.endswith(".json") else a for a in args]
    code, out, err = juece(ws.home, *args, actor=actor)
    assert code == 2, (out, err)
    assert names in one_line(err) and "Traceback" not in err
    assert list_catalogs(ws) == []


def test_catalog_list_shows_what_people_typed_as_typed(ws, tmp_path: Path):
    typed = "河西片区[bold]棚改[/bold] <b>项目</b>"
    publish_catalog(ws, LEGAL, catalog(items=[{"item_no": "1", "title": typed, "category": "plan"}]))
    code, out, err = juece(ws.home, "catalog", "list")
    assert code == 0, err
    assert typed in out
    code, out, err = juece(ws.home, "catalog", "report", "--year", "2025")
    assert typed in out


def test_the_example_catalog_publishes_as_it_is_and_the_schema_describes_it(ws):
    import jsonschema

    code, example, err = juece(ws.home, "catalog", "example")
    assert code == 0, err
    code, schema, err = juece(ws.home, "catalog", "schema", "--json")
    assert code == 0, err
    jsonschema.validate(json.loads(example), json.loads(schema))
    code, out, err = juece(ws.home, "catalog", "publish", "-", "--json", actor="legal-office:张伟", stdin=example)
    assert code == 0, err
    assert json.loads(out)["items"] == len(json.loads(example)["items"])


# --- SCP-05 at launch: a case names an item of its organ's catalog, as the catalog stood -------------------------


def launched_payload(ws, case_id: str) -> dict[str, Any]:
    with read_transaction(ws.engine) as conn:
        first = store.load_stream(conn, case_id)[0]
    return {**first.payload, "acknowledgements": first.acknowledgements}


def test_a_case_launched_for_a_catalog_item_records_the_version_in_force(ws):
    publish_catalog(ws, LEGAL, catalog())
    d = Driver(ws)
    d.launch(catalog_item="1")
    launched = launched_payload(ws, d.case_id)
    assert (launched["catalog_item"], launched["catalog_version"], launched["acknowledgements"]) == ("1", 1, [])
    assert verify_cases(ws).exit_code == 0


def test_an_item_the_catalog_does_not_hold_is_refused_naming_SCP_05_and_launches_nothing(ws):
    publish_catalog(ws, LEGAL, catalog())
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch(catalog_item="9")
    f = exc.value.findings[0]
    assert (exc.value.code, f.enforcement) == ("SCP-05", "HARD") and "art. 3(3)" in f.article
    assert "no item 9" in f.message and "1, 2" in f.message
    assert list_cases(ws) == []


def test_an_item_named_while_the_organ_has_no_catalog_for_the_year_is_refused(ws):
    publish_catalog(ws, LEGAL, catalog(year=2024, published_on="2024-02-25",
                                       party_consent={"decided_on": "2024-02-20", "ref": "三委办〔2024〕9号"}))
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch(catalog_item="1")
    assert exc.value.code == "SCP-05" and "no decision catalog published for 2025" in exc.value.message
    assert list_cases(ws) == []


def test_a_case_linked_to_no_item_is_a_warning_once_the_organ_has_a_catalog_and_is_launched_when_acknowledged(ws):
    publish_catalog(ws, LEGAL, catalog())
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch()
    assert (exc.value.code, exc.value.findings[0].enforcement) == ("SCP-05", "WARN")
    assert list_cases(ws) == []
    reason = "临时增加的民生事项，目录调整程序进行中"
    d = Driver(ws)
    d.launch(acknowledge=[("SCP-05", reason)])
    assert [a["rule"] for a in launched_payload(ws, d.case_id)["acknowledgements"]] == ["SCP-05"]
    report = verify_cases(ws)
    assert report.exit_code == 0
    assert [(a["rule"], a["seq"], a["reason"]) for a in report.cases[0].acknowledged] == [("SCP-05", 1, reason)]


def test_without_a_catalog_for_the_organ_a_launch_needs_no_catalog_item(ws):
    publish_catalog(ws, LEGAL, catalog(organ="三亚市天涯区人民政府"))
    d = Driver(ws)
    d.launch()  # 三亚市人民政府 has no catalog: the contract's launch works as it always did (catalog_unlinked_warning)
    assert launched_payload(ws, d.case_id)["acknowledgements"] == []


def test_a_case_of_another_category_than_its_catalog_item_is_a_warning(ws):
    publish_catalog(ws, LEGAL, catalog())
    with pytest.raises(RuleRefusal) as exc:
        Driver(ws).launch(catalog_item="2", category="public-policy")
    assert (exc.value.code, exc.value.findings[0].enforcement) == ("SCP-05", "WARN")
    Driver(ws).launch(catalog_item="2", category="public-policy", acknowledge=[("SCP-05", "目录分类有误，已报调整")])


def test_a_catalog_published_after_a_launch_does_not_change_the_launchs_verdict(ws):
    Driver(ws).launch()  # no catalog yet: no warning
    publish_catalog(ws, LEGAL, catalog())
    d = Driver(ws)
    d.launch(catalog_item="2", category="plan")
    publish_catalog(ws, LEGAL, catalog(version=2, items=CATALOG["items"][:1], published_on="2025-06-10",
                                       adjustment_reason="第2项调出目录",
                                       party_consent={"decided_on": "2025-06-05", "ref": "三委办〔2025〕31号"}))
    report = verify_cases(ws)
    assert report.exit_code == 0, report.to_json()
    with pytest.raises(RuleRefusal):  # today the item is no longer listed
        Driver(ws).launch(catalog_item="2", category="plan")


def test_a_launch_appended_behind_the_rules_back_for_an_unlisted_item_is_an_audit_finding(ws):
    publish_catalog(ws, LEGAL, catalog())
    Driver(ws).launch(catalog_item="1")
    with write_transaction(ws.engine) as conn:
        first = store.load_stream(conn, "JC-2025-0001")[0]
        forged = {**first.payload, "catalog_item": "9", "title": "目录外事项"}
        store.append(conn, "JC-2025-0002", [], [NewEvent("case-launched", SCHEMA_VERSION, forged, "legal-office:张伟",
                                                          "legal-office", "forged-launch", "cn-2019",
                                                          first.envelope["policy_hash"])], first.moment)
    report = verify_cases(ws)
    assert report.exit_code == 5
    forged_verdict = next(v for v in report.cases if v.case_id == "JC-2025-0002")
    assert forged_verdict.intact and [(f["rule"], f["seq"]) for f in forged_verdict.findings] == [("SCP-05", 1)]


def test_an_adjustments_child_case_carries_its_parents_catalog_link(ws):
    from flows.usecases.adjustments import open_adjustment

    publish_catalog(ws, LEGAL, catalog())
    d = Driver(ws)
    d.launch("risk-relevant", "technical", catalog_item="1")
    d.walk(MANDATORY_PATH)
    d.walk(["party-reported", "decision-published"])
    d.record("execution-problem-reported")
    d.clock_to(date(2026, 1, 25))  # 2026: no catalog for the year; the child is not judged on it
    child, _ = open_adjustment(ws, LEGAL, d.case_id, kind="amend", ground="条例第三十五条：客观情况发生重大变化",
                               decided_on="2026-01-25")
    assert launched_payload(ws, child)["catalog_item"] == "1"
    assert verify_cases(ws).exit_code == 0


def test_case_launch_through_the_command_line_checks_the_catalog(ws, tmp_path: Path):
    home = ws.home
    publish_catalog(ws, LEGAL, catalog())
    launch = ["case", "launch", "--title", "三亚市公共停车场建设规划", "--category", "plan", "--organ", ORGAN,
              "--lead-unit", "三亚市交通运输局"]
    code, out, err = juece(home, *launch, "--catalog", "2", "--json", actor="legal-office:张伟")
    assert code == 0, err
    case_id = json.loads(out)["case_id"]
    assert launched_payload(ws, case_id)["catalog_version"] == 1
    code, out, err = juece(home, *launch, "--catalog", "9", actor="legal-office:张伟")
    assert code == 3 and "SCP-05" in err and "art. 3(3)" in err and "no item 9" in one_line(err)
    code, out, err = juece(home, *launch, "--catalog", "9", "--json", actor="legal-office:张伟")
    assert code == 3 and json.loads(out)["error"]["code"] == "SCP-05"
    code, out, err = juece(home, *launch, actor="legal-office:张伟")
    assert code == 3 and "SCP-05" in err and "--acknowledge SCP-05" in one_line(err)
    code, out, err = juece(home, *launch, "--acknowledge", "SCP-05", "--reason", "目录外的临时事项", "--json",
                           actor="legal-office:张伟")
    assert code == 0, err
    assert len(list_cases(ws)) == 2


def test_a_case_the_organ_decided_to_launch_last_year_counts_for_last_years_catalog(ws):
    publish_catalog(ws, LEGAL, catalog(year=2024, published_on="2024-02-25",
                                       party_consent={"decided_on": "2024-02-20", "ref": "三委办〔2024〕9号"}))
    d = Driver(ws)
    d.launch(catalog_item="1", decided_on="2024-12-30")  # recorded in 2025, decided in 2024 (INI-02)
    assert launched_payload(ws, d.case_id)["catalog_version"] == 1
    (first, _) = year_end_report(ws, year=2024).items
    assert [c.case_id for c in first.cases] == [d.case_id]
    assert year_end_report(ws, year=2025).items == ()


def test_the_catalog_works_alike_on_sqlite_and_postgresql(backend_ws):
    publish_catalog(backend_ws, LEGAL, catalog())
    with pytest.raises(RuleRefusal):
        publish_catalog(backend_ws, LEGAL, catalog(version=2, adjustment_reason="调整", party_consent=None))
    d = Driver(backend_ws)
    d.launch(catalog_item="1")
    report = year_end_report(backend_ws, year=2025)
    assert [(i.item["item_no"], [c.case_id for c in i.cases]) for i in report.items] == [("1", [d.case_id]), ("2", [])]
    assert report.exit_code == 5
    verdict = verify_cases(backend_ws)
    assert verdict.exit_code == 0 and verdict.workspace is not None and verdict.workspace.refused_attempts == 1

"""LIM-01's limits are settings of the policy pack (issue 12, "limits as pack settings with those defaults"): a case is
held to its pinned pack's `payload_max_bytes` / `payload_max_depth`, the published packs that do not set them to the
defaults (1 MiB, 64 levels); the live record refuses a payload over them before anything is written, and `audit
verify` reports a payload stored over them (appended outside juece) as a LIM-01 finding — the same function judging
both (policies/limits.py). Driven through the real `juece` executable; a pack that sets the limits is cn-2019@2 with
the settings added as a version 3, served by tests/juece_with_pack.py (no shipped pack sets them)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support import new_workspace

JUECE = [str(Path(sys.executable).with_name("juece"))]
WITH_PACK = [sys.executable, str(Path(__file__).with_name("juece_with_pack.py"))]
SMALL = {"payload_max_bytes": 4096}  # cn-2019@3 in these tests
LAUNCH = ["--as", "legal-office:张伟", "case", "launch", "--title", "三亚市老城区道路改造", "--category",
          "public-construction", "--organ", "三亚市人民政府", "--lead-unit", "三亚市住房和城乡建设局", "--json"]


def run(home: Path, *argv: str, params: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """`juece --home HOME ARGV…`; with `params`, the command line that also knows cn-2019@3 with those settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    if params is not None:
        env["JUECE_TEST_PACK_PARAMS"] = json.dumps(params)
    r = subprocess.run([*(WITH_PACK if params is not None else JUECE), "--home", str(home), *argv],
                       capture_output=True, text=True, timeout=300, env=env)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def activity(participants: int, chars: int) -> dict[str, Any]:
    """A participation-activity-held payload of about participants × chars × 3 bytes (each name as long as allowed)."""
    return {"method": "forum", "held_on": "2025-08-25", "description": "河西片区棚改座谈会",
            "participants": ["张" * chars] * participants}


def history(home: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "juece.db")
    try:
        return conn.execute("SELECT position, case_id, seq, hash FROM events ORDER BY position").fetchall()
    finally:
        conn.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    ws = new_workspace(tmp_path / "ws")
    ws.engine.dispose()
    return ws.home


def launch(home: Path, policy: str | None = None, params: dict[str, Any] | None = None) -> str:
    r = run(home, *LAUNCH, *(["--policy", policy] if policy else []), params=(params or SMALL) if policy else None)
    assert r.returncode == 0, r.stdout + r.stderr
    return str(json.loads(r.stdout)["case_id"])


def record(home: Path, case_id: str, body: dict[str, Any], tmp: Path, *, params: dict[str, Any] | None = None):
    f = tmp / f"{uuid.uuid4().hex}.json"
    f.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return run(home, "--as", "clerk:李明", "record", case_id, "participation-activity-held", "-f", str(f), "--json",
               params=params)


def test_a_pack_that_sets_no_limits_holds_payloads_to_the_defaults(home: Path, tmp_path: Path) -> None:
    """cn-2019@2 was published before the limits were settings: 1 MiB. A file over 1 MiB is read (the read's ceiling
    is higher) and refused by the pack's limit; just under it is recorded."""
    case_id = launch(home)
    before = history(home)
    r = record(home, case_id, activity(20, 20000), tmp_path)  # 1.2 MB
    assert r.returncode == 2, r.stdout + r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "LIM-01" and "more than 1,048,576" in err["message"] and "1 MiB" in err["message"], err
    assert history(home) == before  # nothing written, not even an attempt
    r = record(home, case_id, activity(17, 20000), tmp_path)  # 1.02 MB
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_read_before_the_case_is_known_stops_at_the_ceiling(home: Path) -> None:
    """`--file /dev/zero` ends: at most one byte past the ceiling no pack may exceed (16 MiB) is read."""
    case_id = launch(home)
    r = run(home, "--as", "clerk:李明", "record", case_id, "participation-activity-held", "-f", "/dev/zero", "--json")
    assert r.returncode == 2
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "LIM-01" and "more than 16,777,216 bytes" in err["message"], err
    assert "no policy pack allows more than 16 MiB" in err["message"], err


def test_a_packs_own_limit_holds_for_its_cases_only(home: Path, tmp_path: Path) -> None:
    """The same 4.6 KB payload: refused on a case launched under a pack that allows 4,096 bytes, recorded on a case
    under cn-2019@2 (1 MiB) in the same workspace."""
    small, default = launch(home, "cn-2019@3"), launch(home)
    body = activity(1, 1500)
    before = history(home)
    r = record(home, small, body, tmp_path, params=SMALL)
    assert r.returncode == 2, r.stdout + r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["code"] == "LIM-01" and "more than 4,096" in err["message"], err
    assert err["max_bytes"] == 4096 and err["max_depth"] == 64, err
    assert history(home) == before
    r = record(home, default, body, tmp_path, params=SMALL)
    assert r.returncode == 0, r.stdout + r.stderr


def append_directly(home: Path, case_id: str, body: dict[str, Any], event: str = "participation-activity-held") -> int:
    """Append an event outside juece's record path (as a script with write access to the store would): the chain
    holds, the payload decodes as its type, and no limit was checked. Its seq."""
    from flows.usecases.workspace import open_workspace
    from models import store
    from models.db import write_transaction
    from models.events import SCHEMA_VERSION
    from models.store import NewEvent

    ws = open_workspace(home)
    with write_transaction(ws.engine) as conn:
        events = store.load_stream(conn, case_id)
        launched = events[0].payload
        new = NewEvent(event, SCHEMA_VERSION, body, "clerk:李明", "clerk",
                       f"direct:{uuid.uuid4().hex}", launched["policy"], launched["policy_hash"])
        (stored,) = store.append(conn, case_id, events, [new], events[-1].moment + timedelta(minutes=1))
    ws.engine.dispose()
    return stored.seq


def test_the_audit_finds_a_payload_stored_over_its_packs_limit(home: Path) -> None:
    """`audit verify` re-checks LIM-01 with the case's pack: the 4.6 KB payload appended to both cases is a finding on
    the 4,096-byte pack's case only; a 1.2 MB one on the default pack's case is one too. `audit replay` shows it on
    the event."""
    small, default = launch(home, "cn-2019@3"), launch(home)
    over_small = append_directly(home, small, activity(1, 1500))
    append_directly(home, default, activity(1, 1500))
    over_default = append_directly(home, default, activity(20, 20000))
    r = run(home, "audit", "verify", "--json", params=SMALL)
    assert r.returncode == 5, r.stdout + r.stderr
    report = json.loads(r.stdout)
    lim = {c["case_id"]: [(f["seq"], f["values"]["max_bytes"]) for f in c["findings"] if f["rule"] == "LIM-01"]
           for c in report["cases"]}
    assert lim == {small: [(over_small, 4096)], default: [(over_default, 1 << 20)]}, lim
    assert all(c["intact"] for c in report["cases"])
    r = run(home, "audit", "replay", small, "--json", params=SMALL)
    assert r.returncode == 0, r.stdout + r.stderr
    events = {e["seq"]: [f["rule"] for f in e["findings"]] for e in json.loads(r.stdout)["events"]}
    assert "LIM-01" in events[over_small] and not any("LIM-01" in v for s, v in events.items() if s != over_small)


def test_the_audit_finds_a_payload_stored_deeper_than_its_packs_limit_whichever_way_it_decodes(home: Path) -> None:
    """A hearing's participants nest three levels deep. Under a pack allowing two, `audit verify` finds LIM-01 on such a
    payload stored outside juece — in the stored form, which replay decodes by its shape (whose depth, 3, is over
    the limit, so the brackets are counted), and as written (an optional field left out: the model decodes it and no
    depth is known); on the default pack's case (64 levels) neither is a finding."""
    from models.events import EVENT_TYPES
    from models.payload_decode import decode_bounded
    from support import payload

    as_written = payload("hearing-held")
    stored_form = EVENT_TYPES["hearing-held"].model_validate(as_written).model_dump(mode="json", by_alias=True)
    assert decode_bounded("hearing-held", stored_form)[1] == 3  # the plan's path, with its shape's depth
    assert decode_bounded("hearing-held", as_written)[1] is None  # the model's path
    shallow = {"payload_max_depth": 2}
    small, default = launch(home, "cn-2019@3", params=shallow), launch(home)
    deep = [append_directly(home, small, body, "hearing-held") for body in (stored_form, as_written)]
    for body in (stored_form, as_written):
        append_directly(home, default, body, "hearing-held")
    r = run(home, "audit", "verify", "--json", params=shallow)
    assert r.returncode == 5, r.stdout + r.stderr
    report = json.loads(r.stdout)
    lim = {c["case_id"]: [(f["seq"], f["values"]["max_depth"]) for f in c["findings"] if f["rule"] == "LIM-01"]
           for c in report["cases"]}
    assert lim == {small: [(deep[0], 2), (deep[1], 2)], default: []}, lim


def test_a_pack_setting_out_of_range_is_said_naming_it(home: Path) -> None:
    r = run(home, *LAUNCH, "--policy", "cn-2019@3", params={"payload_max_bytes": 64 << 20})
    assert r.returncode == 2, r.stdout + r.stderr
    err = json.loads(r.stdout)["error"]
    assert "payload_max_bytes" in err["message"] and "16,777,216" in err["message"], err


def test_the_depth_is_judged_by_the_same_function_for_both_paths() -> None:
    """A value nested deeper than the pack's depth: the one test the live record and the audit call."""
    from policies.limits import PayloadLimits, payload_excess, value_depth

    deep: Any = "x"
    for _ in range(70):
        deep = {"a": deep}
    assert value_depth(deep) == 70 and value_depth([]) == 1 and value_depth("x") == 0
    assert payload_excess(100, deep, PayloadLimits()) == "nested 70 levels deep, more than 64"
    assert payload_excess(100, deep, PayloadLimits(max_depth=70)) is None


def test_identifier_limits_are_the_columns() -> None:
    """The identifier checks and the append-only table read the same constants."""
    from models.tables import EventRow
    from policies import limits

    cols = EventRow.__table__.columns
    assert cols["case_id"].type.length == limits.MAX_CASE_ID
    assert cols["actor"].type.length == limits.MAX_ACTOR
    assert cols["idempotency_key"].type.length == limits.MAX_KEY + len("attempt:")

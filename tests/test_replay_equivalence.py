"""The fast paths give exactly what the straightforward ones give.

- Payloads: `models.state.decode_payload` (no pydantic when the stored JSON is already the validated form) equals
  `payload_values` (the model's validate-and-dump) value for value and type for type — dates as `date`, lists as
  tuples — for every event type's example, for tests/support.py's GOOD payloads, and for payloads that are *not* in
  validated form (those go to pydantic: same values, or the same validation error).
- Replay: `replay` and step-by-step `evolve` (one shared append-only log, records indexed by type, stage statuses
  folded as records arrive) equal a reference fold written the straightforward way — the CaseState this module
  replaced, kept verbatim below — on random histories, prefix by prefix, through every public method.
- Re-check: `flows.usecases.audit.recheck` gives the same rules, findings and states as the reference re-check on the same
  histories, and `verify_case_events` the same verdicts.
- Integrity: `models.integrity.verify_store` (one pass over raw rows) gives exactly `verify_stream(load_stream(id))`
  for every stream and `root_of_events(iter_all())`, on pristine and on tampered stores (tests/test_tamper_detection.py's
  six kinds of tampering).
"""

from __future__ import annotations

import copy
import random
import shutil
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support import GOOD, H

from flows.usecases.audit import recheck, verify_case_events
from flows.usecases.unit_of_work import case_calendar, pack_of
from flows.usecases.clock import local_date
from flows.usecases.workspace import WorkspaceFacts
from models.canonical import GENESIS, canonical_bytes, chain_hash
from models.db import make_engine, read_transaction
from models.events import EVENT_TYPES, SCHEMA_VERSION
from models.integrity import verify_store, verify_stream
from models.merkle import root_of_events
from models.state import (
    CaseState,
    decode_payload,
    evolve,
    fast_decoder,
    launch_state,
    payload_values,
    replay,
)
from models.store import (
    WORKSPACE_STREAM,
    StoredEvent,
    all_stream_ids,
    iter_all,
    load_stream,
    parse_utc,
    utc_text,
)
from policies.errors import CalendarNotLoaded
from policies.findings import Finding
from policies.pack import PolicyPack, Stage, load_pack
from policies.procedure import StageStatus, stage_status
from policies.rules import RuleContext, check_event, checks_for

PACKS = (load_pack("cn-2019"), load_pack("sanya-2022"))


# --- deep equality, types included --------------------------------------------------------------------------------


def same(a: Any, b: Any, path: str = "$") -> None:
    """Equal values of the same types all the way down (a tuple is not a list, a date is not a str)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# --- payload examples for every event type -------------------------------------------------------------------------

# Engine events carry no `example`; these are what the engine records for them.
ENGINE_EXAMPLES: dict[str, dict[str, Any]] = {
    "case-launched": {
        "title": "三亚市河西片区棚户区改造项目", "category": "public-construction", "organ": "三亚市人民政府",
        "lead_unit": "三亚市住房和城乡建设局", "co_units": ["天涯区人民政府"], "catalog_item": "2025年度重大行政决策事项目录第3项",
        "flags": ["risk-relevant", "technical"], "policy": "cn-2019", "policy_hash": H, "launched_on": "2025-08-25",
    },
    "attempt-refused": {"attempted_event": "decision-published", "rules": ["SEQ-01", "PTY-01"],
                        "message": "SEQ-01 (条例第二十九条): cannot record `decision-published`", "payload_sha256": H},
    "document-attached": {"sha256": H, "size": 183_204, "display_name": "实施方案（送审稿）.pdf", "media_type": "application/pdf",
                          "title": "三亚市河西片区棚户区改造实施方案（送审稿）"},
    "dossier-archived": {"archive_id": "JC-2025-0001-A1", "bag_name": "JC-2025-0001", "export": "full",
                         "tagmanifest_sha256": H, "tree_size": 42, "checkpoint_root": H, "archived_on": "2026-03-01",
                         "documents": [H]},
    "comments-imported": {"import_id": H, "file_sha256": H, "stored_sha256": H, "public_sha256": H, "rows": 412,
                          "new_rows": 400, "late": 8, "received_total": 412, "distinct_total": 380, "clusters_total": 57},
    "comment-disposed": {"target": "cluster:3", "disposition": "partly-adopted", "reason": "补偿系数提高至1.15；评估机构仍依法选定",
                         "comments": 300},
    "decision-posted": {"portal": "三亚市人民政府门户网站", "url": "https://www.sanya.gov.cn/sanyasite/zfwj/202511/decision.html",
                        "text_sha256": H, "posted_on": "2025-11-10"},
    "workspace-initialised": {"clock": "simulated", "simulated_now": "2025-08-25T09:00:00+08:00"},
    "clock-set": {"moved_from": "2025-08-25T09:00:00+08:00", "moved_to": "2025-09-01T18:00:00+08:00"},
    "account-added": {"name": "李明", "roles": ["clerk", "secretary"]},
    "role-granted": {"name": "李明", "role": "head"},
    "role-revoked": {"name": "李明", "role": "clerk"},
    "account-disabled": {"name": "李明"},
    "token-issued": {"name": "李明", "token_id": "0123456789ab"},
    "calendar-loaded": {"year": 2027, "sha256": H, "notice": {"year": 2027, "kind": "state-council", "rest": [["2027-01-01", "2027-01-03"]]}},
    "catalog-published": {"organ": "三亚市人民政府", "year": 2025, "version": 2, "published_on": "2025-06-10",
                          "url": "https://www.sanya.gov.cn/mulu/2025-v2.html", "adjustment_reason": "增列第8项",
                          "party_consent": {"decided_on": "2025-06-05", "ref": "三委办〔2025〕31号"},
                          "items": [{"item_no": "7", "title": "河西片区棚户区改造", "category": "public-construction",
                                     "criteria": "投资额10亿元以上", "lead_unit": "三亚市住房和城乡建设局",
                                     "planned_quarter": "2025Q3"}]},
    "experts-imported": {"bank": "海南省决策咨询论证专家库", "sha256": H,
                         "experts": [{"name": "李建国", "affiliation": "海南大学", "specialty": "城市更新", "interests": ["三亚城投集团"]}]},
}


def examples() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name, model in EVENT_TYPES.items():
        for label, raw in (("example", model.example), ("engine", ENGINE_EXAMPLES.get(name)), ("GOOD", GOOD.get(name))):
            if raw:
                out.append((name, label, raw))
    return out


def stored_form(event_type: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """What the engine stores for a payload: the validated model dumped as JSON (then read back by orjson)."""
    import orjson

    dumped = EVENT_TYPES[event_type].model_validate(raw).model_dump(mode="json", by_alias=True)
    return orjson.loads(canonical_bytes(dumped))


def test_every_event_type_has_an_example_here() -> None:
    covered = {name for name, _, _ in examples()}
    missing = sorted(set(EVENT_TYPES) - covered)
    assert not missing, f"no example payload for {missing}: add one to ENGINE_EXAMPLES (the decoder is not compared for them)"


@pytest.mark.parametrize(("event_type", "label", "raw"), examples(), ids=[f"{n}-{l}" for n, l, _ in examples()])
def test_fast_decoding_equals_pydantic(event_type: str, label: str, raw: dict[str, Any]) -> None:
    stored = stored_form(event_type, raw)
    expected = payload_values(event_type, stored)
    same(decode_payload(event_type, stored), expected)
    # and the fast decoder itself took it (no fallback): the stored form is exactly the validated form
    dec = fast_decoder(event_type)
    assert dec is not None, (f"{event_type}: no fast decoder — models/state.py does not know one of its field types or "
                             "model settings, so replay would validate it through pydantic (slow)")
    same(dec(stored), expected)
    # a payload as the user wrote it (defaults missing, lists) still decodes to the same values, through pydantic
    same(decode_payload(event_type, copy.deepcopy(raw)), payload_values(event_type, copy.deepcopy(raw)))


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except ValidationError as exc:
        return "invalid", [(e["loc"], e["type"]) for e in exc.errors()]
    except Exception as exc:  # noqa: BLE001 — the outcome, whatever it is, is what is compared
        return type(exc).__name__, str(exc)


def assert_same_outcome(event_type: str, payload: Any) -> None:
    got = outcome(decode_payload, event_type, copy.deepcopy(payload))
    want = outcome(payload_values, event_type, copy.deepcopy(payload))
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        same(got[1], want[1])
    else:
        assert got == want


REPORT = {"reported_on": "2026-01-15", "unit": "三亚市住房和城乡建设局", "status": "完成入户调查1,204户"}
NOT_VALIDATED_FORM = [
    ("execution-reported", {**REPORT, "unit": " 三亚市住房和城乡建设局 "}),  # a Name is trimmed
    ("execution-reported", {**REPORT, "status": "  完成  "}),  # NonEmptyText is stripped
    ("execution-reported", {**REPORT, "status": "Cafe\u0301"}),  # NFC
    ("execution-reported", {**REPORT, "unit": "Cafe\u0301"}),
    ("execution-reported", {**REPORT, "unit": "三亚\u200b市"}),  # invisible: refused
    ("execution-reported", {**REPORT, "unit": "三亚\n市"}),
    ("execution-reported", {**REPORT, "status": "a\x01b"}),  # control character: refused
    ("execution-reported", {**REPORT, "status": ""}),
    ("execution-reported", {**REPORT, "unit": "x" * 301}),
    ("execution-reported", {**REPORT, "reported_on": "2025-02-30"}),
    ("execution-reported", {**REPORT, "reported_on": "2025-W01-1"}),  # date.fromisoformat would take it
    ("execution-reported", {**REPORT, "reported_on": "20250115"}),
    ("execution-reported", {**REPORT, "reported_on": "２０２５-０１-１５"}),
    ("execution-reported", {**REPORT, "reported_on": "2025-01-15T00:00:00"}),
    ("execution-reported", {**REPORT, "reported_on": None}),
    ("execution-reported", {**REPORT, "extra": 1}),
    ("execution-reported", {k: v for k, v in REPORT.items() if k != "unit"}),
    ("execution-reported", [1, 2]),
    ("public-feedback-received", {"received_on": "2026-03-31", "channel": "hotline-12345", "count": True, "summary": "x"}),
    ("public-feedback-received", {"received_on": "2026-03-31", "channel": "hotline-12345", "count": "57", "summary": "x"}),
    ("public-feedback-received", {"received_on": "2026-03-31", "channel": "hotline-12345", "count": 0, "summary": "x"}),
    ("public-feedback-received", {"received_on": "2026-03-31", "channel": "fax", "count": 1, "summary": "x"}),
    ("public-feedback-received", {"received_on": "2026-03-31", "channel": "letter", "count": 10**9 + 1, "summary": "x"}),
    ("hearing-held", {**GOOD["hearing-held"], "participants": []}),
    ("hearing-held", {**GOOD["hearing-held"], "participants": [{**GOOD["hearing-held"]["participants"][0], "confirmed": 1}]}),
    ("hearing-held", {**GOOD["hearing-held"], "sides": ("被征收户",)}),
    ("decision-published", {**GOOD["decision-published"], "text_sha256": H.upper()}),
    ("decision-published", {**GOOD["decision-published"], "text_sha256": H + "\n"}),
    ("execution-problem-reported", {**GOOD["execution-problem-reported"], "kind_of_problem": "problem"}),
    ("expert-panel-drawn", {**EVENT_TYPES["expert-panel-drawn"].example, "excluded": [{"name": "周建华", "reason": 1}]}),
]


@pytest.mark.parametrize(("event_type", "payload"), NOT_VALIDATED_FORM)
def test_payloads_not_in_validated_form_go_to_pydantic(event_type: str, payload: Any) -> None:
    assert_same_outcome(event_type, payload)


@settings(max_examples=300, deadline=None)
@given(unit=st.text(max_size=12), status=st.text(max_size=12),
       day=st.one_of(st.dates(min_value=date(1, 1, 1)).map(date.isoformat), st.text(max_size=12)))
def test_fuzzed_text_and_dates_decode_like_pydantic(unit: str, status: str, day: str) -> None:
    assert_same_outcome("execution-reported", {"reported_on": day, "unit": unit, "status": status})


# --- the reference fold: the straightforward CaseState this module's fast one replaced ----------------------------


@dataclass(frozen=True)
class RefRecord:
    seq: int
    type: str
    payload: Mapping[str, Any]
    recorded_at: str
    actor: str
    role: str
    acknowledgements: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class RefState:
    case_id: str
    title: str
    category: str
    organ: str
    lead_unit: str
    flags: frozenset[str]
    policy: str
    policy_hash: str
    launched_on: date
    launched_by: str
    co_units: tuple[str, ...] = ()
    catalog_item: str | None = None
    history: tuple[RefRecord, ...] = ()
    refused: tuple[RefRecord, ...] = ()
    seq: int = 0
    parent_case: str | None = None
    adjustment: str | None = None
    launch_decided_on: date | None = None

    def records(self, event_type: str) -> list[Mapping[str, Any]]:
        return [r.payload for r in self.history if r.type == event_type]

    def stage_records(self, stage: Stage) -> list[tuple[str, Mapping[str, Any]]]:
        events = set(stage.events)
        return [(r.type, r.payload) for r in self.history if r.type in events]

    def latest(self, dated: Any) -> tuple[str, Any] | None:
        best = None
        for event_type, field in dated:
            values = [p[field] for p in self.records(event_type)]
            if values and (best is None or max(values) > best[1]):
                best = (event_type, max(values))
        return best

    @property
    def ended(self) -> bool:
        return any(p["decision"] == "rejected" for p in self.records("meeting-held"))

    def statuses(self, pack: PolicyPack) -> dict[str, StageStatus]:
        ended = self.ended
        return {s.id: stage_status(s, self.stage_records(s), flags=self.flags, ended=ended) for s in pack.stages}

    @property
    def acknowledgements(self) -> list[tuple[RefRecord, Mapping[str, str]]]:
        return [(r, a) for r in self.history for a in r.acknowledgements]


def ref_launch(ev: StoredEvent) -> RefState:
    p = payload_values(ev.type, ev.payload)
    return RefState(ev.case_id, p["title"], p["category"], p["organ"], p["lead_unit"] or "", frozenset(p["flags"]),
                    p["policy"], p["policy_hash"], p["launched_on"], ev.actor, tuple(p["co_units"]), p["catalog_item"],
                    seq=ev.seq, parent_case=p.get("parent_case"), adjustment=p.get("adjustment"),
                    launch_decided_on=p.get("decided_on"))


def ref_evolve(state: RefState, ev: StoredEvent) -> RefState:
    record = RefRecord(ev.seq, ev.type, payload_values(ev.type, ev.payload), ev.recorded_at, ev.actor, ev.role,
                       tuple(ev.acknowledgements))
    if ev.type == "attempt-refused":
        return replace(state, refused=state.refused + (record,), seq=ev.seq)
    return replace(state, history=state.history + (record,), seq=ev.seq)


def ref_replay(events: list[StoredEvent]) -> RefState:
    state = ref_launch(events[0])
    for ev in events[1:]:
        state = ref_evolve(state, ev)
    return state


def records_of(records: Iterable[Any]) -> list[tuple[Any, ...]]:
    return [(r.seq, r.type, r.payload, r.recorded_at, r.actor, r.role, r.acknowledgements) for r in records]


from policies.rules.dates import DATE_OF  # noqa: E402

LATEST_QUERIES = [tuple(DATE_OF.items()), tuple((e, f) for e, f in DATE_OF.items() if "risk" in e),
                  (("meeting-held", "held_on"),), (("execution-reported", "reported_on"), ("decision-published", "published_on"))]


def assert_state_matches(state: CaseState, ref: RefState, *, packs: tuple[PolicyPack, ...] = PACKS) -> None:
    for name in ("case_id", "title", "category", "organ", "lead_unit", "flags", "policy", "policy_hash", "launched_on",
                 "launched_by", "co_units", "catalog_item", "parent_case", "adjustment", "launch_decided_on", "seq"):
        same(getattr(state, name), getattr(ref, name), name)
    assert type(state.history) is tuple and type(state.refused) is tuple
    same(records_of(state.history), records_of(ref.history), "history")
    same(records_of(state.refused), records_of(ref.refused), "refused")
    for t in EVENT_TYPES:
        same(state.records(t), ref.records(t), f"records({t})")
    same(state.ended, ref.ended, "ended")
    same([(records_of([r])[0], a) for r, a in state.acknowledgements],
         [(records_of([r])[0], a) for r, a in ref.acknowledgements], "acknowledgements")
    for dated in LATEST_QUERIES:  # the running maxima ORD-01 reads, at every prefix
        same(state.latest(dated), ref.latest(dated), f"latest({dated})")
    for pack in packs:
        for s in pack.stages:
            same(state.stage_records(s), ref.stage_records(s), f"stage_records({s.id})")
        got = state.statuses(pack)
        assert list(got) == [s.id for s in pack.stages]
        assert got == ref.statuses(pack), pack.id
        got["x"] = None  # the caller's own dict: changing it changes nothing
        assert state.statuses(pack) == ref.statuses(pack)


# --- random histories --------------------------------------------------------------------------------------------

START = datetime(2025, 8, 25, 1, 0, tzinfo=timezone.utc)
FLAGS = ("technical", "risk-relevant", "special-group", "public-concern", "non-disclosure", "exploratory",
         "hearing-required", "npc-report")
ROLES = {"meeting-held": "secretary", "legality-opinion-issued": "reviewer", "legality-review-returned": "reviewer",
         "adjustment-decided": "head", "participation-exempted": "legal-office", "expert-review-waived": "legal-office",
         "risk-assessment-waived": "legal-office", "party-reported": "legal-office", "npc-reported": "legal-office",
         "decision-published": "legal-office", "publication-exempted": "legal-office", "post-evaluation-done": "legal-office",
         "adjustment-completed": "legal-office"}


def _variants() -> list[tuple[str, dict[str, Any]]]:
    pool = [(t, p) for t, p in GOOD.items()]
    for decision in ("rejected", "deferred", "approved-with-changes"):
        pool.append(("meeting-held", {**GOOD["meeting-held"], "decision": decision}))
    pool.append(("legality-opinion-issued", {**GOOD["legality-opinion-issued"], "conclusion": "lawful-with-changes",
                                             "required_changes": [{"item": "明确过渡期限"}]}))
    pool.append(("legality-opinion-issued", {**GOOD["legality-opinion-issued"], "conclusion": "unlawful"}))
    pool.append(("legality-opinion-issued", {**GOOD["legality-opinion-issued"], "conclusion": "unlawful",
                                             "legal_risk_statement": "探索性改革事项，法律风险已明示"}))
    pool.append(("risk-assessed", {**GOOD["risk-assessed"], "controllable": False, "level": "high"}))
    pool.append(("attempt-refused", ENGINE_EXAMPLES["attempt-refused"]))
    pool.append(("document-attached", ENGINE_EXAMPLES["document-attached"]))
    pool.append(("execution-reported", {**GOOD["execution-reported"], "unit": " 市住建局 "}))  # not in validated form
    return [(t, stored_form(t, p) if not (t == "execution-reported" and p["unit"].startswith(" ")) else p) for t, p in pool]


POOL = _variants()


def make_events(steps: list[tuple[int, bool]], flags: frozenset[str], policy: str = "cn-2019",
                case_id: str = "JC-2025-0001") -> list[StoredEvent]:
    """A case's stored events: the launch, then POOL[i] for each step (with an acknowledgement when asked)."""
    launch = stored_form("case-launched", {**ENGINE_EXAMPLES["case-launched"], "flags": sorted(flags), "policy": policy,
                                           "policy_hash": load_pack(policy).hash})
    items = [("case-launched", launch, ())] + [
        (POOL[i][0], POOL[i][1], ({"rule": "PP-05", "reason": "依法缩短", "message": "m", "article": "a"},) if ack else ())
        for i, ack in steps
    ]
    prev, out = GENESIS, []
    for seq, (t, p, acks) in enumerate(items, start=1):
        stamp = utc_text(START + timedelta(days=seq, minutes=seq))
        role = "legal-office" if seq == 1 else ROLES.get(t, "clerk")
        actor = f"{role}:测试"
        env = {"v": 1, "case_id": case_id, "seq": seq, "type": t, "schema_version": SCHEMA_VERSION, "recorded_at": stamp,
               "actor": actor, "role": role, "policy": policy, "policy_hash": load_pack(policy).hash,
               "idempotency_key": f"k-{case_id}-{seq}", "acknowledgements": list(acks), "payload": p}
        body = canonical_bytes(env)
        digest = chain_hash(prev, body)
        out.append(StoredEvent(seq, case_id, seq, t, stamp, actor, role, f"k-{case_id}-{seq}", body, prev.hex(), digest.hex()))
        prev = digest
    return out


histories = st.tuples(
    st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.booleans()), max_size=60),
    st.frozensets(st.sampled_from(FLAGS)),
    st.sampled_from(("cn-2019", "sanya-2022")),
)


def long_history(seed: int) -> tuple[list[tuple[int, bool]], frozenset[str], str]:
    rnd = random.Random(seed)
    steps = [(rnd.randrange(len(POOL)), rnd.random() < 0.1) for _ in range(rnd.randint(40, 160))]
    return steps, frozenset(rnd.sample(FLAGS, rnd.randint(0, 3))), rnd.choice(("cn-2019", "sanya-2022"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_replay_and_evolve_equal_the_reference_fold_at_every_prefix(history: Any) -> None:
    check_fold(history)


@pytest.mark.parametrize("seed", range(12))
def test_long_random_histories_fold_like_the_reference(seed: int) -> None:
    check_fold(long_history(seed))


def check_fold(history: Any) -> None:
    steps, flags, policy = history
    events = make_events(steps, flags, policy)
    ref = ref_launch(events[0])
    state = launch_state(events[0])
    assert_state_matches(state, ref)
    for k, ev in enumerate(events[1:], start=2):
        ref = ref_evolve(ref, ev)
        state = evolve(state, ev)
        assert_state_matches(state, ref)
        replayed = replay(events[:k])
        assert replayed == state
        assert_state_matches(replayed, ref)
    # the same state built from its parts
    rebuilt = CaseState(state.case_id, state.title, state.category, state.organ, state.lead_unit, state.flags,
                        state.policy, state.policy_hash, state.launched_on, state.launched_by, state.co_units,
                        state.catalog_item, state.history, state.refused, state.seq)
    assert rebuilt == state
    assert repr(rebuilt) == repr(state)
    assert_state_matches(rebuilt, ref)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.randoms(use_true_random=False))
def test_older_states_stay_what_they_were(history: Any, rnd: random.Random) -> None:
    """States are values: evolving an older state branches; asking an older state after a newer one is the same."""
    steps, flags, policy = history
    events = make_events(steps, flags, policy)
    states = [launch_state(events[0])]
    refs = [ref_launch(events[0])]
    for ev in events[1:]:
        states.append(evolve(states[-1], ev))
        refs.append(ref_evolve(refs[-1], ev))
    order = list(range(len(states)))
    rnd.shuffle(order)
    for i in order:  # statuses asked out of order
        assert_state_matches(states[i], refs[i])
    if len(events) > 2:  # branch from the middle with another event
        k = rnd.randrange(1, len(states) - 1)
        other = make_events([(rnd.randrange(len(POOL)), False)] * (len(events) - 1), flags, policy)[k + 1]
        branch = evolve(states[k], other)
        assert_state_matches(branch, ref_evolve(refs[k], other))
        for i in range(len(states)):
            assert_state_matches(states[i], refs[i])
        assert_state_matches(evolve(branch, events[k + 1]), ref_evolve(ref_evolve(refs[k], other), events[k + 1]))


def test_states_are_immutable_and_compare_like_values() -> None:
    events = make_events([(0, False), (1, True)], frozenset({"technical"}))
    state = replay(events)
    with pytest.raises(AttributeError):
        state.seq = 9  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del state.title  # type: ignore[attr-defined]
    assert state == replay(events)
    assert state != replay(events[:-1])
    assert (state == object()) is False
    with pytest.raises(TypeError):
        hash(state)  # payloads are dicts, as before


# --- the re-check --------------------------------------------------------------------------------------------------

FACTS = WorkspaceFacts("simulated", None, (), ())


def ref_recheck(events: list[StoredEvent], facts: WorkspaceFacts) -> list[tuple[Any, ...]]:
    """flows.usecases.audit.recheck by its definition: the reference fold, and every event (the launch on the state it
    creates, the others on the state before them) judged by `check_event`, listing the rules the pinned pack runs."""
    state = ref_launch(events[0])
    pack = pack_of(state)  # type: ignore[arg-type]
    calendar = case_calendar(facts, pack)
    out = []
    for i, ev in enumerate(events):
        findings: tuple[Finding, ...] = ()
        rules: tuple[str, ...] = ()
        next_state = state if i == 0 else ref_evolve(state, ev)
        if ev.type != "attempt-refused":
            payload = (next_state.history[-1] if i else None)
            ctx = RuleContext(event=ev.type, payload=payload.payload if payload else payload_values(ev.type, ev.payload),
                              case=state, pack=pack, calendar=calendar, role=ev.role,  # type: ignore[arg-type]
                              today=local_date(ev.moment), statuses=state.statuses(pack), actor=ev.actor)
            acked = {a["rule"] for a in ev.acknowledgements}
            try:
                found = check_event(ctx)
            except CalendarNotLoaded as exc:
                found = list(exc.findings)
            findings = tuple(Finding(f.rule, f.article, f.enforcement, f.message, f.values,
                                     acknowledged=f.rule in acked and f.enforcement == "WARN") for f in found)
            rules = tuple(checks_for(ev.type, pack))
        state = next_state
        out.append((ev.seq, ev.type, rules, findings, tuple(ev.acknowledgements)))
    return out


def run(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 — the outcome, whatever it is, is what is compared
        return type(exc).__name__, str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_recheck_equals_the_reference_recheck(history: Any) -> None:
    check_recheck(history)


@pytest.mark.parametrize("seed", range(12))
def test_long_random_histories_recheck_like_the_reference(seed: int) -> None:
    check_recheck(long_history(seed))


def check_recheck(history: Any) -> None:
    steps, flags, policy = history
    events = make_events(steps, flags, policy)

    def fast() -> list[tuple[Any, ...]]:
        out = []
        for checked, state in recheck(events, FACTS):
            out.append((checked.seq, checked.type, checked.rules_checked, checked.findings, checked.acknowledgements))
            assert state.seq == checked.seq
        return out

    got, want = run(fast), run(ref_recheck, events, FACTS)
    assert got == want
    # and the verdict built on it
    verdict = run(verify_case_events, events, FACTS)
    if want[0] == "ok":
        assert verdict[0] == "ok" and verdict[1].intact
        findings = [f for (_, _, _, fs, _) in want[1] for f in fs if not f.acknowledged]
        assert len(verdict[1].findings) == len(findings)
        assert [f["rule"] for f in verdict[1].findings] == [f.rule for f in findings]


def test_recheck_of_a_walked_case_with_warnings_and_refusals(ws) -> None:
    from support import MANDATORY_PATH, Driver

    from flows.usecases.workspace import read_workspace_facts
    from policies.errors import RuleRefusal

    d = Driver(ws)
    d.launch("public-concern", "technical")
    with pytest.raises(RuleRefusal):
        d.record("decision-published")
    d.walk(MANDATORY_PATH[:6])
    d.record("meeting-held", held_on="2025-10-30", acknowledge=(("LEG-04", "司法局确认审查已完成"),))
    d.record("party-reported")
    d.record("decision-published")
    facts = read_workspace_facts(ws)
    with read_transaction(ws.engine) as conn:
        events = load_stream(conn, d.case_id)
    got = [(c.seq, c.type, c.rules_checked, c.findings, c.acknowledgements) for c, _ in recheck(events, facts)]
    assert got == ref_recheck(events, facts)
    assert any(c[3] for c in got), "the walk should carry an acknowledged warning"
    assert_state_matches(replay(events), ref_replay(events))


# --- integrity in one pass -----------------------------------------------------------------------------------------


def straightforward(engine: Any) -> tuple[list[Any], tuple[int, bytes, str | None]]:
    with read_transaction(engine) as conn:
        ids = [*all_stream_ids(conn), WORKSPACE_STREAM]
        breaks = [b for b in (verify_stream(load_stream(conn, s)) for s in ids) if b is not None]
        try:
            tree: Any = root_of_events(iter_all(conn))
        except ValueError as exc:
            tree = ("ValueError", str(exc))
    return breaks, tree


def one_pass(engine: Any) -> tuple[list[Any], Any]:
    with read_transaction(engine) as conn:
        v = verify_store(conn, batch=97)  # a batch size that does not divide anything
    if v.root is None:  # a hash column that is not a hash: root_of_events raises there
        with read_transaction(engine) as conn:
            try:
                root_of_events(iter_all(conn))
            except ValueError as exc:
                return list(v.breaks), ("ValueError", str(exc))
        raise AssertionError("verify_store gave no root where root_of_events gives one")
    return list(v.breaks), (v.size, v.root, v.head)


@pytest.fixture(scope="module")
def pristine_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_tamper_detection import build_history

    path = tmp_path_factory.mktemp("one-pass") / "pristine.db"
    build_history(path)
    return path


def test_one_pass_equals_per_stream_checks_on_a_pristine_store(pristine_store: Path) -> None:
    engine = make_engine(f"sqlite:///{pristine_store}")
    try:
        breaks, tree = one_pass(engine)
        assert (breaks, tree) == straightforward(engine)
        assert breaks == [] and tree[0] == 1000
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["modify-body", "delete-middle", "swap-bodies", "insert-forged", "truncate-tail",
                                  "rewrite-all", "swap-positions", "bad-hash-column", "not-json"])
def test_one_pass_equals_per_stream_checks_on_tampered_stores(pristine_store: Path, tmp_path: Path, kind: str) -> None:
    import sqlite3

    from test_tamper_detection import KINDS, attacker

    def swap_positions(db: sqlite3.Connection, rng: random.Random) -> None:
        """Two events of one stream trade places in global order (chain intact in seq order)."""
        cid = f"JC-2025-{rng.randint(1, 20):04d}"
        a, b = sorted(rng.sample(range(2, 50), 2))
        (pa,) = db.execute("SELECT position FROM events WHERE case_id = ? AND seq = ?", (cid, a)).fetchone()
        (pb,) = db.execute("SELECT position FROM events WHERE case_id = ? AND seq = ?", (cid, b)).fetchone()
        db.execute("UPDATE events SET position = -1 WHERE position = ?", (pa,))
        db.execute("UPDATE events SET position = ? WHERE position = ?", (pa, pb))
        db.execute("UPDATE events SET position = ? WHERE position = -1", (pb,))

    def bad_hash_column(db: sqlite3.Connection, rng: random.Random) -> None:
        db.execute("UPDATE events SET hash = 'zz' WHERE position = ?", (rng.randint(1, 1000),))

    def not_json(db: sqlite3.Connection, rng: random.Random) -> None:
        """A body that is not JSON, re-hashed so that only the JSON check can see it (the rest of the chain breaks)."""
        p = rng.randint(1, 1000)
        (prev,) = db.execute("SELECT prev_hash FROM events WHERE position = ?", (p,)).fetchone()
        body = b"{not json"
        db.execute("UPDATE events SET body = ?, hash = ? WHERE position = ?", (body, chain_hash(bytes.fromhex(prev), body).hex(), p))

    kinds = {**KINDS, "swap-positions": swap_positions, "bad-hash-column": bad_hash_column, "not-json": not_json}
    rng = random.Random(f"one-pass-{kind}")
    for trial in range(8):
        path = tmp_path / f"{kind}-{trial}.db"
        shutil.copy(pristine_store, path)
        with closing(attacker(path)) as db:
            db.execute("BEGIN")
            kinds[kind](db, rng)
            db.execute("COMMIT")
        engine = make_engine(f"sqlite:///{path}")
        try:
            got, want = one_pass(engine), straightforward(engine)
            assert got == want, (kind, trial)
            if kind not in ("truncate-tail", "rewrite-all", "swap-positions"):
                assert got[0], (kind, trial)
        finally:
            engine.dispose()


def test_verify_stream_fills_no_envelope_it_did_not_parse_from_the_bytes() -> None:
    """verify_stream checks the bytes, never an envelope parsed (and perhaps changed) before."""
    events = make_events([(0, False)], frozenset())
    events[1].envelope["recorded_at"] = "changed"  # a caller's parse, changed in memory
    assert verify_stream(events) is None  # the bytes still agree with the columns


def test_parse_utc_fast_path_equals_strptime() -> None:
    rnd = random.Random(7)
    for _ in range(2000):
        moment = datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=rnd.randrange(10**17))
        text = utc_text(moment)
        assert parse_utc(text) == datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) == moment
    for bad in ("2025-13-01T00:00:00.000000Z", "2025-02-30T00:00:00.000000Z", "2025-01-01T24:00:00.000000Z",
                "2025-01-01T00:00:00Z", "0000-01-01T00:00:00.000000Z", "2025-01-01 00:00:00.000000Z"):
        with pytest.raises(ValueError) as fast:
            parse_utc(bad)
        with pytest.raises(ValueError) as slow:
            datetime.strptime(bad, "%Y-%m-%dT%H:%M:%S.%fZ")
        assert str(fast.value) == str(slow.value)


def test_states_copy_and_pickle_like_values() -> None:
    import pickle

    events = make_events([(i % len(POOL), i % 5 == 0) for i in range(30)], frozenset({"exploratory"}))
    state = replay(events)
    for clone in (copy.copy(state), copy.deepcopy(state), pickle.loads(pickle.dumps(state))):
        assert clone == state
        assert_state_matches(clone, ref_replay(events))


def test_threads_evolving_one_state_each_get_their_own() -> None:
    import threading

    events = make_events([(i % len(POOL), False) for i in range(20)], frozenset())
    base = replay(events[:10])
    results: dict[int, Any] = {}

    def work(k: int) -> None:
        s = base
        for ev in (events[10 + k], *events[11:]) if k < 5 else events[10:]:
            s = evolve(s, ev)
        results[k] = s

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, s in results.items():
        ref = ref_replay(events[:10])
        for ev in (events[10 + k], *events[11:]) if k < 5 else events[10:]:
            ref = ref_evolve(ref, ev)
        assert_state_matches(s, ref)
    assert_state_matches(base, ref_replay(events[:10]))


def test_payload_models_validate_through_their_annotations_only() -> None:
    """The fast decoder mirrors what each field's annotation says (models/state.py); a validator or serializer
    decorator on a payload model would be invisible to it. None is used — checked in the source, not in pydantic's
    internals."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "models"
    found = []
    for name in ("events.py", "account_events.py"):
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for dec in node.decorator_list:
                    text = ast.unparse(dec)
                    if any(w in text for w in ("validator", "serializer", "computed_field")) or node.name == "model_post_init":
                        found.append(f"{name}:{node.lineno} {node.name} @{text}")
    assert found == []

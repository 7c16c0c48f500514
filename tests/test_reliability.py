"""The procedure can't be cheated, and concurrent or retried writers can't double anything.

- a Hypothesis state machine over record / waive / acknowledge / wrong role / stale version / crash-and-restart,
  with a guided progress rule, checking after every step that no stage is entered before its predecessor is
  recorded and that legality review and collective discussion are never skipped;
- an exhaustive matrix: every position of a case × every out-of-order event × every role — all refused, no stage row;
- an auditor making 1,000 random calls changes nothing;
- optimistic concurrency (--if-seq): exactly one winner per round;
- 20 concurrent callers with the same idempotency key: one row; another payload under that key is a typed conflict;
- a comments import killed midway and retried whole: no duplicate.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import text

from flows.usecases.record import record_event
from flows.usecases.show import show_case
from flows.usecases.workspace import Actor, open_workspace
from models.events import RECORDABLE
from policies.errors import ConcurrentModification, DecisionError, IdempotencyConflict, RuleRefusal
from policies.pack import ROLES, load_pack
from support import GOOD, MANDATORY_PATH, ROLE_OF, Driver, new_workspace, payload

PACK = load_pack("cn-2019")
ORDER = [s.id for s in PACK.stages if not s.concurrent_until]  # drafting runs beside the ordered stages
RECORDED = {"concluded", "waived", "exempted"}
NEVER_SKIPPED = ("legality_review", "collective_discussion")
EVENTS = [e for e in RECORDABLE if e in GOOD]


def stage_rows(ws) -> int:
    """Events that carry the procedure (not refused attempts, not the workspace stream)."""
    with ws.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM events WHERE case_id != '@workspace' "
                                 "AND type != 'attempt-refused'")).scalar_one()


def all_rows(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM events")).scalar_one()


def assert_order_holds(view) -> None:
    statuses = {s.stage: s.status for s in view.stages}
    open_before = None
    for stage in ORDER:
        st_ = statuses[stage]
        ongoing = PACK.stage(stage).ongoing
        if open_before is not None:
            assert st_ in ("pending", "closed"), f"{stage} is {st_} although {open_before} is not recorded"
        elif st_ not in RECORDED and not (ongoing and st_ == "in-progress"):
            open_before = stage
    for stage in NEVER_SKIPPED:
        assert statuses[stage] not in ("waived", "exempted")


class ProcedureMachine(RuleBasedStateMachine):
    """Clerks, reviewers and the odd intruder acting on one case in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="juece-machine-"))
        self.driver: Driver | None = None

    @initialize(flags=st.sets(st.sampled_from(["technical", "risk-relevant", "non-disclosure", "special-group"])))
    def launch(self, flags: set[str]) -> None:
        self.driver = Driver(new_workspace(self.tmp / "ws"))
        self.driver.launch(*sorted(flags))
        self.rows = stage_rows(self.driver.ws)

    def attempt(self, event: str, actor: Actor, **kw) -> bool:
        assert self.driver is not None
        before = self.driver.show()
        try:
            result = self.driver.record(event, actor=actor, **kw)
        except RuleRefusal:
            after = self.driver.show()
            assert [s.status for s in after.stages] == [s.status for s in before.stages]
            assert stage_rows(self.driver.ws) == self.rows
            return False
        self.rows += 0 if result.repeated else 1  # the same command again is answered from its idempotency key
        assert stage_rows(self.driver.ws) == self.rows
        return True

    @rule(event=st.sampled_from(EVENTS), role=st.sampled_from(ROLES))
    def anyone_records_anything(self, event: str, role: str) -> None:
        self.attempt(event, Actor(role, "某人"))

    @rule(event=st.sampled_from(EVENTS))
    def the_right_role_records_anything(self, event: str) -> None:
        self.attempt(event, ROLE_OF[event])

    @rule(waiver=st.sampled_from(["participation-exempted", "expert-review-waived", "risk-assessment-waived"]))
    def the_legal_office_waives(self, waiver: str) -> None:
        self.attempt(waiver, ROLE_OF[waiver])

    @rule()
    def progress(self) -> None:
        """The guided rule: take the step the case waits on, acknowledging any warning with a reason."""
        assert self.driver is not None
        steps = self.driver.show().next
        if not steps:
            return
        event = next((s["event"] for s in steps if s["event"] in GOOD and not s["event"].endswith(("waived", "exempted"))),
                     steps[0]["event"])
        if event not in GOOD:
            return
        try:
            self.attempt(event, ROLE_OF[event])
        except DecisionError:
            return
        else:
            return

    @rule(rule_id=st.sampled_from(["LEG-04", "PP-05", "EXP-04", "HRG-03"]))
    def acknowledges_a_warning(self, rule_id: str) -> None:
        assert self.driver is not None
        event = {"LEG-04": "meeting-held", "PP-05": "consultation-opened", "EXP-04": "expert-review-concluded",
                 "HRG-03": "hearing-held"}[rule_id]
        try:
            self.attempt(event, ROLE_OF[event], acknowledge=((rule_id, "经审查确认，理由已记录"),))
        except DecisionError:
            pass  # acknowledging a warning that did not fire is bad input, and writes nothing

    @rule()
    def a_stale_version_loses(self) -> None:
        assert self.driver is not None
        seq = self.driver.show().events
        with pytest.raises(ConcurrentModification):
            record_event(self.driver.ws, ROLE_OF["participation-activity-held"], self.driver.case_id,
                         "participation-activity-held", payload("participation-activity-held", held_on="2025-08-25"),
                         expected_seq=seq - 1)
        assert stage_rows(self.driver.ws) == self.rows

    @rule()
    def crash_and_restart(self) -> None:
        assert self.driver is not None
        self.driver.ws.engine.dispose()
        self.driver.ws = open_workspace(self.driver.ws.home)

    @invariant()
    def no_stage_before_its_predecessor_and_nothing_mandatory_skipped(self) -> None:
        if self.driver is not None:
            assert_order_holds(self.driver.show())

    def teardown(self) -> None:
        if self.driver is not None:
            self.driver.ws.engine.dispose()


ProcedureMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_the_procedure_cannot_be_cheated = ProcedureMachine.TestCase

PATH = list(MANDATORY_PATH) + ["party-reported", "decision-published", "execution-reported"]


def test_every_out_of_order_event_by_every_role_at_every_position_is_refused_and_writes_no_stage_row(tmp_path):
    attempts = refused = 0
    for k in range(len(PATH)):
        d = Driver(new_workspace(tmp_path / f"ws{k}"))
        d.launch("risk-relevant", "technical")
        d.walk(PATH[:k])
        here = PACK.stage_of(PATH[k]).id if k < len(PATH) else ORDER[-1]
        later_stages = ORDER[ORDER.index(here) + 1:]
        targets = [e for e in EVENTS if PACK.stage_of(e) is not None and PACK.stage_of(e).id in later_stages]
        rows = stage_rows(d.ws)
        for event in targets:
            for role in ROLES:
                attempts += 1
                try:
                    d.record(event, actor=Actor(role, "某人"))
                except RuleRefusal:
                    refused += 1
        assert stage_rows(d.ws) == rows, f"a stage row was written at position {k}"
    assert attempts > 900 and refused == attempts, f"{refused} of {attempts} refused"
    print(f"\n{attempts} out-of-order attempts over {len(PATH)} positions × {len(ROLES)} roles: {refused} refused, 0 stage rows")


def test_an_auditor_changes_nothing_in_a_thousand_random_calls(case, tmp_path):
    from flows.usecases.archive import export_archive
    from flows.usecases.documents import attach

    case.walk(MANDATORY_PATH[:4])
    auditor = Actor("auditor", "赵审计")
    rng = random.Random(7)
    doc = tmp_path / "x.txt"
    doc.write_text("审计不应写入")
    before = all_rows(case.ws)
    for i in range(1000):
        try:
            choice = rng.random()
            if choice < 0.9:
                event = rng.choice(EVENTS)
                record_event(case.ws, auditor, case.case_id, event, payload(event), idempotency_key=f"aud-{i}" if i % 2 else None)
            elif choice < 0.95:
                attach(case.ws, auditor, case.case_id, doc)
            else:
                export_archive(case.ws, auditor, case.case_id, tmp_path / f"bag{i}")
        except DecisionError:
            pass
        else:
            pytest.fail(f"call {i} by the auditor succeeded")
    assert all_rows(case.ws) == before


def test_optimistic_concurrency_lets_exactly_one_writer_win_each_round(case):
    case.walk(MANDATORY_PATH)
    case.walk(["party-reported", "decision-published"])
    case.clock_to(__import__("datetime").date(2025, 12, 31))
    for round_ in range(10):
        seq = case.show().events
        wins: list[int] = []
        barrier = threading.Barrier(5)

        def clerk(n: int) -> None:
            barrier.wait()
            try:
                record_event(case.ws, Actor("clerk", f"办事员{n}"), case.case_id, "execution-reported",
                             payload("execution-reported", status=f"第{round_}轮{n}号"), expected_seq=seq)
                wins.append(n)
            except ConcurrentModification:
                pass

        threads = [threading.Thread(target=clerk, args=(n,)) for n in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1, f"round {round_}: {len(wins)} winners"
        assert case.show().events == seq + 1


def test_twenty_callers_with_one_idempotency_key_make_one_row_and_another_payload_is_a_conflict(case):
    case.record("consultation-opened")
    case.clock_to(__import__("datetime").date(2025, 9, 30))
    results: list[int] = []
    barrier = threading.Barrier(20)

    def caller() -> None:
        barrier.wait()
        r = record_event(case.ws, ROLE_OF["participation-activity-held"], case.case_id, "participation-activity-held",
                         payload("participation-activity-held"), idempotency_key="same-key")
        results.append(r.seq)

    threads = [threading.Thread(target=caller) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and len(set(results)) == 1
    with case.ws.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE idempotency_key = 'same-key'")).scalar_one() == 1
    with pytest.raises(IdempotencyConflict):
        record_event(case.ws, ROLE_OF["participation-activity-held"], case.case_id, "participation-activity-held",
                     payload("participation-activity-held", description="另一场座谈会"), idempotency_key="same-key")


def test_a_comments_import_killed_midway_and_retried_whole_duplicates_nothing(case, tmp_path):
    from flows.usecases.comments import import_comments

    case.record("consultation-opened")
    f = tmp_path / "comments.jsonl"
    with f.open("w", encoding="utf-8") as out:
        for n in range(20000):
            out.write(json.dumps({"submitted_at": "2025-09-05T10:00:00+08:00", "channel": "网站", "author": f"市民{n}",
                                  "text": f"关于补偿标准的第{n}条意见：建议提高{n % 97}%"}, ensure_ascii=False) + "\n")
    juece = str(Path(sys.executable).with_name("juece"))
    killed_before_commit = 0
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen([juece, "--home", str(case.ws.home), "--as", "clerk:李明", "comments", "import",
                                 case.case_id, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        killed_before_commit += proc.returncode == -signal.SIGKILL
    r = import_comments(case.ws, Actor("clerk", "李明"), case.case_id, f)
    assert r.received_total == 20000
    with case.ws.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*), count(DISTINCT row_hash) FROM comments")).one()
    assert rows[0] == rows[1] == 20000
    assert show_case(case.ws, case.case_id).events <= 4  # at most one comments-imported record

"""`juece demo`, the driver: a realistic Sanya case walked through the procedure on a fresh simulated-clock workspace.

河西片区棚户区改造 (a shantytown renovation, public-construction, risk-relevant, technical): public consultation with
412 comments (a form-letter campaign among them) and a hearing, expert review, risk assessment, legality review with
a required change, the executive meeting, the party report and publication with the decision text's hash (and a
defaced copy caught). One attempted skip is refused (PP-01), one warning is acknowledged with a reason (LEG-04); then
the whole history is verified, the dossier archived as a BagIt bag, and the case's flow runs on the local Prefect
server. Every step is also written as a payload file and printed as the `juece` command that records it, so the walk
can be repeated by hand. The case itself is data: flows/demo/sample_case.py.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from flows.demo.sample_case import (ADMIN, AFTER, CLERK, DECISION_TEXT, DEMO_PEOPLE, FORM_LETTER, LEGAL, MEETING,
                                     OPINIONS, SECRETARY, STEPS, SUBMISSION, Step)
from flows.render.terminal import typed
from flows.usecases.audit import verify_cases
from flows.usecases.catalog import publish_catalog
from flows.usecases.clock import LOCAL
from flows.usecases.launch import launch_case
from flows.usecases.record import record_event
from flows.usecases.show import show_case
from flows.usecases.workspace import Actor, init_workspace, set_clock
from models.events import CatalogPublished
from policies.errors import RuleRefusal

DEMO_ROOT = Path(".juece-demo")


def comments(ws: Any, case_id: str, payloads: Path, say: Any, j: str, clock: Any) -> None:
    """412 public comments: a 300-letter form campaign with small variations, 100 individual opinions, 12 late."""
    from flows.usecases.comments import import_comments

    rng = random.Random(2025)
    rows = []
    for n in range(300):  # the campaign: the same letter, signed differently, punctuation varied
        text = FORM_LETTER if n % 3 else FORM_LETTER.replace("，", ",").replace("！", "!")
        rows.append(
            ("网站留言", f"居民{n:03d}", text + ("" if n % 5 else f"（{rng.choice('东西南北')}区{n}号）"), 9 + n % 28)
        )
    for n in range(100):
        rows.append(
            (
                "信函" if n % 4 == 0 else "电子邮件",
                f"市民{n:03d}",
                f"{OPINIONS[n % len(OPINIONS)]}（第{n + 1}号意见）",
                2 + n % 37,
            )
        )
    for n in range(12):  # after the 2025-10-09 deadline: kept, flagged late
        rows.append(("电子邮件", f"迟到{n:02d}", f"{OPINIONS[n % len(OPINIONS)]}——逾期补充{n + 1}", 40))
    day0 = datetime(2025, 9, 1, 10, 0, tzinfo=LOCAL)
    f = payloads / "comments.jsonl"
    with f.open("w", encoding="utf-8") as out:
        for channel, author, text, offset in rows:
            out.write(
                json.dumps(
                    {
                        "submitted_at": (day0 + timedelta(days=offset)).isoformat(),
                        "channel": channel,
                        "author": author,
                        "text": text,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    clock("2025-10-10")
    r = import_comments(ws, CLERK, case_id, f)
    say(
        f"2025-10-10  [green]imported[/] {r.rows} public comments — {r.received_total} received, {r.distinct_total} "
        f"distinct, {r.clusters_total} after grouping the form-letter campaign; {r.late} late (kept, flagged)"
    )
    say(f"  $ {j} --as clerk:李明 comments import {case_id} {typed(f)}   ·   {j} comments show {case_id}")



def decision_text(ws: Any, case_id: str, payloads: Path, say: Any, j: str, clock: Any) -> bytes:
    """The decision text goes into the document store; its sha256 is what publication records."""
    from flows.usecases.documents import attach

    clock("2025-11-10")
    f = payloads / "决定全文.txt"
    f.write_bytes(DECISION_TEXT)
    attach(ws, LEGAL, case_id, f, title="三亚市人民政府关于河西片区棚户区改造的决定")
    say(f"2025-11-10  [green]attached[/] 决定全文.txt (sha256 {hashlib.sha256(DECISION_TEXT).hexdigest()[:16]}…)")
    return DECISION_TEXT


def check_copies(ws: Any, case_id: str, text: bytes, payloads: Path, say: Any, j: str) -> None:
    """A faithful web copy verifies; a defaced one (the Sanya plan's own fate: 关于 → casino spam) exits 4."""
    from flows.usecases.publication import verify_copy

    good = verify_copy(ws, case_id, text, "copy")
    bad_file = payloads / "defaced-copy.txt"
    bad_file.write_bytes(text.replace("关于".encode(), "金牌娱乐,金牌娱乐平台".encode()))
    bad = verify_copy(ws, case_id, bad_file.read_bytes(), str(bad_file))
    say(
        f"            publication verify: the published text {'matches' if good.matches else 'DIFFERS'}; a defaced "
        f"copy {'matches?!' if bad.matches else 'is caught (exit 4)'} — {bad.difference}"
    )
    say(f"  $ {j} publication verify {case_id} --file {typed(bad_file)}")


def archive(ws: Any, case_id: str, home: Path, say: Any, j: str) -> Path:
    """Export the dossier as a BagIt bag and verify it with nothing but the bag."""
    from flows.usecases.archive import export_archive
    from flows.usecases.archive_verify import verify_archive

    bag = home / "archive" / case_id
    r = export_archive(ws, Actor("archivist", "周档案"), case_id, bag)
    v = verify_archive(bag)
    say(
        f"\n[bold]archive[/]: {r.archive_id} — a BagIt bag of {r.files} files at {typed(bag)} "
        f"({'verifies with nothing but the bag' if v.ok else 'DOES NOT VERIFY'}); dossier page: "
        f"{typed(bag / 'data' / 'dossier.html')}"
    )
    say(f"  $ {j} --as archivist:周档案 archive export {case_id} --out DIR   ·   juece archive verify {typed(bag)}")
    return bag


def _fresh_workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    n = 1
    while (root / f"run-{n}").exists():
        n += 1
    return root / f"run-{n}"


def run_demo(workspace: Path | None, *, run_flow: bool, console: Any, keep_server: bool = False) -> dict[str, Any]:
    """Walk the demo case and print what happens; leaves the workspace for the user to explore and returns where it
    is and what it holds. A named workspace keeps everything, its Prefect server included, inside it; the default
    runs (./.juece-demo/run-N) share one Prefect home beside them."""
    from policies.errors import BadInput

    if workspace is not None and (workspace.is_file() or (workspace.is_dir() and any(workspace.iterdir()))):
        raise BadInput(f"{workspace} is not a new folder; the demo needs one (or none: ./.juece-demo/run-N)",
                       field="--home")
    home = workspace or _fresh_workspace(DEMO_ROOT)
    say = console.print
    ws, created = init_workspace(
        home, ADMIN, simulated_clock=datetime(2025, 8, 25, 9, 0, tzinfo=LOCAL),
        prefect_home=None if workspace else DEMO_ROOT / "prefect",
    )
    if not created:
        raise BadInput(
            f"{home} already holds a workspace; the demo needs a new folder (or none: ./.juece-demo/run-N)",
            field="--home",
        )
    payloads = home / "payloads"
    payloads.mkdir()
    j = f"juece --home {typed(home)}"  # shown only, escaped: a path may hold Rich markup ([red]…)
    say(f"[bold]juece demo[/] — a fresh workspace at {typed(home)}, simulated clock at 2025-08-25 09:00 (Asia/Shanghai)\n")

    catalog = CatalogPublished.example
    (payloads / "catalog-2025.json").write_text(json.dumps(catalog, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    published = publish_catalog(ws, LEGAL, catalog)
    say(f"the 2025 decision catalog of 三亚市人民政府 (重大行政决策事项目录), version {published.version}, {published.items} "
        f"items, published with the Party committee's consent ({catalog['party_consent']['ref']}; SCP-05)")
    say(f"  $ {j} --as legal-office:张伟 catalog publish {typed(payloads / 'catalog-2025.json')}\n")
    case_id, _ = launch_case(
        ws,
        LEGAL,
        title="三亚市河西片区棚户区改造项目",
        category="public-construction",
        organ="三亚市人民政府",
        lead_unit="三亚市住房和城乡建设局",
        co_units=["天涯区人民政府"],
        catalog_item="7",
        flags=["risk-relevant", "technical", "livelihood", "public-concern"],
    )
    say(f"[bold]{case_id}[/] launched by the legal office (法制机构) 张伟: 三亚市河西片区棚户区改造项目, catalog item 7")
    say(
        f"  $ {j} --as legal-office:张伟 case launch --title 三亚市河西片区棚户区改造项目 --category public-construction "
        "--organ 三亚市人民政府 --lead-unit 三亚市住房和城乡建设局 --catalog 7 --flag risk-relevant --flag technical …\n"
    )

    def clock(day: str) -> None:
        set_clock(ws, ADMIN, datetime.combine(datetime.fromisoformat(day).date(), time(17, 30), tzinfo=LOCAL))

    def step(i: int, s: Step) -> None:
        clock(s.day)
        f = payloads / f"{i:02d}-{s.event}.json"
        f.write_text(json.dumps(s.payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        r = record_event(ws, s.actor, case_id, s.event, s.payload, acknowledge=s.acknowledge)
        acks = "".join(f" --acknowledge {rule} --reason '{why}'" for rule, why in s.acknowledge)
        say(f"{s.day}  [green]recorded[/] #{r.seq} {s.event} ({s.actor.role}:{s.actor.name}) — {s.say}")
        say(f"  $ {j} --as {s.actor.label} record {case_id} {s.event} --file {typed(f)}{acks}")

    def refused(s: Step, note: str) -> None:
        clock(s.day)
        try:
            record_event(ws, s.actor, case_id, s.event, s.payload)
        except RuleRefusal as exc:
            f = exc.findings[0]
            say(f"{s.day}  [red]refused[/] {s.event} ({s.actor.role}:{s.actor.name}) — {note}")
            say(f"  {f.rule} {f.article}: {f.message}")
            return
        raise AssertionError(f"the demo expected {s.event} to be refused")

    step(1, STEPS[0])
    refused(
        Step("2025-09-02", CLERK, "legality-review-submitted", dict(SUBMISSION, submitted_on="2025-09-02"), ""),
        "an attempted skip: straight to legality review while the consultation is still open (exit 3; the "
        "attempt is kept in the history)",
    )
    for i, s in enumerate(STEPS[1:], 2):
        if s.event == "participation-concluded":
            comments(ws, case_id, payloads, say, j, clock)
        step(i, s)
    meeting = Step("2025-10-30", SECRETARY, "meeting-held", MEETING, "")
    refused(
        meeting, "the meeting falls inside the reviewer's 7 working days (a warning: recorded only if acknowledged)"
    )
    step(
        len(STEPS) + 1,
        Step(
            meeting.day,
            SECRETARY,
            "meeting-held",
            MEETING,
            "Approved; the head spoke last, the majority agreed (CD-03, CD-04); the LEG-04 warning acknowledged.",
            acknowledge=(("LEG-04", "市司法局于10月27日出具审查意见并书面确认审查已完成；项目须赶在台风季前开工"),),
        ),
    )
    step(len(STEPS) + 2, AFTER[0])
    text = decision_text(ws, case_id, payloads, say, j, clock)
    published = AFTER[1]
    step(
        len(STEPS) + 3,
        Step(
            published.day,
            published.actor,
            published.event,
            dict(published.payload, text_sha256=hashlib.sha256(text).hexdigest()),
            published.say,
        ),
    )
    check_copies(ws, case_id, text, payloads, say, j)

    view = show_case(ws, case_id)
    say("")
    say(" | ".join(f"{s.label.split()[0]}: {s.status}" for s in view.stages[:7]))
    report = verify_cases(ws)
    v = report.cases[0]
    say(
        f"\n[bold]audit verify[/]: {v.case_id} {'intact' if v.intact else 'BROKEN'}, {v.events} events, "
        f"{len(v.findings)} findings, {len(v.acknowledged)} acknowledged warning(s), {v.refused_attempts} refused attempt(s) "
        f"kept; exit {report.exit_code}"
    )
    for a in v.acknowledged:
        say(f"  acknowledged {a['rule']} by {a['actor']}: {a['reason']}")
    say(f"  $ {j} audit verify")
    bag = archive(ws, case_id, home, say, j)
    accounts = demo_accounts(ws, say, j)
    flow_url = mirror(ws, case_id, say, j, keep_server=keep_server) if run_flow else None
    say(f"\nExplore: {j} case show {case_id}  ·  {j} audit replay {case_id} --as-of 2025-10-15")
    return {"home": str(home), "case_id": case_id, "audit_exit_code": report.exit_code, "archive": str(bag),
            "flow_run_url": flow_url, "prefect_home": str(ws.prefect_home), "accounts": accounts}


def mirror(ws: Any, case_id: str, say: Any, j: str, *, keep_server: bool) -> str | None:
    """Mirror the workspace into Prefect as `juece worker` does (flows/orchestration/mirror.py): every record an event,
    the case a decision-case run; then stop the local Prefect server unless asked to keep it, and say which. Returns
    the address of the case's run in the Prefect UI."""
    from flows.orchestration.case_flow import prepare_prefect
    from flows.orchestration.mirror import drain_once, pending_count
    from flows.orchestration.prefect_server import server_status, stop_server

    waiting = pending_count(ws)
    say(f"\nmirroring the {waiting} records into Prefect, as `{j} worker` does (starts the local Prefect server) …")
    ui = prepare_prefect(ws)
    done = drain_once(ws)
    while done.left and done.delivered:
        done = drain_once(ws)
    runs = dict(zip(done.cases, done.flow_runs))
    say(f"  {waiting - pending_count(ws)} records delivered as Prefect events; the case's stages are the task runs of")
    url = f"{ui}/runs/flow-run/{runs[case_id]}" if case_id in runs else None
    if url:
        say(f"  {url}")
    managed = server_status(ws.prefect_home)
    if not managed.running:  # PREFECT_API_URL names a server the demo does not own
        say(f"  (Prefect server at {ui}, not the demo's: left as it is)")
    elif keep_server:
        say(f"  the Prefect server keeps running at {managed.url} (pid {managed.pid}); stop it with `{j} server stop`")
    else:
        stop_server(ws.prefect_home)
        say("  the Prefect server was stopped (`juece demo --keep-server` keeps it running to browse the UI)")
    return url




def demo_accounts(ws: Any, say: Any, j: str) -> list[dict[str, Any]]:
    """Create the demo accounts, print their one-time passwords, and say how to open the console."""
    from flows.usecases.accounts import add_account

    say("\n[bold]demo accounts[/] (one-time passwords, shown once — 仅显示一次):")
    accounts = []
    for name, roles in DEMO_PEOPLE:
        _, password = add_account(ws, ADMIN, name, roles)
        accounts.append({"name": name, "roles": list(roles), "password": password})
        say(f"  {name:<6} {', '.join(roles):<13} {password}")
    say(f"Open the console on this workspace: {j} web --port 8000   then http://127.0.0.1:8000 "
        f"(sign in as {CLERK.name} to record, 赵审计 to audit)")
    return accounts

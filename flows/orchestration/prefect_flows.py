"""The Prefect flows. Prefect is the orchestrator, not the record: each flow calls the same use cases as the
command line, tasks are per case (a task costs 9–13 ms), and waiting for people is case data, never a paused run."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, State

from flows.adapters.http import retry_on_transient
from flows.render.audit_report import deadline_sweep_markdown
from flows.render.stage_table import stage_table_markdown
from flows.usecases.show import show_case
from flows.usecases.workspace import open_workspace


def artifact_key(case_id: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes."""
    return f"case-{case_id.lower()}-stages"


# A stage's status (policies/procedure.py: StageStatus) → the name of its task run's state in the Prefect UI.
STAGE_STATES = {
    "concluded": "Done",
    "waived": "Waived",
    "exempted": "Waived",
    "in-progress": "Waiting",
    "pending": "NotYet",
    "closed": "Closed",
}


def stage_state_name(status: str) -> str:
    """The state name a stage's task run ends in (Done / Waived / Waiting / NotYet / Closed)."""
    return STAGE_STATES.get(status, status.title().replace("-", ""))


@task(name="stage", task_run_name="{stage}")
def mirror_stage(case_id: str, stage: str, label: str, status: str, detail: str) -> State:
    """One stage of the case as it stands: a task run whose state is named for the stage's status."""
    return Completed(name=stage_state_name(status), message=f"{label}: {detail}" if detail else label,
                     data={"case_id": case_id, "stage": stage, "status": status})


@flow(name="decision-case", flow_run_name="{case_id}")
def decision_case(home: str, case_id: str) -> State:
    """Show a case as it stands: one task run per stage (its state named for the stage's status), the stage table as
    an artifact, and a final state named for what the case waits on. The history is the record; this run mirrors it
    (flows/orchestration/mirror.py runs it after each record; `juece flow run` on demand)."""
    view = show_case(open_workspace(home), case_id)
    for s in view.stages:
        mirror_stage(view.case_id, s.stage, s.label, s.status, s.detail)
    key = artifact_key(view.case_id)
    create_markdown_artifact(key=key, markdown=stage_table_markdown(view), description=f"Stage table of {view.case_id}")
    return Completed(
        name=view.awaiting,
        data={"case_id": view.case_id, "awaiting": view.awaiting, "status": view.status, "artifact": key,
              "events": view.events},
    )


@task(name="verify-histories")
def verify_histories(home: str) -> Any:
    """Integrity and every rule, over every case (one task for the batch, not one per event)."""
    from flows.usecases.audit import verify_cases

    return verify_cases(open_workspace(home))


@task(name="publish-audit-report")
def publish_audit_report(report: Any) -> str:
    """Publish the audit report as a markdown artifact."""
    from flows.render.audit_report import audit_report_markdown

    create_markdown_artifact(key="audit-report", markdown=audit_report_markdown(report), description="juece audit verify")
    return "audit-report"


@flow(name="audit-all-cases")
def audit_all_cases(home: str) -> State:
    """Verify every case's history and publish the report; the run's state names the verdict."""
    report = verify_histories(home)
    publish_audit_report(report)
    name = {0: "Intact", 4: "IntegrityFailure", 5: "RuleFindings"}[report.exit_code]
    return Completed(name=name, data={"exit_code": report.exit_code, "cases": len(report.cases)})


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only a transient failure — a transport error or a 5xx (flows/adapters/http.py) — never a refusal."""
    return retry_on_transient(state.result(raise_on_failure=False))


@task(name="find-due-items")
def find_due_items(home: str) -> Any:
    """Sweep every case's deadlines."""
    from flows.usecases.sweep import sweep

    return sweep(open_workspace(home))


@task(name="send-reminders", retries=3, retry_delay_seconds=[1, 5, 20], retry_condition_fn=_transient)
def send_reminders(url: str, today: str, items: Any) -> int:
    """POST the reminders to the webhook; Prefect retries transient failures only."""
    from flows.usecases.sweep import post_reminders

    return post_reminders(url, today, items)


@flow(name="deadline-sweep")
def deadline_sweep(home: str, webhook_url: str | None = None) -> State:
    """Find what is due and overdue across all cases, publish the list, and remind the webhook."""
    today, items = find_due_items(home)
    create_markdown_artifact(key="deadline-sweep", markdown=deadline_sweep_markdown(today, items),
                             description="Due and overdue items")
    if webhook_url and items:
        send_reminders(webhook_url, today, items)
    overdue = sum(i.state == "overdue" for i in items)
    return Completed(name="Overdue" if overdue else ("Due" if items else "NothingDue"),
                     data={"items": len(items), "overdue": overdue})


@task(name="post-to-portal", retries=3, retry_delay_seconds=[1, 5, 20], retry_condition_fn=_transient)
def post_decision(portal: str, case_id: str, title: str, text: bytes, sha: str) -> str:
    """POST the decision text; Prefect retries transport errors and 5xx only."""
    from flows.usecases.publication import post_to_portal

    return post_to_portal(portal, case_id, title, text, sha)


@flow(name="publish-decision", flow_run_name="{case_id}")
def publish_decision(home: str, case_id: str, portal: str, actor: str = "legal-office:publication-flow") -> State:
    """Post a published decision's text to a portal and record where it now is."""
    from flows.usecases.publication import published_text, record_posted
    from flows.usecases.workspace import parse_actor

    ws = open_workspace(home)
    title, sha, text = published_text(ws, case_id)
    where = post_decision(portal, case_id, title, text, sha)
    seq = record_posted(ws, parse_actor(actor), case_id, portal, where, sha)
    return Completed(name="Posted", data={"case_id": case_id, "url": where, "seq": seq})

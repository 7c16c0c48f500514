"""Running a case's flow from the command line: make sure the local Prefect server is up (or use the one
PREFECT_API_URL names, in the scaled setup), then run `decision-case` in this process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from flows.usecases.show import show_case
from flows.orchestration.prefect_server import ServerStartError, ensure_server, prefect_env
from flows.usecases.workspace import Workspace
from policies.errors import DecisionError


@dataclass(frozen=True)
class FlowOutcome:
    """Where the run is and what the case waits on."""

    case_id: str
    flow_run_id: str
    state_name: str
    ui_url: str
    artifact_key: str
    posted_url: str = ""  # publish-decision: where the portal now has the text

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def prepare_prefect(ws: Workspace) -> str:
    """Set Prefect's environment before it is imported; return the UI root URL.

    On this short-lived command's console only Prefect's errors are shown: its shutdown notices ("still processing
    items") are noise to a clerk, and every log line still reaches the Prefect UI."""
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "ERROR"
    external = os.environ.get("PREFECT_API_URL")
    if external:  # the scaled setup: a Prefect server the operator runs
        os.environ.update({k: v for k, v in prefect_env(ws.prefect_home).items()
                           if k not in ("PREFECT_HOME", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL")})
        return external.removesuffix("/api")
    try:
        server = ensure_server(ws.prefect_home)
    except ServerStartError as exc:
        raise DecisionError(str(exc), code="prefect-server") from exc
    os.environ.update({k: v for k, v in prefect_env(ws.prefect_home, api_url=server.api_url).items()
                       if k != "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"})
    assert server.url is not None
    return server.url


def _drain() -> None:
    """Let Prefect finish sending the run's events and logs before this short-lived process exits."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all()
    APILogWorker.drain_all()


def run_case_flow(ws: Workspace, case_id: str) -> FlowOutcome:
    """Run the `decision-case` flow for one case and say where to see it."""
    show_case(ws, case_id)  # an unknown case is refused before any server is started
    ui = prepare_prefect(ws)
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import decision_case

    # The flow heartbeat thread costs ~1 s a run; only this setting turns it off (ARCHITECTURE.md).
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = decision_case(home=str(ws.home), case_id=case_id, return_state=True)
    _drain()
    run_id = str(state.state_details.flow_run_id)
    data = state.result()
    return FlowOutcome(case_id, run_id, state.name or "", f"{ui}/runs/flow-run/{run_id}", data["artifact"])


def run_audit_flow(ws: Workspace) -> FlowOutcome:
    """Run `audit-all-cases` and say where its report is."""
    ui = prepare_prefect(ws)
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import audit_all_cases

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = audit_all_cases(home=str(ws.home), return_state=True)
    _drain()
    run_id = str(state.state_details.flow_run_id)
    return FlowOutcome("*", run_id, state.name or "", f"{ui}/runs/flow-run/{run_id}", "audit-report")


def run_sweep_flow(ws: Workspace, webhook_url: str | None) -> FlowOutcome:
    """Run `deadline-sweep` once now (the scaled setup runs it on a schedule through `juece worker`)."""
    ui = prepare_prefect(ws)
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import deadline_sweep

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = deadline_sweep(home=str(ws.home), webhook_url=webhook_url, return_state=True)
    _drain()
    run_id = str(state.state_details.flow_run_id)
    return FlowOutcome("*", run_id, state.name or "", f"{ui}/runs/flow-run/{run_id}", "deadline-sweep")


def run_publish_flow(ws: Workspace, case_id: str, portal: str, actor: str) -> FlowOutcome:
    """Run `publish-decision`: post the decision text to the portal and record where it is."""
    from flows.usecases.publication import published_text

    published_text(ws, case_id)  # nothing to post is refused before any server is started
    ui = prepare_prefect(ws)
    from prefect.settings import temporary_settings

    from flows.orchestration.prefect_flows import publish_decision

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = publish_decision(home=str(ws.home), case_id=case_id, portal=portal, actor=actor, return_state=True)
    _drain()
    run_id = str(state.state_details.flow_run_id)
    if not state.is_completed():
        raise DecisionError(f"the publication flow ended {state.name}: {state.message}", code="publish-flow")
    return FlowOutcome(case_id, run_id, state.name or "", f"{ui}/runs/flow-run/{run_id}", "", state.result()["url"])

"""Running a case's flow from the command line: make sure the local Prefect server is up (or use the one
PREFECT_API_URL names, in the scaled setup), then run `decision-case` in this process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from flows.adapters.logs import logger
from flows.orchestration.prefect_server import ensure_server, prefect_env
from flows.usecases.publication import published_text
from flows.usecases.show import show_case
from flows.usecases.workspace import Workspace
from policies.errors import DecisionError, ServerStartError

log = logger("orchestration")


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


def run_flow(ws: Workspace, name: str, **parameters: Any) -> tuple[Any, str, str]:
    """Run one of juece's flows (`prefect_flows.<name>`) in this process, on the workspace's Prefect server (or the
    one PREFECT_API_URL names), with the flow heartbeat off; returns (its final state, the run id, the run's URL)."""
    ui = prepare_prefect(ws)
    from prefect.settings import temporary_settings

    from flows.orchestration import prefect_flows

    flow = getattr(prefect_flows, name)
    # The flow heartbeat thread costs ~1 s a run; only this setting turns it off (ARCHITECTURE.md).
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        state = flow(home=str(ws.home), **parameters, return_state=True)
    _drain()
    run_id = str(state.state_details.flow_run_id)
    log.info("flow run ended", extra={"flow": name, "run_id": run_id, "state": state.name, **parameters})
    return state, run_id, f"{ui}/runs/flow-run/{run_id}"


def run_case_flow(ws: Workspace, case_id: str) -> FlowOutcome:
    """Run the `decision-case` flow for one case and say where to see it."""
    show_case(ws, case_id)  # an unknown case is refused before any server is started
    state, run_id, url = run_flow(ws, "decision_case", case_id=case_id)
    return FlowOutcome(case_id, run_id, state.name or "", url, state.result()["artifact"])


def run_audit_flow(ws: Workspace) -> FlowOutcome:
    """Run `audit-all-cases` and say where its report is."""
    state, run_id, url = run_flow(ws, "audit_all_cases")
    return FlowOutcome("*", run_id, state.name or "", url, "audit-report")


def run_sweep_flow(ws: Workspace, webhook_url: str | None) -> FlowOutcome:
    """Run `deadline-sweep` once now (the scaled setup runs it on a schedule through `juece worker`)."""
    state, run_id, url = run_flow(ws, "deadline_sweep", webhook_url=webhook_url)
    return FlowOutcome("*", run_id, state.name or "", url, "deadline-sweep")


def run_publish_flow(ws: Workspace, case_id: str, portal: str, actor: str) -> FlowOutcome:
    """Run `publish-decision`: post the decision text to the portal and record where it is."""
    published_text(ws, case_id)  # nothing to post is refused before any server is started
    state, run_id, url = run_flow(ws, "publish_decision", case_id=case_id, portal=portal, actor=actor)
    if not state.is_completed():
        raise DecisionError(f"the publication flow ended {state.name}: {state.message}", code="publish-flow")
    return FlowOutcome(case_id, run_id, state.name or "", url, "", state.result()["url"])

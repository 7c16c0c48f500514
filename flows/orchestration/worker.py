"""`juece worker`: run juece's flows on this machine for runs triggered from anywhere (the scaled setup).

Prefect's work-pool mechanism (ARCHITECTURE.md, "Prefect's place"): a *process* work pool named `juece`, one
deployment per flow (`decision-case/juece`), and on each machine that should execute flows a worker polling the pool.
Any machine that can reach the Prefect API triggers a run (`trigger_case_flow`, the UI, `prefect deployment run`);
one of the workers picks it up and runs it in a child process.

- The deployments' entrypoint is the installed module path `flows.orchestration.prefect_flows.decision_case` (Prefect treats an
  entrypoint without a colon as a module to import, with no code download), so a worker machine needs juece
  pip-installed, not a source checkout.
- A worker-run flow finds its workspace through the `home` flow parameter, as `decision_case` already takes it. The
  worker exports its own workspace as JUECE_HOME, so `home=""` means "the worker's workspace"; the case store itself
  is JUECE_DATABASE_URL (the shared PostgreSQL), inherited by every flow-run process.
- Each flow run's process starts as `python -m flows.orchestration.worker engine`: Prefect's own engine (`python -m prefect.engine`)
  with the flow heartbeat off, which only `temporary_settings` can do (ARCHITECTURE.md). `run_worker` puts its own
  interpreter first on PATH, so that `python` is the one juece is installed in. The stock engine command would also
  start a second Python (Prefect's workspace supervisor) before the engine.

Prefect is imported inside the functions, never at module level (`import prefect` alone costs 1.4–2.0 s).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flows.adapters import http
from flows.orchestration.prefect_server import prefect_env, server_status
from flows.usecases.workspace import open_workspace
from policies.errors import BadInput, FlowRunUnfinished, PrefectUnavailable, TransientFailure

WORK_POOL = "juece"
DEPLOYMENT = "juece"
# flow name → (module path of the flow, description); each deployment is "<flow name>/<DEPLOYMENT>".
FLOWS: dict[str, tuple[str, str]] = {
    "decision-case": (
        "flows.orchestration.prefect_flows.decision_case",
        "Advance a case as far as its records allow; end in a state named for what it waits on.",
    ),
    "audit-all-cases": ("flows.orchestration.prefect_flows.audit_all_cases", "Verify every case's history and every rule."),
    "deadline-sweep": (
        "flows.orchestration.prefect_flows.deadline_sweep",
        "Due and overdue items across all cases; reminders to the webhook.",
    ),
}
SWEEP_FLOW = "deadline-sweep"
SWEEP_SCHEDULE_SLUG = "juece-deadline-sweep"
# Run by the worker for each flow run, with the worker's PATH (see module docstring).
ENGINE_COMMAND = "python -m flows.orchestration.worker engine"
# A worker asks for new runs this often (Prefect's default is 10 s; a clerk waits for the answer).
DEFAULT_QUERY_SECONDS = 2.0
# On SIGTERM a worker takes no new runs and waits this long for those in progress (juece's flows take seconds).
STOP_GRACE_SECONDS = 60.0
# "No limit" (Prefect's default) still gets a limiter, so the worker knows how many runs it holds when it stops.
_NO_LIMIT = 10_000
_TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def deployment_names() -> list[str]:
    """The deployments `deploy_flows` maintains, "flow-name/deployment-name"."""
    return [f"{flow}/{DEPLOYMENT}" for flow in FLOWS]


def resolve_api_url(api_url: str | None, prefect_home: Path | None = None) -> str:
    """The Prefect API to use: the one given, else PREFECT_API_URL, else the workspace's running local server."""
    url = api_url or os.environ.get("PREFECT_API_URL")
    if not url and prefect_home is not None:
        url = server_status(prefect_home).api_url
    if not url:
        raise PrefectUnavailable(
            "no Prefect server to talk to: give --api-url or set PREFECT_API_URL to the shared server's API "
            "(http://HOST:4200/api), or start this workspace's own with `juece server start`"
        )
    url = url.rstrip("/")
    try:
        # /health needs no credentials even on a server with PREFECT_SERVER_API_AUTH_STRING; proxies as Prefect's.
        answer = http.get(f"{url}/health", timeout=5.0)
    except TransientFailure as exc:
        raise PrefectUnavailable(f"the Prefect API at {url} does not answer: {exc.__cause__ or exc}") from exc
    if answer.status != 200:
        raise PrefectUnavailable(f"the Prefect API at {url} answered its health check with HTTP {answer.status}")
    return url


def _quiet_prefect() -> None:
    """Prefect's environment for a client (set before it is imported; PREFECT_HOME is left to the caller)."""
    for key, value in prefect_env(Path(".")).items():
        if key != "PREFECT_HOME":
            os.environ.setdefault(key, value)


@contextmanager
def _api(url: str) -> Iterator[None]:
    """Talk to this API even if Prefect was imported earlier with another one."""
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"api.url": url}):
        yield


def deploy_flows(
    api_url: str | None,
    *,
    work_pool: str = WORK_POOL,
    sweep_cron: str | None = None,
    sweep_webhook: str | None = None,
    timezone: str = "Asia/Shanghai",
) -> list[str]:
    """Create the process work pool (if missing) and create or update juece's deployments in it; idempotent.

    Returns the deployment names, e.g. ["decision-case/juece", …]. An existing pool is left as its operator set it
    (concurrency limit, pause); a pool of another type under the name is refused. `sweep_cron` (e.g. "0 8 * * 1-5")
    schedules the deadline sweep on the workers' own workspace (`home=""`), reminding `sweep_webhook`; without it a
    schedule set earlier is kept.
    """
    url = resolve_api_url(api_url)
    _quiet_prefect()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.objects import VersionInfo
    from prefect.exceptions import ObjectNotFound
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType
    from prefect.workers.process import ProcessWorker

    # Our own version, given outright: Prefect would otherwise read the git metadata of whatever directory we run in.
    version = f"juece {_juece_version()}"
    version_info = VersionInfo(type="prefect:simple", version=version)

    names: list[str] = []
    with _api(url):
        with get_client(sync_client=True) as client:
            try:
                pool = client.read_work_pool(work_pool)
            except ObjectNotFound:
                pool = client.create_work_pool(
                    WorkPoolCreate(
                        name=work_pool,
                        type=ProcessWorker.type,
                        description="juece's flows, run by `juece worker` processes",
                        base_job_template=ProcessWorker.get_default_base_job_template(),
                    )
                )
            if pool.type != ProcessWorker.type:
                raise BadInput(
                    f"the work pool {work_pool!r} exists with type {pool.type!r}; juece needs a "
                    f"{ProcessWorker.type!r} pool — choose another name with --pool",
                    field="--pool",
                )
        for flow_name, (entrypoint, description) in FLOWS.items():
            flow = load_flow_from_entrypoint(entrypoint)
            options: dict[str, Any] = {}
            if flow_name == SWEEP_FLOW and sweep_cron:
                parameters = {"home": "", "webhook_url": sweep_webhook}
                options["schedules"] = [
                    Cron(sweep_cron, timezone=timezone, parameters=parameters, slug=SWEEP_SCHEDULE_SLUG)
                ]
            deployment = flow.to_deployment(
                name=DEPLOYMENT,
                work_pool_name=work_pool,
                entrypoint_type=EntrypointType.MODULE_PATH,
                job_variables={"command": ENGINE_COMMAND},
                description=description,
                tags=["juece"],
                version=version,
                **options,
            )
            assert deployment.entrypoint == entrypoint, deployment.entrypoint
            deployment.apply(version_info=version_info)
            names.append(f"{flow_name}/{DEPLOYMENT}")
    return names


def run_worker(
    workspace_home: Path,
    *,
    api_url: str | None,
    limit: int | None,
    work_pool: str = WORK_POOL,
    name: str | None = None,
    query_seconds: float = DEFAULT_QUERY_SECONDS,
    stop_grace_seconds: float = STOP_GRACE_SECONDS,
    mirror: bool = True,
) -> None:
    """Serve the work pool on this machine until SIGTERM or Ctrl-C, then let the runs in progress end and return.

    With `mirror` (the default) a thread drains the outbox into Prefect meanwhile (flows/orchestration/mirror.py):
    every record becomes a Prefect event and each changed case a `decision-case` run, a second or so after it is
    recorded; while Prefect is away the records wait in the outbox.

    Flow runs execute in child processes that inherit this process's environment, with JUECE_HOME set to the
    workspace (for runs given `home=""`) and PREFECT_HOME to the one set, else the workspace's Prefect home.
    `limit` caps concurrent flow runs.
    Call it in a process of its own: Prefect's settings are read when Prefect is first imported.
    """
    ws = open_workspace(workspace_home)  # refuses a missing workspace before anything starts
    url = resolve_api_url(api_url, ws.prefect_home)
    # Absolute paths: each flow run's process starts in a temporary directory of its own.
    prefect_home = Path(os.environ.get("PREFECT_HOME") or ws.prefect_home).resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(prefect_env(prefect_home, api_url=url))
    os.environ["JUECE_HOME"] = str(ws.home.resolve())
    # ENGINE_COMMAND says `python`: make it this interpreter, the one juece (and Prefect) is installed in.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    import asyncio
    import signal

    from prefect.settings import temporary_settings
    from prefect.workers.process import ProcessWorker

    def say(*args: Any, **kwargs: Any) -> None:
        print(*args, **kwargs, flush=True)

    async def serve() -> None:
        # SIGTERM / SIGINT are handled on the event loop. Prefect's own handling (the signal turned into a
        # KeyboardInterrupt raised wherever the main thread happens to be) left an idle 3.9.1 worker hanging,
        # `prefect worker start` included. First signal: take no new runs, let those in progress end (up to
        # `stop_grace_seconds`), then stop. Second: stop now, ending the runs in progress. Third: exit at once.
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None
        # A limit even when none is asked for: the worker's limiter (`ProcessWorker.limiter`, a capacity limiter
        # holding one token per run from submission to end) is how it counts its runs, and how intake is closed.
        worker = ProcessWorker(work_pool_name=work_pool, name=name, limit=limit or _NO_LIMIT)
        signals: list[str] = []
        stopping: list[asyncio.Task[None]] = []  # a reference, so the stopping task is not garbage-collected
        closed: list[object] = []  # the tokens taken to close intake

        def close_intake() -> None:
            """Take every free token of the worker's limiter: Prefect then submits no new run ("flow run limit
            reached") and leaves it scheduled for another worker; the runs in progress keep theirs."""
            try:
                limiter = worker.limiter
            except RuntimeError:  # not set up yet: nothing was submitted, nothing to wait for
                return
            while limiter.available_tokens >= 1:
                token = object()
                limiter.acquire_on_behalf_of_nowait(token)
                closed.append(token)

        def held() -> int:
            try:
                return int(worker.limiter.borrowed_tokens) - len(closed)
            except RuntimeError:
                return 0

        async def stop_when_idle() -> None:
            deadline = loop.time() + stop_grace_seconds
            while held() and loop.time() < deadline:
                await asyncio.sleep(0.1)
            main.cancel()

        def on_signal(sig: signal.Signals) -> None:
            signals.append(sig.name)
            if len(signals) == 1:
                close_intake()
                say(f"Received {sig.name}: the juece worker takes no new flow runs and stops when the {held()} "
                    "in progress have ended (send it again to stop now)")
                stopping.append(loop.create_task(stop_when_idle()))
            elif len(signals) == 2:
                say(f"Received {sig.name} again: stopping now, ending the flow runs in progress")
                main.cancel()
            else:
                os._exit(128 + sig.value)

        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except (ValueError, RuntimeError):  # not the main thread: stopping is the caller's business
                break
        try:
            await worker.start(printer=say)
        except asyncio.CancelledError:
            if not signals:
                raise
            say(f"Worker {worker.name!r} stopped.")

    def tell(message: str) -> None:  # the mirror's news: on stderr, so `juece worker --json` keeps stdout to itself
        print(message, file=sys.stderr, flush=True)

    stop_mirror = threading.Event()
    mirroring = None
    if mirror:
        from flows.orchestration.mirror import run_mirror

        mirroring = threading.Thread(target=run_mirror, args=(ws, stop_mirror),
                                     kwargs={"api_url": lambda: url, "say": tell}, name="juece-mirror", daemon=True)
        mirroring.start()
        tell(f"mirroring the outbox of {ws.home} into Prefect at {url}")
    try:
        with temporary_settings(updates={"api.url": url, "worker.query_seconds": query_seconds}):
            asyncio.run(serve())
    finally:
        stop_mirror.set()
        if mirroring is not None:
            mirroring.join(timeout=stop_grace_seconds)


def trigger_case_flow(api_url: str | None, home: str, case_id: str, *, timeout: float) -> tuple[str, str]:
    """Run `decision-case` for a case through its deployment (a worker executes it); wait up to `timeout` seconds.

    `home` is the workspace path as the worker machines see it ("" for each worker's own JUECE_HOME). Returns the
    flow run id and its final state name (e.g. "AwaitingLegalityOpinion", or "Failed"); a run not finished in time
    raises FlowRunUnfinished, naming the run.
    """
    url = resolve_api_url(api_url)
    _quiet_prefect()
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    name = f"decision-case/{DEPLOYMENT}"
    with _api(url):
        try:
            run = run_deployment(
                name,
                parameters={"home": home, "case_id": case_id},
                timeout=timeout,
                poll_interval=0.5,
                as_subflow=False,
            )
        except ObjectNotFound as exc:
            raise PrefectUnavailable(
                f"the Prefect server at {url} has no deployment {name!r}: start a `juece worker` (it deploys the "
                "flows) or run deploy_flows first",
                code="no-deployment",
            ) from exc
    state = run.state
    if state is None or state.type.value not in _TERMINAL:
        where = state.name if state is not None else "not scheduled"
        raise FlowRunUnfinished(
            f"flow run {run.id} of {name} is still {where} after {timeout:g} s — is a `juece worker` polling the "
            f"{WORK_POOL!r} work pool? (The run stays queued; a worker that starts later will run it.)",
            flow_run_id=str(run.id),
            state=where,
        )
    return str(run.id), state.name or state.type.value.title()


def run_flow_engine() -> None:
    """The process of one flow run under `juece worker`: Prefect's engine, with the flow heartbeat off."""
    import runpy

    from prefect.settings import temporary_settings

    # prefect.engine takes the flow run id from argv[1] or PREFECT__FLOW_RUN_ID (set by the worker).
    sys.argv = sys.argv[:1]
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)


def _juece_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("juece")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


if __name__ == "__main__":
    if sys.argv[1:] == ["engine"]:
        run_flow_engine()
    else:
        sys.exit("usage: python -m flows.orchestration.worker engine  (started by `juece worker` for each flow run)")

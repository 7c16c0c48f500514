"""The workspace's local Prefect server: started once in the background, reused afterwards, stopped on request.

Prefect's per-process temporary server costs 5–15 s a command, is killed before it saves task history and never
fires schedules (docs: ARCHITECTURE.md, "Prefect's place"). So a command that runs a flow calls `ensure_server`,
which starts `prefect server start` detached in its own session, with its home and log inside the workspace, and
records it in `server.json`; later commands find it there and reuse it.

By default the server keeps its database in SQLite inside its Prefect home. `ensure_server(..., database_url=...)`
starts it on another database instead — in the scaled setup PostgreSQL (`postgresql+asyncpg://…`, ≥ 14.9 with the
`pg_trgm` extension, which Prefect's own migrations create when the role may) — and records that URL, with any
password masked, in `server.json`, so a later request for a different database is refused rather than silently
served by the wrong server.

This module never imports Prefect (`import prefect` alone costs 1.4–2.0 s): it runs the server as a subprocess and
talks to it over HTTP.

About 420 lines, one job: the life of one local server process — start it detached, find it again from its record,
tell it from a recycled pid, wait for its health, stop its whole process group — kept together because every step
relies on the same record file and lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flows.adapters import http
from flows.adapters.logs import logger
from policies.errors import ServerStartError

log = logger("orchestration")


HOST = "127.0.0.1"
RECORD_FILE = "server.json"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"

# A fresh SQLite database runs all of Prefect's migrations before the API answers.
STARTUP_TIMEOUT_SECONDS = 90
_HEALTH_TIMEOUT_SECONDS = 2.0
_POLL_INTERVAL_SECONDS = 0.2
# A port picked as free can be taken before the server binds it; try a new one this many times.
_PORT_ATTEMPTS = 3

# Prefect reads its server database URL from either name; the first one set wins, so a child gets both.
DATABASE_URL_VARIABLES = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")
# Prefect's server needs an async driver.
_ASYNC_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")

# Servers this process started, kept so they are reaped through Popen (no zombie, no "still running" warning).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerStatus:
    """What is known of the workspace's server: `running` means it answers its health check; the URLs and pid are
    given while its process is alive (so also while it is still starting), and are None once it is gone."""

    running: bool
    url: str | None
    api_url: str | None
    pid: int | None
    log_path: Path
    prefect_home: Path
    # The database the server was started on (password masked); None for the default SQLite in its Prefect home.
    database_url: str | None = None


@dataclass(frozen=True)
class _Record:
    pid: int
    port: int
    database_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def prefect_env(prefect_home: Path, api_url: str | None = None) -> dict[str, str]:
    """Environment variables to set (in os.environ, before importing prefect, or for a child process)."""
    env = {
        "PREFECT_HOME": str(prefect_home),
        # The server's telemetry write is what raised "database is locked" on SQLite.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT_SECONDS),
        # The server stores received events every 5 s by default; the live mirror waits for that before it marks a
        # record delivered (flows/orchestration/mirror.py), so the managed server stores them every second.
        "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
    }
    # An empty PREFECT_API_URL makes Prefect record nothing and print thousands of tracebacks: set it or leave it out.
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def server_status(prefect_home: Path) -> ServerStatus:
    """Report whether the server recorded in the workspace's Prefect home is alive and answering."""
    prefect_home = Path(prefect_home)
    record = _read_record(prefect_home)
    if record is None or not _is_server_process(record.pid):
        return _stopped(prefect_home)
    return _status(prefect_home, record, running=_is_healthy(record.api_url))


def ensure_server(prefect_home: Path, *, timeout: float = 90.0, database_url: str | None = None) -> ServerStatus:
    """Return the workspace's running Prefect server, starting it in the background first if needed.

    `database_url` (e.g. `postgresql+asyncpg://prefect@db.example/prefect`) starts the server on that database
    instead of the SQLite file in its home; a running server started on a different database is refused with
    `ServerStartError` (stop it first). Without `database_url` any running server is reused, and a new one gets
    the database the environment names (PREFECT_SERVER_/PREFECT_API_DATABASE_CONNECTION_URL), else SQLite.
    """
    prefect_home = Path(prefect_home)
    if database_url is not None:
        database_url = _checked_database_url(database_url)
    prefect_home.mkdir(parents=True, exist_ok=True)
    with _locked(prefect_home):
        record = _read_record(prefect_home)
        if record is not None and _is_server_process(record.pid):
            if database_url is not None and record.database_url != mask_database_url(database_url):
                raise ServerStartError(
                    f"The local Prefect server (pid {record.pid}, {record.url}) runs on "
                    f"{record.database_url or 'its SQLite database in ' + str(prefect_home)}, not on "
                    f"{mask_database_url(database_url)}; stop it first (`juece server stop`) to start it on another "
                    "database"
                )
            if _wait_healthy(record, timeout=_remaining_startup(prefect_home, timeout)):
                return _status(prefect_home, record, running=True)
            # Alive but not answering (hung, or left half-started by a killed command): replace it.
            _terminate(record.pid, timeout=20.0)
        _remove_record(prefect_home)
        return _start(prefect_home, timeout=timeout, database_url=database_url)


def stop_server(prefect_home: Path, *, timeout: float = 20.0) -> ServerStatus:
    """Stop the workspace's Prefect server (its whole process group); a no-op if none is running."""
    prefect_home = Path(prefect_home)
    if not prefect_home.is_dir():
        return _stopped(prefect_home)
    with _locked(prefect_home):
        record = _read_record(prefect_home)
        if record is not None and _is_server_process(record.pid):
            _terminate(record.pid, timeout=timeout)
            log.info("prefect server stopped", extra={"pid": record.pid})
        _remove_record(prefect_home)
    return _stopped(prefect_home)


def mask_database_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`, fit to record and to print."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _checked_database_url(url: str) -> str:
    """Prefect's server needs an async driver; a bare `postgresql://` URL is given asyncpg, anything else refused."""
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise ServerStartError(f"{mask_database_url(url)!r} is not a database URL (expected postgresql+asyncpg://…)")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if scheme not in _ASYNC_DRIVERS:
        raise ServerStartError(
            f"Prefect's server needs an async database driver: use postgresql+asyncpg://… "
            f"(or sqlite+aiosqlite://…), not {scheme}://"
        )
    return url


def _environment_database_url() -> str | None:
    return next((os.environ[name] for name in DATABASE_URL_VARIABLES if os.environ.get(name)), None)


def _start(prefect_home: Path, *, timeout: float, database_url: str | None = None) -> ServerStatus:
    log_path = prefect_home / LOG_FILE
    effective_url = database_url or _environment_database_url()
    recorded_url = mask_database_url(effective_url) if effective_url else None
    for _attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        record = _Record(
            pid=_spawn(prefect_home, port, log_path, database_url=database_url), port=port, database_url=recorded_url
        )
        # Recorded before it is healthy, so a command killed while waiting leaves a server the next one can find.
        _write_record(prefect_home, record)
        outcome = _wait_started(record, timeout=timeout)
        if outcome == "healthy":
            log.info("prefect server started", extra={"pid": record.pid, "url": record.api_url,
                                                      "database": recorded_url or "sqlite"})
            return _status(prefect_home, record, running=True)
        if outcome == "exited" and _port_was_taken(log_path):
            _remove_record(prefect_home)
            continue
        _terminate(record.pid, timeout=20.0)
        _remove_record(prefect_home)
        reason = "exited" if outcome == "exited" else f"did not answer {record.api_url}/health within {timeout:g} s"
        raise ServerStartError(f"The local Prefect server {reason}; see its log at {log_path}")
    raise ServerStartError(
        f"The local Prefect server found no free port after {_PORT_ATTEMPTS} tries; see its log at {log_path}"
    )


def _spawn(prefect_home: Path, port: int, log_path: Path, *, database_url: str | None = None) -> int:
    # The server runs in its home: a relative PREFECT_HOME (from a relative --home) would resolve a second time there.
    prefect_home = prefect_home.resolve()
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    # The server's own API URL, so the UI it serves talks to it and not to a server inherited from the caller.
    env.update(prefect_env(prefect_home, api_url=f"http://{HOST}:{port}/api"))
    if database_url is not None:
        env.update(dict.fromkeys(DATABASE_URL_VARIABLES, database_url))
    command = [*_prefect_command(), "server", "start", "--host", HOST, "--port", str(port)]
    with log_path.open("ab") as log:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        shown = database_url or _environment_database_url()
        database = mask_database_url(shown) if shown else f"SQLite in {prefect_home}"
        log.write(f"\n--- juece: {started} starting: {' '.join(command)} on {database}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=prefect_home,
            start_new_session=True,
        )
    _children[process.pid] = process
    return process.pid


def _prefect_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "prefect"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return [str(beside_python)]
    return [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_was_taken(log_path: Path) -> bool:
    tail = log_path.read_bytes()[-2000:]
    return b"already in use" in tail


def _wait_started(record: _Record, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if _is_healthy(record.api_url):
            return "healthy"
        if not _is_alive(record.pid):
            return "exited"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(_POLL_INTERVAL_SECONDS)


def _wait_healthy(record: _Record, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if _is_healthy(record.api_url):
            return True
        if not _is_alive(record.pid) or time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL_SECONDS)


def _remaining_startup(prefect_home: Path, timeout: float) -> float:
    """How long a recorded but not yet healthy server may still take, counted from when it was started."""
    try:
        started = (prefect_home / RECORD_FILE).stat().st_mtime
    except FileNotFoundError:
        return 0.0
    return max(0.0, timeout - (time.time() - started))


def _is_healthy(api_url: str) -> bool:
    return http.is_healthy(f"{api_url}/health", timeout=_HEALTH_TIMEOUT_SECONDS, trust_env=False)


def _terminate(pid: int, *, timeout: float) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it has not ended within the timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            # start_new_session made the server the leader of its own group, so its pid is the group id.
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_alive(pid):
                return
            time.sleep(0.1)
    if _is_alive(pid):
        raise RuntimeError(f"The local Prefect server (pid {pid}) did not end after SIGKILL")


def _is_alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _proc_state(pid) == "Z":
        _reap(pid)  # it exited between the first reap and now: collect it, so no zombie outlives the stop
        return False
    return True


def _is_server_process(pid: int) -> bool:
    """True if pid is alive and, where /proc tells, still a Prefect server (not a recycled pid)."""
    if not _is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except PermissionError:
        return False
    return b"prefect" in cmdline and b"server" in cmdline


def _reap(pid: int) -> None:
    """Collect the exit status if the server is our own child, so it does not linger as a zombie."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    # The command name in parentheses may itself contain spaces; the state follows the last ")".
    return stat.rsplit(")", 1)[1].split()[0]


def _read_record(prefect_home: Path) -> _Record | None:
    path = prefect_home / RECORD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        url = data.get("database_url")
        return _Record(pid=int(data["pid"]), port=int(data["port"]), database_url=str(url) if url else None)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # Written atomically, so a malformed record was edited by hand; treat it as no server.
        return None


def _write_record(prefect_home: Path, record: _Record) -> None:
    path = prefect_home / RECORD_FILE
    data = {
        "pid": record.pid,
        "port": record.port,
        "host": HOST,
        "url": record.url,
        "api_url": record.api_url,
        "database_url": record.database_url,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def _remove_record(prefect_home: Path) -> None:
    (prefect_home / RECORD_FILE).unlink(missing_ok=True)


@contextmanager
def _locked(prefect_home: Path) -> Iterator[None]:
    """Hold the workspace's server lock, so two commands never start or stop a server at the same time."""
    with (prefect_home / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _status(prefect_home: Path, record: _Record, *, running: bool) -> ServerStatus:
    return ServerStatus(
        running=running,
        url=record.url,
        api_url=record.api_url,
        pid=record.pid,
        log_path=prefect_home / LOG_FILE,
        prefect_home=prefect_home,
        database_url=record.database_url,
    )


def _stopped(prefect_home: Path) -> ServerStatus:
    return ServerStatus(
        running=False, url=None, api_url=None, pid=None, log_path=prefect_home / LOG_FILE, prefect_home=prefect_home
    )

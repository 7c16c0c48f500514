"""The workspace: where the case store lives (`--home` / JUECE_HOME, default ./.juece), which database it uses
(JUECE_DATABASE_URL, default the SQLite file in the workspace), and the facts kept in its `@workspace` stream:
the clock (system or simulated) and the calendar data loaded by an administrator."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import store
from models.db import AnyConnection, AnyEngine, SqliteStore, make_engine, read_transaction, write_transaction
from models.damage import undecodable_payload
from models.files import write_file_atomically
from models.store import WORKSPACE_STREAM, NewEvent, StoredEvent
from policies.errors import BadInput, WorkspaceMissing
from policies.pack import ROLES

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

CONFIG_FILE = "workspace.json"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a role and a name (`--as clerk:李明`)."""

    role: str
    name: str

    @property
    def label(self) -> str:
        """'clerk:李明'."""
        return f"{self.role}:{self.name}"


def parse_actor(text: str | None) -> Actor:
    """Parse `ROLE:NAME`; a missing or unknown role is bad input naming the roles there are."""
    from models.text import clean_name

    if not text:
        raise BadInput(
            "who is acting? give --as ROLE:NAME (or set JUECE_ACTOR); roles: " + ", ".join(ROLES), field="--as"
        )
    from policies.limits import MAX_ACTOR, check_length, quoted

    check_length(text, MAX_ACTOR, "--as", "ROLE:NAME")
    role, sep, name = text.partition(":")
    if not sep or role not in ROLES:
        raise BadInput(f"--as {quoted(text)}: expected ROLE:NAME with ROLE one of {', '.join(ROLES)}", field="--as")
    try:
        return Actor(role, clean_name(name))
    except ValueError as exc:
        raise BadInput(f"--as {text!r}: the name {exc}", field="--as") from exc


@dataclass(frozen=True)
class Workspace:
    """An opened workspace."""

    home: Path
    database_url: str
    config: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def engine(self) -> Engine:
        """The case store's engine (created on first use). The database must exist: a workspace whose juece.db is
        gone is damaged, not new (only `init` creates it)."""
        return engine_for(self.database_url, create=False)

    @property
    def db(self) -> AnyEngine:
        """The event store's way in for the read and record paths: plain sqlite3 on SQLite (models.db.SqliteStore:
        same pragmas and transactions, no SQLAlchemy imported), the engine otherwise. JUECE_SQLITE_DRIVER=sqlalchemy
        sends SQLite through the engine too (the contract suite runs both)."""
        if not self.database_url.startswith("sqlite:///") or os.environ.get("JUECE_SQLITE_DRIVER") == "sqlalchemy":
            return self.engine
        plain = self.__dict__.get("_sqlite_store")
        if plain is None:
            plain = self.__dict__["_sqlite_store"] = SqliteStore.from_url(self.database_url, create=False)
        return plain

    @property
    def prefect_home(self) -> Path:
        """Where the local Prefect server keeps its database and log."""
        return Path(self.config.get("prefect_home") or self.home / "prefect")


def default_database_url(home: Path) -> str:
    """JUECE_DATABASE_URL, else the SQLite file in the workspace."""
    url = os.environ.get("JUECE_DATABASE_URL")
    if not url:
        return default_sqlite_url(home)
    check_database_url(url)
    return url


def default_sqlite_url(home: Path) -> str:
    """The workspace's own SQLite file."""
    return f"sqlite:///{(home / 'juece.db').resolve()}"


def database_kind(url: str) -> str:
    """'PostgreSQL' or 'SQLite', from a database URL (never the URL itself: it may carry a password)."""
    return "PostgreSQL" if url.partition("://")[0].split("+", 1)[0].lower() == "postgresql" else "SQLite"


_URL_FORMS = "sqlite:////PATH/juece.db or postgresql+psycopg://USER@HOST/DATABASE"


def check_database_url(url: str) -> None:
    """JUECE_DATABASE_URL names a database juece can keep a case store in: an SQLite file or PostgreSQL; anything
    else (no scheme, another kind of database, an in-memory SQLite that is gone when the command ends) is bad input
    said before anything is created. The URL itself is not repeated: it may carry a password."""
    scheme, sep, rest = url.partition("://")
    kind = scheme.split("+", 1)[0].lower()
    if not sep or kind not in ("sqlite", "postgresql"):
        raise BadInput(f"JUECE_DATABASE_URL is not a database juece can use ({'scheme ' + repr(scheme) if sep else 'no scheme'});"
                       f" give {_URL_FORMS}", field="JUECE_DATABASE_URL")
    if kind == "sqlite":
        path = rest.split("?", 1)[0]
        if not path.startswith("/") or path.strip("/") in ("", ":memory:") or "mode=memory" in rest:
            raise BadInput("JUECE_DATABASE_URL names an in-memory SQLite database, which is gone when the command "
                           f"ends; give a file: {_URL_FORMS}", field="JUECE_DATABASE_URL")


def shown_url(url: str) -> str:
    """The URL with its password hidden, for a message or an answer."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a URL SQLAlchemy cannot parse is shown by its scheme only
        return url.partition("://")[0] + "://…"


def engine_for(url: str, *, create: bool) -> Engine:
    """`make_engine`, with what a database URL can fail on said as the contract's errors: a URL SQLAlchemy cannot
    read or whose driver is not installed is bad input (exit 2); a database server that cannot be reached is the
    environment (exit 1), naming the URL without its password."""
    from sqlalchemy import event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        engine = make_engine(url, create=create)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise BadInput(f"JUECE_DATABASE_URL ({shown_url(url)}) cannot be used: {str(exc).splitlines()[0][:200]}; "
                       f"give {_URL_FORMS}", field="JUECE_DATABASE_URL") from exc
    if url.startswith("sqlite"):
        return engine  # SQLite's failures to open are models/damage.py's (unwritable, missing, damaged)

    @event.listens_for(engine, "handle_error")
    def _unreachable(ctx) -> None:  # type: ignore[no-untyped-def]
        if ctx.connection is None:  # the connection itself failed: the server is not there, or refuses us
            from policies.errors import StorageFailure

            detail = (str(ctx.original_exception).strip().splitlines() or ["no answer"])[0][:200]
            raise StorageFailure(f"cannot reach the case store at {shown_url(url)} ({detail}); check "
                                 "JUECE_DATABASE_URL and that the database server is running, then run the same "
                                 "command again; nothing was written", code="database-unreachable") from ctx.original_exception

    return engine


def resolve_home(home: str | Path | None) -> Path:
    """`--home`, else JUECE_HOME, else ./.juece."""
    return Path(home or os.environ.get("JUECE_HOME") or ".juece")


def open_workspace(home: str | Path | None = None) -> Workspace:
    """Open an existing workspace; a missing one is bad input that says how to create it."""
    path = resolve_home(home)
    cfg = path / CONFIG_FILE
    if not cfg.is_file():
        raise WorkspaceMissing(
            f"there is no juece workspace at {path} — create one with `juece --home {path} init`", home=str(path)
        )
    config = _read_config(cfg)
    kind = config.get("database")
    if isinstance(kind, str) and not os.environ.get("JUECE_DATABASE_URL"):
        # made with JUECE_DATABASE_URL: its cases are in that database, not in a file here (without this, the
        # missing juece.db read as a damaged store: "restore from the backup")
        raise BadInput(f"the workspace at {path} keeps its cases in the {kind} database JUECE_DATABASE_URL named when it "
                       "was created, not in a file of the workspace; set JUECE_DATABASE_URL to that database",
                       field="JUECE_DATABASE_URL", home=str(path))
    return Workspace(path, default_database_url(path), config)


def _read_config(cfg: Path) -> dict[str, Any]:
    """workspace.json as a JSON object; a file that is not one is a damaged workspace (exit 4), named, with the way
    back (restore from the backup), never a traceback."""
    from models.damage import damaged

    try:
        config = json.loads(cfg.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise damaged(f"the workspace file {cfg} cannot be read: {(exc.strerror or str(exc)).lower()}.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise damaged(f"the workspace file {cfg} is damaged: it is not JSON text ({str(exc)[:120]}).") from exc
    if not isinstance(config, dict):
        raise damaged(f"the workspace file {cfg} is damaged: it holds {type(config).__name__}, not a JSON object.")
    return config


@dataclass(frozen=True)
class WorkspaceFacts:
    """What the `@workspace` stream says: the clock and the loaded calendar notices."""

    clock: str
    simulated_now: datetime | None
    calendar_notices: tuple[dict[str, Any], ...]
    events: tuple[StoredEvent, ...]


def read_facts(conn: AnyConnection) -> WorkspaceFacts:
    """Fold the `@workspace` stream."""
    events = store.load_stream(conn, WORKSPACE_STREAM)
    clock, simulated, notices = "system", None, []
    for ev in events:
        try:
            p = ev.payload
            if ev.type == "workspace-initialised":
                clock = p["clock"]
                simulated = datetime.fromisoformat(p["simulated_now"]) if p.get("simulated_now") else None
            elif ev.type == "clock-set":
                simulated = datetime.fromisoformat(p["moved_to"])
            elif ev.type == "calendar-loaded":
                notices.append(p["notice"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise undecodable_payload(ev.case_id, ev.seq, ev.type, exc) from exc
    return WorkspaceFacts(clock, simulated, tuple(notices), tuple(events))


def simulated_now(ws: Workspace) -> datetime | None:
    """The workspace's simulated clock as it stands (None on the system clock)."""
    with read_transaction(ws.engine) as conn:
        facts = read_facts(conn)
    return facts.simulated_now if facts.clock == "simulated" else None


def init_workspace(
    home: str | Path | None, actor: Actor, *, simulated_clock: datetime | None = None, prefect_home: Path | None = None
) -> tuple[Workspace, bool]:
    """Create the workspace (idempotent): the folder, the schema and the `@workspace` stream's first event."""
    path = resolve_home(home)
    url = default_database_url(path)  # a JUECE_DATABASE_URL juece cannot use is said before anything is made
    made = _made_folders(path)
    try:
        return _init_in(path, url, actor, simulated_clock, prefect_home)
    except BaseException:
        for folder in made:  # a failed init leaves no empty workspace folder behind
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _made_folders(path: Path) -> list[Path]:
    """Make `path` and its missing parents; the folders made, deepest first."""
    missing = []
    folder = path.absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    path.mkdir(parents=True, exist_ok=True)
    return missing


def _init_in(
    path: Path, url: str, actor: Actor, simulated_clock: datetime | None, prefect_home: Path | None
) -> tuple[Workspace, bool]:
    from models.migrations import migrate  # alembic: only `init` needs it

    cfg = path / CONFIG_FILE
    if cfg.exists():
        ws = open_workspace(path)
        migrate(ws.engine)  # an existing workspace: its database must be there (damage otherwise, models/damage.py)
        config_text = None
    else:
        # A new workspace: the database first, the config (which makes it a workspace) last, so a failed init
        # leaves no workspace that lacks its database.
        config = {"version": 1, **({"prefect_home": str(prefect_home.resolve())} if prefect_home else {}),
                  **({"database": database_kind(url)} if url != default_sqlite_url(path) else {})}
        ws = Workspace(path, url, config)
        ws.__dict__["engine"] = engine_for(ws.database_url, create=True)  # SQLite may create the file: it is new
        migrate(ws.engine)
        config_text = json.dumps(config, ensure_ascii=False, indent=2) + "\n"
    with write_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        if facts.events:
            if simulated_clock and (facts.clock != "simulated" or facts.simulated_now != simulated_clock):
                raise BadInput(
                    f"the workspace at {path} already exists with the {facts.clock} clock"
                    + (f" at {facts.simulated_now.isoformat()}" if facts.simulated_now else "")
                    + "; move a simulated clock with `juece clock set`",
                    field="--simulated-clock",
                )
            if config_text is not None:  # a database left by an init that stopped before writing the config
                write_file_atomically(cfg, config_text.encode("utf-8"))
            return ws, False
        from models.events import WorkspaceInitialised  # pydantic and the payload models: only when writing one
        payload = WorkspaceInitialised(
            clock="simulated" if simulated_clock else "system",
            simulated_now=simulated_clock.isoformat() if simulated_clock else None,
        )
        stamp = simulated_clock or datetime.now(timezone.utc)
        store.append(
            conn,
            WORKSPACE_STREAM,
            [],
            [NewEvent("workspace-initialised", 1, payload.model_dump(mode="json"), actor.label, actor.role, "workspace-initialised")],
            stamp,
        )
    if config_text is not None:
        write_file_atomically(cfg, config_text.encode("utf-8"))
    return ws, True


def set_clock(ws: Workspace, actor: Actor, moment: datetime) -> tuple[datetime, datetime]:
    """Move a simulated clock forward (recorded); the system clock cannot be set, and time never runs backwards."""
    from policies.pack import load_pack
    from policies.rules.order import require_role

    require_role(load_pack(), actor.role, "clock-set", "move the simulated clock (--as admin:NAME)")
    with write_transaction(ws.db) as conn:
        facts = read_facts(conn)
        if facts.clock != "simulated" or facts.simulated_now is None:
            raise BadInput(
                "this workspace runs on the system clock; only a workspace created with "
                "`juece init --simulated-clock` has a clock to set",
                field="DATETIME",
            )
        if moment < facts.simulated_now:
            raise BadInput(
                f"the simulated clock is at {facts.simulated_now.isoformat()}; it only moves forward, so the recorded "
                "history stays in time order",
                field="DATETIME",
            )
        from models.events import ClockSet  # pydantic and the payload models: only when writing one
        payload = ClockSet(moved_from=facts.simulated_now.isoformat(), moved_to=moment.isoformat())
        key = f"clock-set:{payload.moved_from}->{payload.moved_to}"
        existing = store.find_by_key(conn, key)
        if existing is None:
            store.append(
                conn,
                WORKSPACE_STREAM,
                list(facts.events),
                [NewEvent("clock-set", 1, payload.model_dump(mode="json"), actor.label, actor.role, key)],
                moment,
            )
    return facts.simulated_now, moment


def read_workspace_facts(ws: Workspace) -> WorkspaceFacts:
    """The workspace facts in a short read transaction."""
    with read_transaction(ws.db) as conn:
        return read_facts(conn)

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
        return make_engine(self.database_url, create=False)

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
    return os.environ.get("JUECE_DATABASE_URL") or f"sqlite:///{(home / 'juece.db').resolve()}"


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
    config = json.loads(cfg.read_text(encoding="utf-8"))
    return Workspace(path, default_database_url(path), config)


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


def init_workspace(
    home: str | Path | None, actor: Actor, *, simulated_clock: datetime | None = None, prefect_home: Path | None = None
) -> tuple[Workspace, bool]:
    """Create the workspace (idempotent): the folder, the schema and the `@workspace` stream's first event."""
    from models.migrations import migrate  # alembic: only `init` needs it

    path = resolve_home(home)
    path.mkdir(parents=True, exist_ok=True)
    cfg = path / CONFIG_FILE
    if cfg.exists():
        ws = open_workspace(path)
        migrate(ws.engine)  # an existing workspace: its database must be there (damage otherwise, models/damage.py)
        config_text = None
    else:
        # A new workspace: the database first, the config (which makes it a workspace) last, so a failed init
        # leaves no workspace that lacks its database.
        config = {"version": 1, **({"prefect_home": str(prefect_home.resolve())} if prefect_home else {})}
        ws = Workspace(path, default_database_url(path), config)
        ws.__dict__["engine"] = make_engine(ws.database_url)  # SQLite may create the file: it is new
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

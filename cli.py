"""juece (决策): the command line. Thin: parse → call one use case → print (tables for people, one JSON object with
--json) → exit with the contract's code. Reading and recording never import Prefect.

Why one module of ~1,350 lines: it is the `juece = "cli:main"` entry point, and a helper package named `cli` would
shadow this module (a package and a module cannot share the name), while another top-level package would add to
the layout the product owner fixed. Each command is a short function (parse, one use-case call, print) grouped
by its Typer sub-app, and no rule or query lives here (tests/test_layers.py); what grows is the number of commands,
not their size."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import MutableMapping
from functools import cache, partial, wraps
from pathlib import Path
from typing import Any, Callable, List, Optional

from policies.errors import BadInput, DecisionError, StorageFailure

_WORDS = {"str": "TEXT", "text": "TEXT", "integer": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER",
          "path": "PATH"}
# click's words for a value of the wrong kind, as a clerk says them
_KINDS = ((" a valid int range.", " a whole number."), (" a valid integer.", " a whole number."),
          (" a valid float range.", " a number."), (" a valid float.", " a number."))


def _in_words(command: Any) -> None:
    """Help placeholders as words a clerk reads (TEXT, DATE, FILE, N) where typer shows `<str>` or `INTEGER`;
    an argument's name (CASE, FILE) is its placeholder, plain in the usage line (not `{CASE}`); flags show none."""
    if getattr(command, "_in_words", False):
        return
    params_of = command.get_params

    def get_params(ctx: Any) -> list[Any]:
        params = params_of(ctx)
        _params_in_words(params)
        return params

    command.get_params = get_params
    command._in_words = True
    format_help = command.format_help

    def format_help_filled(ctx: Any, formatter: Any) -> None:
        _fill_help(command, ctx)
        format_help(ctx, formatter)

    command.format_help = format_help_filled


def _fill_help(command: Any, ctx: Any) -> None:
    """Put the lists the models hold (event names, flags, categories) into help texts that name them as {events},
    {flags}, {categories}: one source, read only when help is shown (importing the models costs ~0.5 s)."""
    texts = [command.help, command.epilog, *(getattr(p, "help", None) for p in command.get_params(ctx))]
    if not any(t and "{" in t for t in texts):
        return
    from typing import get_args

    from models.events import RECORDABLE, Category, Flag

    lists = {"{events}": ", ".join(RECORDABLE), "{flags}": ", ".join(get_args(Flag)),
             "{categories}": ", ".join(get_args(Category))}

    def filled(text: Optional[str]) -> Optional[str]:
        for key, value in lists.items():
            text = text.replace(key, value) if text else text
        return text

    command.help, command.epilog = filled(command.help), filled(command.epilog)
    for p in command.get_params(ctx):
        if getattr(p, "help", None):
            p.help = filled(p.help)


def _params_in_words(params: list[Any]) -> None:
    for p in params:
        if getattr(p, "_in_words", False):
            continue
        p._in_words = True
        if getattr(p.type, "name", None) == "path":
            p.type = _not_empty(p.type)
        if p.param_type_name == "argument":
            name = p.metavar or p.name.upper()
            usage = (name if p.required else f"[{name}]") + ("..." if p.nargs != 1 and not name.endswith("...") else "")
            # The usage line shows the name plain (not `{CASE}`), the help table no type beside it.
            p.make_metavar = lambda ctx=None, usage=False, u=usage, n=name: u if usage else n
            shown = copy.copy(p.type)
            shown.get_metavar = lambda param=None, ctx=None: ""
            p.type = shown
        elif not getattr(p, "is_flag", False) and p.metavar is None:
            word = _WORDS.get(p.type.name, p.type.name.upper())
            p.make_metavar = lambda ctx=None, word=word: word


def _not_empty(kind: Any) -> Any:
    """A path parameter that refuses an empty value as a usage error (exit 2, naming the parameter): `Path("")` is
    `.`, so `--out ""` would otherwise be answered about a folder called `.` that nobody typed."""
    kind = copy.copy(kind)
    convert = kind.convert

    def checked(value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not value:
            kind.fail("an empty path names no file or folder; give one", param, ctx)
        return convert(value, param, ctx)

    kind.convert = checked
    return kind


@cache
def _group_class() -> Any:
    """typer's group with help in words (see _in_words), for the commands as they are looked up."""
    from typer.core import TyperGroup

    class _Group(TyperGroup):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            _in_words(self)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            cmd = super().get_command(ctx, cmd_name)
            if cmd is not None and not isinstance(cmd, TyperGroup):
                _in_words(cmd)
            return cmd

    return _Group


# --- typer, when it is needed -----------------------------------------------------------------------------------
# The commands below are declared as typer reads them (`Option(...)`, `Argument(...)`, sub-apps), but typer itself
# (≈ 20 ms of every start, with the click it vendors) is imported only when a command line is parsed by it. The two
# commands people run most, `case show` and `record`, are parsed without it when their command line is plain
# (_fast_call); anything else — help, a usage error, an option written another way — goes to typer.

_GROUP = object()  # `cls=_GROUP`: our group class, made with typer


class _Later:
    """A call `typer.Option(...)` or `typer.Argument(...)` as written, made the first time typer needs it."""

    __slots__ = ("kind", "args", "kwargs", "_made")

    def __init__(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.kind, self.args, self.kwargs, self._made = kind, args, kwargs, None

    @property
    def default(self) -> Any:
        return self.args[0] if self.args else self.kwargs.get("default", ...)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a for a in self.args[1:] if isinstance(a, str)) if self.kind == "Option" else ()

    def made(self) -> Any:
        if self._made is None:
            import typer

            self._made = getattr(typer, self.kind)(*self.args, **self.kwargs)
        return self._made


def Option(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 — typer's name, so the declarations read as typer's
    return _Later("Option", args, kwargs)


def Argument(*args: Any, **kwargs: Any) -> Any:  # noqa: N802
    return _Later("Argument", args, kwargs)


def _unwrapped(fn: Callable[..., Any]) -> Any:
    """The function under its decorators (`@command` keeps it as `__wrapped__`)."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


def _made_defaults(fn: Callable[..., Any]) -> None:
    """Give the function (under its decorators) typer's own parameter objects as defaults, as written."""
    inner = _unwrapped(fn)
    if inner.__defaults__ and not hasattr(inner, "_later"):
        inner._later = inner.__defaults__  # type: ignore[attr-defined]  # as written, for _fast_parse
        inner.__defaults__ = tuple(d.made() if isinstance(d, _Later) else d for d in inner.__defaults__)


class _Typer:
    """A `typer.Typer(...)` as written: its commands, callback and sub-apps are kept in order, and the typer app is
    built from them the first time it is needed (`real`)."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.commands: list[tuple[Optional[str], dict[str, Any], Callable[..., Any]]] = []
        self.groups: list[tuple[_Typer, str]] = []
        self.main: Optional[Callable[..., Any]] = None
        self._real: Any = None

    def command(self, name: Optional[str] = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.commands.append((name, kwargs, fn))
            return fn

        return register

    def callback(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.main = fn
            return fn

        return register

    def add_typer(self, sub: _Typer, name: str) -> None:
        self.groups.append((sub, name))

    def find(self, name: str) -> Optional[Callable[..., Any]]:
        """The command registered under `name` (as typer names it), or None."""
        for given, _, fn in self.commands:
            if (given or fn.__name__.replace("_", "-")) == name:
                return fn
        return None

    def sub(self, name: str) -> Optional[_Typer]:
        return next((sub for sub, given in self.groups if given == name), None)

    def real(self) -> Any:
        if self._real is None:
            import typer

            kwargs = {k: (_group_class() if v is _GROUP else v) for k, v in self.kwargs.items()}
            app = typer.Typer(**kwargs)
            if self.main is not None:
                _made_defaults(self.main)
                app.callback()(self.main)
            for name, options, fn in self.commands:
                _made_defaults(fn)
                app.command(name, **options)(fn)
            for sub, name in self.groups:
                app.add_typer(sub.real(), name=name)
            self._real = app
        return self._real


def __getattr__(name: str) -> Any:
    """`cli.app`: the typer app (tests walk it with `typer.main.get_command`)."""
    if name == "app":
        return _app.real()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_app = _Typer(
    cls=_GROUP,
    help="juece (决策): major administrative decisions (重大行政决策) run through the procedure of 国务院令第713号.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
case_app = _Typer(help="Launch, list and show decision cases.", no_args_is_help=True, cls=_GROUP)
audit_app = _Typer(help="Replay and verify histories (read-only).", no_args_is_help=True, cls=_GROUP)
calendar_app = _Typer(help="The official working-day calendar (国务院办公厅节假日安排通知).", no_args_is_help=True, cls=_GROUP)
clock_app = _Typer(help="The simulated clock of a demo or training workspace.", no_args_is_help=True, cls=_GROUP)
flow_app = _Typer(help="Run Prefect flows over cases.", no_args_is_help=True, cls=_GROUP)
server_app = _Typer(help="The local Prefect server juece starts for flows.", no_args_is_help=True, cls=_GROUP)
_app.add_typer(case_app, name="case")
_app.add_typer(audit_app, name="audit")
_app.add_typer(calendar_app, name="calendar")
_app.add_typer(clock_app, name="clock")
_app.add_typer(flow_app, name="flow")
_app.add_typer(server_app, name="server")

JsonOpt = Option(False, "--json", help="Print exactly one JSON object on stdout.")
CaseArg = Argument(..., metavar="CASE", help="The case id, e.g. JC-2025-0001 (see `juece case list`).")
EventArg = Argument(..., metavar="EVENT", help="The event's name, e.g. consultation-opened (the list is above).")
AS_OF = ("DATETIME: YYYY-MM-DD means the end of that day, YYYY-MM-DDTHH:MM that minute; Asia/Shanghai time unless "
         "an offset such as +08:00 or Z is given.")
DATE = "YYYY-MM-DD (Asia/Shanghai)"


class _Globals:
    home: Optional[str] = None
    actor: Optional[str] = None
    authorised: bool = False  # the actor was checked against the workspace's accounts (_ws)


G = _Globals()


@_app.callback()
def _main(
    home: Optional[str] = Option(None, "--home", metavar="DIR",
                                       help="The workspace folder (or JUECE_HOME; default ./.juece)."),
    actor: Optional[str] = Option(
        None, "--as", metavar="ROLE:NAME", help="Who is acting, e.g. clerk:李明 (or JUECE_ACTOR); roles: legal-office, "
        "clerk, reviewer, secretary, head, auditor, archivist, admin."),
    verbose: bool = Option(False, "--verbose", help="Log what is done (INFO, key=value lines) to stderr."),
) -> None:
    from flows.adapters.logs import configure

    configure(verbose=verbose)  # stderr only: stdout carries --json
    for given, option, what in ((home, "--home", "the workspace folder"), (actor, "--as", "ROLE:NAME")):
        if given == "":  # not a silent fall-back to JUECE_HOME, ./.juece or JUECE_ACTOR
            raise BadInput(f"{option} is empty; give {what} (or leave the option out)", code="usage", field=option)
    G.home = home
    G.actor = actor or os.environ.get("JUECE_ACTOR")
    G.authorised = False


# --- output -----------------------------------------------------------------------------------------------------


def _console(stderr: bool = False):  # type: ignore[no-untyped-def]
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output keeps long lines whole (no 80-column wrapping); tables get a generous width.
    # emoji=False: a typed ":cross_mark:" stays text, like typed markup (PRODUCT.md, Display).
    return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=not stream.isatty(),
                   width=None if stream.isatty() else 160)


# --- display: what people typed is shown as typed (PRODUCT.md, "Display") ----------------------------------------
# Every line goes through say() and every table through table(): juece's own markup lives in the templates and in
# styled() cells; titles, names, reasons, actors and messages are values, escaped by typed() — the one place where
# user text meets the terminal.


def typed(value: Any) -> str:
    """Text people typed, escaped so Rich shows `[white on white]` or `[/]` as typed instead of obeying it."""
    from flows.render.terminal import typed as escaped

    return escaped(value)


# --- destinations the user names --------------------------------------------------------------------------------


def unwritable(path: Any, exc: OSError, field: str, what: str = "a new file in an existing folder") -> DecisionError:
    """An OSError at a place the user named, as the contract's answer in one sentence: a path that cannot be what is
    asked for (a folder where a file goes, a file where a folder goes, a missing folder) is bad input (2); a place
    that cannot be written (read-only, no permission, disk full) is the environment (1)."""
    import errno

    reason = (exc.strerror or str(exc)).lower()
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENOENT, errno.EEXIST, errno.ENAMETOOLONG, errno.EINVAL,
                     errno.ELOOP):
        return BadInput(f"{field} {path}: {reason}; give {what}", field=field)
    return StorageFailure(f"cannot write {path}: {reason}; nothing was written", field=field)


def write_out(path: Path, text: str, field: str = "--out", *, overwrite: bool = True) -> None:
    """Write a file the user asked for, whole or not at all (a temporary file renamed into place); with
    `overwrite=False` an existing file is refused and left as it was (evidence is never silently replaced)."""
    from models.files import write_file_atomically

    try:
        write_file_atomically(path, text.encode("utf-8"), overwrite=overwrite)
    except OSError as exc:
        raise unwritable(path, exc, field) from exc


def say(template: str = "", *, stderr: bool = False, **values: Any) -> None:
    """Print a line: `template` is juece's markup with `{name}` fields; every value is shown as typed.

    A line with nothing for Rich to do goes out as it is: piped (no colour, no wrapping), a template without markup,
    and values that are whole numbers or printable text without `[` or `\\` (ids, event names, rule ids, counts).
    Rich prints exactly those characters for such a line (tests/test_cli_fast.py holds the two equal), and a
    `record` or a `launch` then never imports Rich (40 ms of a 0.19 s command here)."""
    stream = sys.stderr if stderr else sys.stdout
    if "[" not in template and template.isprintable() and all(map(_plain, values.values())) and not stream.isatty():
        stream.write(template.format(**values) + "\n")
        stream.flush()  # as Rich does after each line, so it keeps its place beside stderr
        return
    _console(stderr).print(template.format(**{k: typed(v) for k, v in values.items()}))


def _plain(value: Any) -> bool:
    """True for a value Rich shows as its own characters: a whole number, or printable text without markup's `[`
    and escape `\\` (tabs, line breaks and control characters are not printable: Rich would change them)."""
    t = type(value)
    return t is int or (t is str and value.isprintable() and "[" not in value and "\\" not in value)


def styled(markup: str) -> Any:
    """A table cell in juece's own markup (a colour, a bold word); never built from user text."""
    from rich.text import Text

    return Text.from_markup(markup)


def table(title: str = "", *columns: str, **options: Any) -> Any:
    """A Rich table whose title and cells are shown as typed (a `styled()` cell keeps its markup)."""
    from rich.table import Table
    from rich.text import Text

    class TypedTable(Table):
        def add_row(self, *cells: Any, **kw: Any) -> None:  # type: ignore[override]
            super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kw)

    t = TypedTable(title=Text(title, style="table.title") if title else None, **options)
    for col in columns:
        t.add_column(col)
    return t


def emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    """One JSON object, or the human rendering."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    else:
        human()


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn DecisionErrors into a clear message (or JSON error object) and the contract's exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = _outcome(fn, args, kwargs)
        if code:
            import typer

            raise typer.Exit(code)

    return wrapper


def _outcome(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """Run a command's function: its exit code, a DecisionError printed (or its JSON error object) as its code. A
    file or folder name too long for the file system, wherever a command meets it, is the user's input: exit 2."""
    try:
        try:
            return fn(*args, **kwargs) or 0
        except OSError as exc:
            import errno

            if exc.errno != errno.ENAMETOOLONG:
                raise
            name = _shown_path(Path(exc.filename)) if isinstance(exc.filename, str) else "a path given"
            raise BadInput(f"{name}: the name is too long for the file system ({exc.strerror}); give a shorter one; "
                           "nothing was written", field="(path)") from exc
    except DecisionError as exc:
        if kwargs.get("as_json"):
            sys.stdout.write(json.dumps(exc.to_json(), ensure_ascii=False, default=str) + "\n")
        else:
            _print_error(exc)
        return exc.exit_code


def _shown_path(path: Path, keep: int = 80) -> str:
    """A path for a message, cut to `keep` characters with its length said when it is longer."""
    text = str(path)
    return text if len(text) <= keep else f"{text[:keep]}… ({len(text):,} characters)"


def _print_error(exc: DecisionError) -> None:
    findings = getattr(exc, "findings", None)
    if findings:
        event = exc.details.get("event")
        where = " on the case's stages" if event and event != "case-launched" else ""
        say("[bold red]refused[/] (exit {code}) — nothing was recorded{where}.", stderr=True, code=exc.exit_code,
            where=where)
        for f in findings:
            say("  [bold]{rule}[/] {article} {kind}", stderr=True, rule=f.rule, article=f.article,
                kind="[rule]" if f.enforcement == "HARD" else "[warning]")
            say("    {message}", stderr=True, message=f.message)
            if f.enforcement == "WARN" and not f.acknowledged:
                say('    to record anyway: --acknowledge {rule} --reason "…why…"', stderr=True, rule=f.rule)
    else:
        label = {1: "cannot write", 2: "bad input", 4: "integrity failure", 6: "someone else wrote first"}.get(exc.exit_code, "error")
        say("[bold red]{label}[/] (exit {code}): {message}", stderr=True, label=label, code=exc.exit_code,
            message=exc.message)


def _ws():  # type: ignore[no-untyped-def]
    """The workspace. When someone is named as acting (`--as` or JUECE_ACTOR), reading commands included, the name
    is checked once: once the workspace has accounts it must be an active account holding that role (AUTH-01,
    exit 3; PRODUCT.md: "`--as ROLE:NAME` on the command line must name an active account")."""
    from flows.usecases.workspace import open_workspace

    ws = open_workspace(G.home)
    if G.actor is not None and not G.authorised:
        from flows.usecases.accounts import authorise_actor
        from flows.usecases.workspace import parse_actor

        authorise_actor(ws, parse_actor(G.actor), "act")
        G.authorised = True
    return ws


def _actor():  # type: ignore[no-untyped-def]
    """The `--as ROLE:NAME` actor; once the workspace has accounts it must name an active account holding that role
    (AUTH-01, exit 3)."""
    from flows.usecases.workspace import parse_actor
    from policies.errors import WorkspaceMissing

    actor = parse_actor(G.actor)
    try:
        _ws()  # checks the actor (AUTH-01)
    except WorkspaceMissing:
        pass  # the command itself says there is no workspace
    return actor


def _read_payload(file: str, field: str = "--file") -> Any:
    """A JSON payload from a file or stdin, read within LIM-01's ceiling (at most one byte past it is ever read, and
    the depth is counted before parsing); the case's pack's own limits are checked where the payload is recorded."""
    from flows.adapters.json_text import parse_json_text
    from policies.limits import CEILING

    try:
        if file == "-":
            data = sys.stdin.buffer.read(CEILING.max_bytes + 1)
        else:
            with open(file, "rb") as f:
                data = f.read(CEILING.max_bytes + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror or exc}", field=field) from exc
    return parse_json_text(data, field if file == "-" else f"{field} {file}", CEILING)


def _day(text: Optional[str], field: str):  # type: ignore[no-untyped-def]
    """A YYYY-MM-DD option, or bad input naming it."""
    if text is None:
        return None
    from datetime import date

    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{field}: {text!r} is not a date written YYYY-MM-DD", field=field) from exc


def _moment(text: Optional[str], field: str):  # type: ignore[no-untyped-def]
    if text is None:
        return None
    from flows.usecases.clock import parse_moment

    return parse_moment(text, field=field)


def _as_of(text: Optional[str], field: str = "--as-of"):  # type: ignore[no-untyped-def]
    """An --as-of moment; a bare date means the END of that day (Asia/Shanghai), so "the case on the day it was
    launched" exists (a bare date for the clock still means its start)."""
    moment = _moment(text, field)
    if moment is not None and text is not None and len(text) == 10:
        from datetime import timedelta

        moment += timedelta(days=1, microseconds=-1)
    return moment


# --- workspace, clock, calendar ---------------------------------------------------------------------------------


@_app.command()
@command
def init(
    simulated_clock: Optional[str] = Option(
        None, "--simulated-clock", metavar="DATETIME", help="Start a simulated clock (training, demos) at DATETIME, "
        "e.g. 2025-08-25T09:00 (Asia/Shanghai unless it carries an offset)."),
    as_json: bool = JsonOpt,
) -> None:
    """Create the workspace (idempotent)."""
    from flows.usecases.workspace import Actor, init_workspace, parse_actor, shown_url, simulated_now

    actor = parse_actor(G.actor) if G.actor else Actor("admin", os.environ.get("USER") or "admin")
    moment = _moment(simulated_clock, "--simulated-clock")
    try:
        ws, created = init_workspace(G.home, actor, simulated_clock=moment)
    except OSError as exc:  # --home names a file, or a place that cannot be written
        raise unwritable(G.home or os.environ.get("JUECE_HOME") or "./.juece", exc, "--home",
                         "a folder (new or a workspace) in a place that can be written") from exc
    if not created:  # the workspace's own clock, whatever was given (a simulated one may have moved since)
        now_then = simulated_now(ws)
        simulated_clock = now_then.isoformat() if now_then else None
    # the database as a URL without its password (JUECE_DATABASE_URL may carry one)
    data = {"home": str(ws.home), "created": created, "database": shown_url(ws.database_url),
            "simulated_clock": simulated_clock}
    emit(as_json, data, lambda: say(
        "{what}: workspace {home}{clock}", what="created" if created else "already there", home=ws.home,
        clock=f" (simulated clock at {simulated_clock})" if simulated_clock else ""))


@clock_app.command("set")
@command
def clock_set(
    moment: str = Argument(..., metavar="DATETIME", help="e.g. 2025-09-01T09:00 (Asia/Shanghai unless it "
                                 "carries an offset); only forward."),
    as_json: bool = JsonOpt,
) -> None:
    """Move a simulated clock forward (recorded in the history)."""
    from flows.usecases.workspace import set_clock

    before, after = set_clock(_ws(), _actor(), _moment(moment, "DATETIME"))
    emit(as_json, {"from": before.isoformat(), "to": after.isoformat()},
         lambda: say("simulated clock: {before} → {after}", before=before.isoformat(), after=after.isoformat()))


@calendar_app.command("list")
@command
def calendar_list(as_json: bool = JsonOpt) -> None:
    """The loaded holiday notices, one per year."""
    from flows.usecases.calendars import list_calendars

    entries = list_calendars(_ws())

    def human() -> None:
        t = table("working-day calendar (工作日历)", "year", "notice", "origin", "rest days", "make-up days", "sha256")
        for e in entries:
            t.add_row(str(e.year), e.notice, e.origin, str(e.rest_days), str(e.makeup_days), e.sha256[:12])
        _console().print(t)
        say("Years not listed are refused (CAL-05), never guessed.")

    emit(as_json, {"calendars": [e.__dict__ for e in entries]}, human)


@calendar_app.command("days")
@command
def calendar_days(year: int = Argument(..., metavar="YEAR", min=1, max=9999, help="e.g. 2025"),
                  as_json: bool = JsonOpt) -> None:
    """The rest days and make-up working days of one year."""
    from flows.usecases.calendars import calendar_for
    from flows.usecases.workspace import read_workspace_facts

    cal = calendar_for(read_workspace_facts(_ws()))
    days = cal.year_days(year)
    rows = [{"date": d.isoformat(), "weekday": d.strftime("%a"), "kind": k, "name": n} for d, k, n in days]

    def human() -> None:
        t = table(f"{year}: {cal.notices[year].notice}", "date", "weekday", "kind", "name")
        for r in rows:
            t.add_row(r["date"], r["weekday"], "放假 rest" if r["kind"] == "rest" else "调休上班 make-up working day", r["name"])
        _console().print(t)

    emit(as_json, {"year": year, "notice": cal.notices[year].notice, "days": rows}, human)


@calendar_app.command("load")
@command
def calendar_load(
    file: Path = Argument(..., metavar="FILE", help="The State Council's holiday notice for a year, as "
                                "JSON (the shipped years are in policies/data/calendar/)."),
    as_json: bool = JsonOpt,
) -> None:
    """Load a year's holiday notice (admin); recorded in the workspace history."""
    from flows.usecases.calendars import load_calendar

    e = load_calendar(_ws(), _actor(), file)
    emit(as_json, e.__dict__, lambda: say("loaded {year}: {notice} (sha256 {sha}…)", year=e.year, notice=e.notice,
                                          sha=e.sha256[:12]))


# --- cases ------------------------------------------------------------------------------------------------------


@case_app.command("launch")
@command
def case_launch(
    title: str = Option(..., "--title", help="The decision item's title, e.g. 三亚市公共停车场建设规划."),
    category: str = Option(..., "--category", metavar="CATEGORY", help="One of {categories} (条例 art. 3)."),
    organ: str = Option(..., "--organ", help="The decision organ (决策机关), e.g. 三亚市人民政府."),
    lead_unit: Optional[str] = Option(None, "--lead-unit", help="The lead undertaking unit (牵头承办单位; INI-03)."),
    catalog: Optional[str] = Option(None, "--catalog", metavar="ITEM",
                                          help="The decision-catalog item it carries out (决策事项目录), e.g. 2025-03."),
    flag: List[str] = Option([], "--flag", metavar="FLAG",
                                   help="What applies to the matter (repeatable), one of: {flags}."),
    co_unit: List[str] = Option([], "--co-unit", metavar="UNIT", help="Another undertaking unit (repeatable)."),
    policy: str = Option("cn-2019", "--policy", metavar="PACK", help="The policy pack the case is judged by for "
                               "life: cn-2019 (the national regulation) or sanya-2022 (the Sanya plan's additions)."),
    decided_on: Optional[str] = Option(
        None, "--decided-on", metavar="DATE", help=f"{DATE}: the day the decision organ decided to launch the procedure "
        "(INI-02; default today)."),
    proposal: Optional[str] = Option(
        None, "--proposal", metavar="FILE", help="The proposal it answers, JSON (INI-01: proposer_type, proposer, and "
        "for a department or lower government problem, reasons_basis, preliminary_plan, necessity, feasibility)."),
    acknowledge: List[str] = Option([], "--acknowledge", metavar="RULE",
                                          help="A warning's rule id to acknowledge, e.g. ORD-02 (repeatable)."),
    reason: List[str] = Option([], "--reason", metavar="TEXT",
                                     help="Why, for each --acknowledge, in the same order (recorded)."),
    idempotency_key: Optional[str] = Option(None, "--idempotency-key", metavar="KEY", help="A retry with the "
                                                  "same key returns the first case; without one every launch is a new "
                                                  "case."),
    as_json: bool = JsonOpt,
) -> None:
    """Launch a case (legal office); prints the new case id."""
    from flows.usecases.launch import launch_case

    if len(acknowledge) != len(reason):
        raise BadInput("give one --reason for each --acknowledge, in the same order", field="--reason")
    proposal_data = _read_payload(proposal, "--proposal") if proposal is not None else None
    if proposal_data is not None and not isinstance(proposal_data, dict):
        raise BadInput("--proposal: expected one JSON object", field="--proposal")
    case_id, created = launch_case(
        _ws(), _actor(), title=title, category=category, organ=organ, lead_unit=lead_unit, catalog_item=catalog,
        flags=flag, co_units=co_unit, policy=policy, idempotency_key=idempotency_key,
        decided_on=_day(decided_on, "--decided-on"), proposal=proposal_data, acknowledge=list(zip(acknowledge, reason)),
    )
    emit(as_json, {"case_id": case_id, "created": created}, lambda: print(case_id))


@case_app.command("adjust")
@command
def case_adjust(
    case_id: str = CaseArg,
    kind: str = Option(..., "--kind", metavar="KIND",
                             help="stop, amend or repeal (a suspension is `record … adjustment-decided` by the head)."),
    ground: str = Option(..., "--ground", help="The art. 35 ground or evaluation it rests on."),
    decided_on: str = Option(..., "--decided-on", metavar="DATE", help=f"{DATE}: when it was decided."),
    as_json: bool = JsonOpt,
) -> None:
    """Open a child case to stop, amend or repeal a decision (条例 art. 37: the statutory procedure again)."""
    from flows.usecases.adjustments import open_adjustment

    day = _day(decided_on, "--decided-on")  # named as typed, before the child case's launch would name `decided_on`
    child, rec = open_adjustment(_ws(), _actor(), case_id, kind=kind, ground=ground, decided_on=day.isoformat())
    emit(as_json, {"case_id": case_id, "child_case": child, "seq": rec.seq}, lambda: say(
        "{case} #{seq}: {kind} opened as child case [bold]{child}[/]; it takes effect once {child} passes legality "
        "review and collective discussion and `adjustment-completed` is recorded on {case}",
        case=case_id, seq=rec.seq, kind=kind, child=child))


@case_app.command("list")
@command
def case_list(
    status: Optional[str] = Option(None, "--status", metavar="STATUS",
                                         help="Only cases that are open, decided, published or ended."),
    as_json: bool = JsonOpt,
) -> None:
    """Every case, with what it waits on."""
    from flows.usecases.show import list_cases

    rows = list_cases(_ws(), status=status)

    def human() -> None:
        t = table("cases (决策事项)", "case", "title", "category", "status", "waiting on", "launched")
        for r in rows:
            t.add_row(r.case_id, r.title, r.category, r.status, r.awaiting, r.launched_on)
        _console().print(t)

    emit(as_json, {"cases": [r.to_json() for r in rows]}, human)


@case_app.command("show")
@command
def case_show(
    case_id: str = CaseArg,
    as_of: Optional[str] = Option(None, "--as-of", metavar="DATETIME", help="The case as it stood at " + AS_OF),
    as_json: bool = JsonOpt,
) -> None:
    """A case's stages, next step, deadlines and warnings."""
    from flows.usecases.show import show_case

    view = show_case(_ws(), case_id, as_of=_as_of(as_of))
    emit(as_json, view.to_json(), lambda: print_case(view))


def print_case(view: Any) -> None:
    """The readable stage table of a case."""
    say("[bold]{case}[/]  {title}", case=view.case_id, title=view.title)
    say("  {organ} · lead unit {lead} · {category} · flags: {flags}", organ=view.organ, lead=view.lead_unit,
        category=view.category, flags=", ".join(view.flags) or "none")
    say("  policy {policy} ({digest}…) · status [bold]{status}[/] · {events} · {when}", policy=view.policy,
        digest=view.policy_hash[:12], status=view.status, events=_count(view.events, "event"),
        when=f"as of {view.as_of}" if view.as_of else f"today {view.today}")
    colours = {"concluded": "green", "waived": "yellow", "exempted": "yellow", "in-progress": "cyan", "closed": "red"}
    t = table("", "stage (阶段)", "status", "on", "detail", show_lines=False)
    for s in view.stages:
        c = colours.get(s.status)
        t.add_row(s.label, styled(f"[{c}]{typed(s.status)}[/]") if c else s.status, s.recorded_on or "", s.detail)
    _console().print(t)
    steps = "; ".join(f"{n['event']} ({'/'.join(n['roles'])})" for n in view.next)
    say("[bold]next[/] — {awaiting}{steps}", awaiting=view.awaiting, steps=f": {steps}" if steps else "")
    if view.deadlines:
        d = table("deadlines (期限, on the official working-day calendar)", "what", "due", "rule", "state", "note")
        for x in view.deadlines:
            d.add_row(x.what, x.due or "—", x.rule, x.state, x.note)
        _console().print(d)
    for a in view.acknowledged:
        say("[yellow]acknowledged[/] {rule} on #{seq} {event} by {actor}: {reason}", rule=a["rule"], seq=a["seq"],
            event=a["event"], actor=a["actor"], reason=a["reason"])
    for r in view.refused_attempts:
        say("[red]refused attempt[/] #{seq} {attempted} by {actor} ({rules})", seq=r["seq"], attempted=r["attempted"],
            actor=r["actor"], rules=", ".join(r["rules"]))
    for n in view.notes:
        say("[yellow]note[/] {note}", note=n)


def _count(n: int, noun: str) -> str:
    """`1 event`, `2 events`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- recording --------------------------------------------------------------------------------------------------


@_app.command()
@command
def record(
    case_id: str = CaseArg,
    event: str = EventArg,
    file: str = Option(..., "--file", "-f", metavar="FILE", help="The path of the payload, a JSON file (`juece "
                             "example EVENT` prints one), or - to read it from stdin; at most 1 MiB (LIM-01)."),
    acknowledge: List[str] = Option([], "--acknowledge", metavar="RULE",
                                          help="A warning's rule id to acknowledge, e.g. PP-05 (repeatable)."),
    reason: List[str] = Option([], "--reason", metavar="TEXT",
                                     help="Why, for each --acknowledge, in the same order (recorded)."),
    idempotency_key: Optional[str] = Option(
        None, "--idempotency-key", metavar="KEY", help="A key for safe retries: a retry with the same key and payload "
        "returns the first record (default: one derived from the case, the event and the payload)."),
    if_seq: Optional[int] = Option(None, "--if-seq", metavar="N", min=0, max=2**31 - 1,
                                         help="Record only if the case still has exactly N events (else exit 6)."),
    as_json: bool = JsonOpt,
) -> None:
    """Record an event on a case, checked against the case's policy pack.

    Events: {events}. `juece schema EVENT` prints an event's fields, `juece example EVENT` a valid payload."""
    from flows.usecases.record import record_event

    if len(acknowledge) != len(reason):
        raise BadInput("give one --reason for each --acknowledge, in the same order", field="--reason")
    actor = _actor()
    ws = _ws()
    result = record_event(
        ws, actor, case_id, event, _read_payload(file), acknowledge=list(zip(acknowledge, reason)),
        idempotency_key=idempotency_key, expected_seq=if_seq,
    )

    def human() -> None:
        say("recorded {case} #{seq} {event}{again}", case=result.case_id, seq=result.seq, event=result.event,
            again=" (already recorded; nothing new written)" if result.repeated else "")
        for f in result.acknowledged:
            say("  acknowledged {rule} ({article})", rule=f.rule, article=f.article)

    emit(as_json, result.to_json(), human)


@_app.command()
@command
def attach(
    case_id: str = CaseArg,
    file: Path = Argument(..., metavar="FILE", help="The document's path."),
    name: Optional[str] = Option(None, "--name", help="The name shown (default: the file's own name)."),
    title: str = Option("", "--title", help="What the document is, e.g. 社会稳定风险评估报告."),
    non_disclosure: Optional[str] = Option(None, "--non-disclosure", metavar="BASIS",
                                                 help="Mark it 依法不予公开, with its legal basis."),
    as_json: bool = JsonOpt,
) -> None:
    """Put a document in the content-addressed store and record it on the case."""
    from flows.usecases.documents import attach as attach_document

    r = attach_document(_ws(), _actor(), case_id, file, name=name, title=title, non_disclosure_basis=non_disclosure)
    emit(as_json, r.to_json(), lambda: say(
        "attached {name} ({size}, sha256 {sha}) as {case} #{seq}{again}", name=r.display_name,
        size=_count(r.size, "byte"), sha=r.sha256, case=r.case_id, seq=r.seq,
        again=" (already attached)" if r.repeated else ""))


@_app.command()
@command
def schema(event: str = EventArg, as_json: bool = JsonOpt) -> None:
    """The JSON Schema of an event's payload.

    Events: {events}."""
    from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE

    if event not in EVENT_TYPES or event in ENGINE_EVENTS:
        raise BadInput(f"there is no event {event!r}; events: {', '.join(RECORDABLE)}", field="EVENT")
    sys.stdout.write(json.dumps(EVENT_TYPES[event].model_json_schema(by_alias=True), ensure_ascii=False, indent=None if as_json else 2) + "\n")


@_app.command()
@command
def example(event: str = EventArg, as_json: bool = JsonOpt) -> None:
    """A valid example payload, bare, to pipe into `juece record CASE EVENT --file -`.

    Events: {events}."""
    from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE

    if event not in EVENT_TYPES or event in ENGINE_EVENTS:
        raise BadInput(f"there is no event {event!r}; events: {', '.join(RECORDABLE)}", field="EVENT")
    sys.stdout.write(json.dumps(EVENT_TYPES[event].example, ensure_ascii=False, indent=None if as_json else 2) + "\n")


# --- audit ------------------------------------------------------------------------------------------------------


@audit_app.command("replay")
@command
def audit_replay(
    case_id: str = CaseArg,
    as_of: Optional[str] = Option(None, "--as-of", metavar="DATETIME",
                                        help="Replay the history up to " + AS_OF),
    as_json: bool = JsonOpt,
) -> None:
    """The case as it stood at a moment, and every event with actor, role and rule checks."""
    from flows.usecases.audit import replay_case

    rep = replay_case(_ws(), case_id, as_of=_as_of(as_of))

    def human() -> None:
        print_case(rep.view)
        t = table("history (全程留痕)", "#", "recorded at (UTC)", "event", "actor", "rules checked",
                  "findings / acknowledgements")
        for e in rep.events:
            notes = "; ".join(f"{f.rule}{' acknowledged' if f.acknowledged else ''}" for f in e.findings)
            notes += "".join(f" — {a['reason']}" for a in e.acknowledgements)
            t.add_row(str(e.seq), e.recorded_at[:19], e.type, f"{e.role}:{e.actor.split(':', 1)[-1]}",
                      " ".join(e.rules_checked), notes or "ok")
        _console().print(t)

    emit(as_json, rep.to_json(), human)


def _read_text(path: Path, field: str) -> str:
    """A small text file the user names (a key, a checkpoint), read within LIM-01's size (never /dev/zero for ever)."""
    from policies.limits import MAX_BYTES, check_size

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}", field=field) from exc
    check_size(len(data), f"{field} {path}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{field} {path} is not UTF-8 text: {exc.reason} at byte {exc.start}", field=field) from exc


@audit_app.command("verify")
@command
def audit_verify(
    case_ids: List[str] = Argument(None, metavar="CASE...", help="The cases to verify (default: every case)."),
    checkpoint: Optional[Path] = Option(None, "--checkpoint", metavar="FILE",
                                              help="A checkpoint file kept outside the database (`audit checkpoint`)."),
    public_key: Optional[Path] = Option(None, "--public-key", metavar="FILE",
                                              help="The PEM key to check it with (default: this installation's)."),
    jobs: Optional[int] = Option(None, "--jobs", min=1, max=256, metavar="N",
                                       help="Worker processes (default: the usable cores; 1 = this process only). "
                                       "The report is the same; small workspaces are verified in this process."),
    as_json: bool = JsonOpt,
) -> int:
    """Integrity of every history, and every rule re-run; exit 4 on tampering, 5 on findings."""
    from flows.usecases.audit import verify_cases
    from flows.usecases.audit_parallel import usable_cores

    cp = key = None
    if checkpoint is not None:
        from models.checkpoint import load_public_key, parse_checkpoint

        cp = parse_checkpoint(_read_text(checkpoint, "--checkpoint"))
        key = load_public_key(_read_text(public_key, "--public-key")) if public_key else None
    report = verify_cases(_ws(), case_ids or [], checkpoint=cp, public_key=key, jobs=jobs or usable_cores())
    emit(as_json, report.to_json(), lambda: print_verify(report))
    return report.exit_code


def print_verify(report: Any) -> None:
    """The readable verification report."""
    t = table("audit verify (完整性与合规复核)", "case", "events", "integrity", "findings", "acknowledged warnings",
              "refused attempts")
    verdicts = report.verdicts
    for v in verdicts:
        integrity = styled("[green]intact[/]" if v.intact else "[bold red]BROKEN[/]")
        t.add_row(v.case_id, str(v.events), integrity, str(len(v.findings)), str(len(v.acknowledged)), str(v.refused_attempts))
    _console().print(t)
    for v in verdicts:
        if v.broken:
            say("[bold red]integrity[/] {sentence}", sentence=v.broken.sentence())
        if v.problem:
            say("[bold red]integrity[/] {case}: {problem}", case=v.case_id, problem=v.problem)
        for f in v.findings:
            say("[red]finding[/] {case} #{seq} {event}: {rule} ({article}) {message}", case=v.case_id, seq=f["seq"],
                event=f["event"], rule=f["rule"], article=f["article"], message=f["message"])
        for a in v.acknowledged:
            say("[yellow]acknowledged[/] {case} #{seq} {event}: {rule} ({article}) by {actor} — reason: {reason}",
                case=v.case_id, seq=a["seq"], event=a["event"], rule=a["rule"], article=a["article"],
                actor=a["actor"], reason=a["reason"])
    if report.checkpoint is not None:
        c = report.checkpoint
        say("checkpoint ({signed} signed; {stored} stored now): " + (
            "[green]the signed tree is intact[/]" if c.ok else "[bold red]FAILED[/] — {reason}"),
            signed=_count(c.tree_size, "event"), stored=c.stored, reason=c.reason)
    verdict = {0: "all intact, no findings", 4: "integrity failure", 5: "findings in an intact history"}[report.exit_code]
    say("verdict: {verdict} (exit {code})", verdict=verdict, code=report.exit_code)


@audit_app.command("checkpoint")
@command
def audit_checkpoint(
    out: Optional[Path] = Option(None, "--out", metavar="FILE", help="Write the checkpoint to this new file "
                                       "(keep a copy elsewhere); an existing file is never overwritten."),
    as_json: bool = JsonOpt,
) -> None:
    """Sign a checkpoint of the whole history: tree size, Merkle root (RFC 9162), head hash."""
    from flows.usecases.proofs import make_checkpoint

    cp = make_checkpoint(_ws())
    if out is not None:
        write_out(out, cp.to_text(), overwrite=False)
    if as_json:
        emit(True, cp.to_json(), lambda: None)
    elif out is None:
        sys.stdout.write(cp.to_text())
    else:
        say("checkpoint of {events} (root {root}…) written to {out}", events=_count(cp.tree_size, "event"),
            root=cp.root.hex()[:16], out=out)


@audit_app.command("key")
@command
def audit_key(as_json: bool = JsonOpt) -> None:
    """Print the installation's public key (PEM), which verifies its checkpoints and proofs."""
    from flows.usecases.proofs import fingerprint, public_key_pem

    pem = public_key_pem(_ws())
    emit(as_json, {"public_key": pem, "fingerprint": fingerprint(pem)}, lambda: sys.stdout.write(pem))


@audit_app.command("prove")
@command
def audit_prove(
    case_id: str = CaseArg,
    seq: int = Argument(..., metavar="SEQ", min=1, max=2**31 - 1, help="The event's number in the case (# in `audit replay`)."),
    out: Optional[Path] = Option(None, "--out", metavar="FILE", help="Write the proof to this file."),
    as_json: bool = Option(False, "--json", help="Print exactly one JSON object on stdout: the proof, or with "
                                 "--out where it was written."),
) -> None:
    """An inclusion proof of one event in a signed checkpoint, verifiable offline (`juece audit check-proof`)."""
    from flows.usecases.proofs import prove

    proof = prove(_ws(), case_id, seq)
    text = json.dumps(proof, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        emit(as_json, proof, lambda: sys.stdout.write(text))
        return
    write_out(out, text)
    emit(as_json, {"case_id": case_id, "seq": seq, "out": str(out)},
         lambda: say("inclusion proof of {case} #{seq} written to {out}", case=case_id, seq=seq, out=out))


@audit_app.command("check-proof")
@command
def audit_check_proof(
    file: Path = Argument(..., metavar="FILE", help="The proof, as `audit prove` wrote it."),
    public_key: Optional[Path] = Option(None, "--public-key", metavar="FILE",
                                              help="The installation's public key (PEM), from a copy you trust."),
    as_json: bool = JsonOpt,
) -> int:
    """Verify an inclusion proof offline: no workspace, no database (exit 4 when it does not verify)."""
    from flows.usecases.proofs import check_proof

    doc = _read_payload(str(file), "FILE")
    ok, why = check_proof(doc, _read_text(public_key, "--public-key") if public_key else None)
    emit(as_json, {"ok": ok, "message": why}, lambda: say(
        ("[green]verified[/]: " if ok else "[bold red]does not verify[/]: ") + "{why}", why=why))
    return 0 if ok else 4


archive_app = _Typer(help="Archive dossiers as BagIt bags, and verify them with nothing but the bag.", no_args_is_help=True, cls=_GROUP)
_app.add_typer(archive_app, name="archive")


@archive_app.command("export")
@command
def archive_export(
    case_id: str = CaseArg,
    out: Path = Option(..., "--out", metavar="DIR", help="A new folder for the bag."),
    public: bool = Option(False, "--public", help="A disclosure export: leaves out 依法不予公开 material and the names of private persons who commented, and says where."),
    fonds: str = Option("Z001", "--fonds", metavar="CODE", help="全宗号 (fonds number) for the 档号."),
    org: str = Option("FZ", "--org-code", metavar="CODE", help="机构（问题）代码 for the 档号."),
    classification: str = Option("公开", "--classification", metavar="LEVEL", help="密级 written in bag-info."),
    as_json: bool = JsonOpt,
) -> None:
    """Export a published (or ended) case as a BagIt bag with its history, proofs, documents and dossier page."""
    from flows.usecases.archive import export_archive

    _new_folder(out)
    try:
        r = export_archive(_ws(), _actor(), case_id, out, public=public, fonds=fonds, org=org,
                           classification=classification)
    except OSError as exc:
        if exc.filename is None or not str(exc.filename).startswith(str(out.parent)):
            raise
        raise unwritable(out, exc, "--out", "a new folder in a place that can be written") from exc
    emit(as_json, r.to_json(), lambda: say(
        "archived {case} as {archive} ({export} export): {bag} — {files}, {size} bytes{withheld}\n"
        "  tag manifest sha256 {sha} recorded as {case} #{seq}", case=r.case_id, archive=r.archive_id,
        export=r.export, bag=r.bag, files=_count(r.files, "file"), size=f"{r.bytes:,}",
        withheld=f", {r.withheld} withheld (依法不予公开)" if r.withheld else "", sha=r.tagmanifest_sha256, seq=r.seq))


def _new_folder(out: Path) -> None:
    """--out for a bag: a new (or empty) folder whose parent folders can be made; said before any work is done."""
    import errno

    try:
        there = out.exists()
    except OSError as exc:  # a name too long for the file system, say: Path.exists only forgives a missing path
        raise BadInput(f"--out {_shown_path(out)}: {exc.strerror or exc}; give a folder the file system can hold",
                       field="--out") from exc
    if there and not out.is_dir():
        raise BadInput(f"--out {out}: a file is there; give a new folder for the bag", field="--out")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(f"--out {out}: {parent} is a file, not a folder; give a new folder for the bag", field="--out")
    if not os.access(parent, os.W_OK):
        raise unwritable(out, PermissionError(errno.EACCES, "permission denied"), "--out")


@archive_app.command("verify")
@command
def archive_verify(
    path: Path = Argument(..., metavar="DIR", help="The bag's folder."),
    public_key: Optional[Path] = Option(None, "--public-key", metavar="FILE",
                                              help="The installation's public key (PEM), from a copy you trust."),
    as_json: bool = JsonOpt,
) -> int:
    """Verify a bag with nothing but the bag: full BagIt validation, the chain, the checkpoint, proofs and pages."""
    from flows.usecases.archive_verify import verify_archive

    v = verify_archive(path, public_key_pem_text=_read_text(public_key, "--public-key") if public_key else None)

    def human() -> None:
        for c in v.checked:
            say("[green]ok[/] {what}", what=c)
        for f in v.failures:
            say("[bold red]FAILED[/] {what}", what=f)
        for n in v.notes:
            say("note: {note}", note=n)
        say("verdict: " + ("the bag verifies (exit 0)" if v.ok else "the bag does NOT verify (exit 4)"))

    emit(as_json, v.to_json(), human)
    return 0 if v.ok else 4


publication_app = _Typer(help="Check published copies of decisions against their record.", no_args_is_help=True, cls=_GROUP)
_app.add_typer(publication_app, name="publication")


@publication_app.command("verify")
@command
def publication_verify(
    case_id: str = CaseArg,
    url: Optional[str] = Option(None, "--url", metavar="URL", help="A web copy of the decision text."),
    file: Optional[Path] = Option(None, "--file", metavar="FILE", help="A local copy of the decision text."),
    as_json: bool = JsonOpt,
) -> int:
    """Does a copy match the sha256 recorded with `decision-published`? Exit 4 when it differs."""
    from flows.usecases.publication import fetch, read_copy, verify_copy

    if (url is None) == (file is None):
        raise BadInput("give exactly one of --url or --file", field="--url")
    content = fetch(url) if url is not None else read_copy(file)  # type: ignore[arg-type]
    v = verify_copy(_ws(), case_id, content, url or str(file))

    def human() -> None:
        if v.matches:
            say("[green]matches[/] the decision recorded for {case} (sha256 {sha})", case=v.case_id, sha=v.recorded_sha256)
        else:
            say("[bold red]DIFFERS[/] from the decision recorded for {case}:\n  recorded sha256 {recorded}\n"
                "  copy     sha256 {copy}", case=v.case_id, recorded=v.recorded_sha256, copy=v.copy_sha256)
            if v.difference:
                say("  first difference: {difference}", difference=v.difference)

    emit(as_json, v.to_json(), human)
    return 0 if v.matches else 4


experts_app = _Typer(help="The expert pool (决策咨询论证专家库) and recorded panel draws.", no_args_is_help=True, cls=_GROUP)
_app.add_typer(experts_app, name="experts")


@experts_app.command("import")
@command
def experts_import(
    file: Path = Argument(..., metavar="FILE", help="The list: JSON, or CSV with a header row."),
    bank: str = Option(..., "--bank", help="Which bank the list comes from, e.g. 海南省决策咨询论证专家库."),
    as_json: bool = JsonOpt,
) -> None:
    """Load the pool (JSON list, or CSV: name, affiliation, specialty, stance, interests separated by ;)."""
    from flows.usecases.experts import import_experts

    n = import_experts(_ws(), _actor(), file, bank=bank)
    emit(as_json, {"experts": n, "bank": bank}, lambda: say("{n} in the pool ({bank})", n=_count(n, "expert"), bank=bank))


@experts_app.command("list")
@command
def experts_list(as_json: bool = JsonOpt) -> None:
    """The current pool."""
    from flows.usecases.experts import pool

    bank, digest, experts = pool(_ws())

    def human() -> None:
        t = table(f"{bank or 'no pool loaded'} ({_count(len(experts), 'expert')})", "name", "affiliation", "specialty",
                  "stance", "declared interests")
        for e in experts:
            t.add_row(e.name, e.affiliation, e.specialty, e.stance, "; ".join(e.interests))
        _console().print(t)

    emit(as_json, {"bank": bank, "sha256": digest, "experts": [e.model_dump() for e in experts]}, human)


@experts_app.command("draw")
@command
def experts_draw(
    case_id: str = CaseArg,
    count: int = Option(3, "--count", metavar="N", min=1, max=1000, help="How many experts to draw."),
    seed: Optional[str] = Option(None, "--seed", help="Repeat a draw with its recorded seed."),
    specialty: str = Option("", "--specialty", help="Draw only experts of this specialty, e.g. 交通规划."),
    as_json: bool = JsonOpt,
) -> None:
    """Draw a panel at random (interested experts excluded, differing views preferred) and record the draw."""
    from flows.usecases.experts import draw_panel

    rec, panel, excluded = draw_panel(_ws(), _actor(), case_id, count=count, seed=seed, specialty=specialty)

    def human() -> None:
        say("recorded {case} #{seq} expert-panel-drawn:", case=case_id, seq=rec.seq)
        for e in panel:
            say("  drawn    {name} ({affiliation}; {specialty}; {stance})", name=e.name, affiliation=e.affiliation,
                specialty=e.specialty, stance=e.stance or "未表态")
        for x in excluded:
            say("  excluded {name}: {reason}", name=x["name"], reason=x["reason"])

    emit(as_json, {"case_id": case_id, "seq": rec.seq, "drawn": [e.model_dump() for e in panel], "excluded": excluded}, human)


comments_app = _Typer(help="Public comments (公众意见): import, counts and clusters, dispositions.", no_args_is_help=True, cls=_GROUP)
_app.add_typer(comments_app, name="comments")


@comments_app.command("import")
@command
def comments_import(
    case_id: str = CaseArg,
    file: Path = Argument(..., metavar="FILE", help="JSON Lines (.jsonl) or CSV with a header row."),
    as_json: bool = JsonOpt,
) -> None:
    """Import JSON Lines or CSV (submitted_at, channel, author, text): validated, all or nothing, idempotent."""
    from flows.usecases.comments import import_comments

    r = import_comments(_ws(), _actor(), case_id, file)
    emit(as_json, r.to_json(), lambda: say(
        "{rows} read, {new} new ({late} late); the case now has {received} received, {distinct} distinct, "
        "{clusters} after grouping near-duplicates — {recorded}", rows=_count(r.rows, "row"), new=r.new_rows,
        late=r.late, received=_count(r.received_total, "comment"), distinct=r.distinct_total,
        clusters=r.clusters_total, recorded=f"recorded as {case_id} #{r.seq}" if r.seq else "nothing new to record"))


@comments_app.command("show")
@command
def comments_show(
    case_id: str = CaseArg,
    top: int = Option(10, "--top", metavar="N", min=0, max=10_000, help="How many of the largest clusters to show."),
    report: bool = Option(False, "--report", help="Also print the handling-report draft (PP-07)."),
    as_json: bool = JsonOpt,
) -> None:
    """Received, distinct and clustered counts, the biggest clusters, and dispositions."""
    from flows.usecases.comment_report import handling_report_draft
    from flows.usecases.comments import comment_summary

    s = comment_summary(_ws(), case_id, top=top)
    draft = handling_report_draft(_ws(), case_id) if report else None

    def human() -> None:
        say("{case}: {received} received, {distinct} distinct, {clusters} after grouping near-duplicates, {late} late",
            case=case_id, received=_count(s.received, "comment"), distinct=s.distinct, clusters=s.clusters, late=s.late)
        t = table("largest clusters (意见归类)", "cluster", "size", "distinct", "late", "disposition", "sample")
        for c in s.to_json()["top"]:
            t.add_row(str(c.get("cluster")), str(c.get("size")), str(c.get("distinct")), str(c.get("late")),
                      str(c.get("disposition") or "—"), str(c.get("sample", ""))[:60])
        _console().print(t)
        if draft:
            _console().print_json(json.dumps(draft, ensure_ascii=False))

    emit(as_json, {**s.to_json(), **({"handling_report": draft} if draft else {})}, human)


@comments_app.command("dispose")
@command
def comments_dispose(
    case_id: str = CaseArg,
    target: str = Argument(..., metavar="TARGET", help="comment:ID or cluster:N (from `comments show`)."),
    disposition: str = Argument(..., metavar="DISPOSITION", help="adopted, partly-adopted or not-adopted."),
    reason: str = Option("", "--reason", help="Why (feeds the handling report; needed for not-adopted and partly-adopted, 条例 art. 18)."),
    as_json: bool = JsonOpt,
) -> None:
    """Record how a comment or a cluster was handled (a `comment-disposed` record); it feeds the handling report."""
    from flows.usecases.comment_dispositions import record_disposition

    r = record_disposition(_ws(), _actor(), case_id, target, disposition, reason)
    emit(as_json, r.to_json(), lambda: say("{case} {target}: {disposition}", case=case_id, target=target,
                                           disposition=disposition))


catalog_app = _Typer(help="The decision catalog (重大行政决策事项目录): publish versions, list them, year-end report.",
                          no_args_is_help=True, cls=_GROUP)
_app.add_typer(catalog_app, name="catalog")


@catalog_app.command("publish")
@command
def catalog_publish(
    file: str = Argument(..., metavar="FILE", help="JSON: organ, year, version, items, party_consent, published_on, url."),
    policy: str = Option("cn-2019", "--policy", help="The policy pack the catalog is published under."),
    as_json: bool = JsonOpt,
) -> None:
    """Publish a version of an organ's catalog for a year (legal office), with the Party committee's consent (SCP-05)."""
    from flows.usecases.catalog import publish_catalog

    r = publish_catalog(_ws(), _actor(), _read_payload(file), policy=policy)
    emit(as_json, r.to_json(), lambda: say(
        "{what}: the {year} decision catalog of {organ}, version {version} ({items}) — @workspace #{seq}",
        what="already published" if r.repeated else "published", year=r.year, organ=r.organ, version=r.version,
        items=_count(r.items, "item"), seq=r.seq))


@catalog_app.command("example")
@command
def catalog_example(as_json: bool = JsonOpt) -> None:
    """A valid catalog file, bare, to edit and publish (`juece catalog publish FILE`)."""
    from models.events import CatalogPublished

    sys.stdout.write(json.dumps(CatalogPublished.example, ensure_ascii=False, indent=None if as_json else 2) + "\n")


@catalog_app.command("schema")
@command
def catalog_schema(as_json: bool = JsonOpt) -> None:
    """The JSON Schema of a catalog file."""
    from models.events import CatalogPublished

    sys.stdout.write(json.dumps(CatalogPublished.model_json_schema(by_alias=True), ensure_ascii=False,
                                indent=None if as_json else 2) + "\n")


@catalog_app.command("list")
@command
def catalog_list(
    organ: Optional[str] = Option(None, "--organ", help="Only this organ's catalogs."),
    year: Optional[int] = Option(None, "--year", metavar="YEAR", min=1, max=9999, help="Only this year's catalogs."),
    as_json: bool = JsonOpt,
) -> None:
    """Every published catalog version, and the items of the versions in force."""
    from flows.usecases.catalog import list_catalogs

    rows = list_catalogs(_ws(), organ=organ, year=year)

    def human() -> None:
        con = _console()
        t = table("decision catalogs (重大行政决策事项目录)", "organ", "year", "version", "published", "party consent",
                  "items", "in force", "adjustment", "url")
        for v, current in rows:
            consent = v.party_consent or {}
            t.add_row(str(v.organ), str(v.year), str(v.version), v.published_on.isoformat(),
                      f"{consent.get('decided_on') or ''} {consent.get('ref') or ''}".strip(), str(len(v.items)),
                      "yes" if current else "", str(v.adjustment_reason or ""), str(v.url or ""))
        con.print(t)
        for v, current in rows:
            if not current:
                continue
            items = table(f"{v.organ} {v.year}, version {v.version}", "item", "title", "category", "lead unit",
                          "quarter", "criteria")
            for i in v.items:
                items.add_row(str(i["item_no"]), str(i["title"]), str(i["category"]), str(i.get("lead_unit", "")),
                              str(i.get("planned_quarter", "")), str(i.get("criteria", "")))
            con.print(items)
        if not rows:
            say("no decision catalog is published (`juece catalog publish FILE`)")

    emit(as_json, {"catalogs": [{**v.to_json(), "current": current} for v, current in rows]}, human)


@catalog_app.command("report")
@command
def catalog_report(
    year: Optional[int] = Option(None, "--year", metavar="YEAR", min=1, max=9999,
                                       help="The catalog year (default: this year)."),
    organ: Optional[str] = Option(None, "--organ", help="Only this organ's catalog."),
    as_json: bool = JsonOpt,
) -> int:
    """The year-end report (SCP-06): every catalog item and whether its dossier is archived; exit 5 when any is not."""
    from flows.usecases.catalog import year_end_report

    r = year_end_report(_ws(), year=year, organ=organ)

    def human() -> None:
        t = table(f"{r.year} catalog items: archived? (年度目录事项立卷归档)", "organ", "item", "title", "cases",
                  "archived", "why not")
        for i in r.items:
            t.add_row(str(i.organ), str(i.item["item_no"]), str(i.item["title"]),
                      ", ".join(c.case_id for c in i.cases) or "—", styled("[green]yes[/]" if i.archived else "[red]no[/]"),
                      str(i.reason or ""))
        _console().print(t)
        for n in r.notes:
            say("note: {note}", note=n)
        for f in r.findings:
            say("[yellow]warning[/] {rule} ({article}): {message}", rule=f.rule, article=f.article, message=f.message)
        say("verdict: {archived} of {items} archived (exit {code})", archived=len(r.items) - len(r.findings),
            items=_count(len(r.items), "item"), code=r.exit_code)

    emit(as_json, r.to_json(), human)
    return r.exit_code


# --- flows and the Prefect server -------------------------------------------------------------------------------


@flow_app.command("run")
@command
def flow_run(case_id: str = CaseArg, as_json: bool = JsonOpt) -> None:
    """Run the case's Prefect flow: advance it as far as its records allow and publish its stage table."""
    from flows.orchestration.case_flow import run_case_flow

    outcome = run_case_flow(_ws(), case_id)
    emit(as_json, outcome.to_json(), lambda: say(
        "flow run {run}: [bold]{state}[/]\n  see it in the Prefect UI: {url}", run=outcome.flow_run_id,
        state=outcome.state_name, url=outcome.ui_url))


@flow_app.command("publish")
@command
def flow_publish(
    case_id: str = CaseArg,
    portal: str = Option(..., "--portal", metavar="URL", help="The publication portal's endpoint (POST)."),
    as_json: bool = JsonOpt,
) -> None:
    """Post a published decision's text to a portal (retrying only transient failures) and record where it is."""
    from flows.orchestration.case_flow import run_publish_flow

    actor = _actor()
    outcome = run_publish_flow(_ws(), case_id, portal, actor.label)
    emit(as_json, outcome.to_json(), lambda: say(
        "posted {case}: now at {url} (flow run {run}, {state})", case=case_id, url=outcome.posted_url,
        run=outcome.flow_run_id, state=outcome.state_name))


@flow_app.command("audit")
@command
def flow_audit(as_json: bool = JsonOpt) -> None:
    """Run the audit flow over every case and publish the report as a Prefect artifact."""
    from flows.orchestration.case_flow import run_audit_flow

    outcome = run_audit_flow(_ws())
    emit(as_json, outcome.to_json(), lambda: say(
        "audit flow run {run}: [bold]{state}[/]\n  report in the Prefect UI: {url}", run=outcome.flow_run_id,
        state=outcome.state_name, url=outcome.ui_url))


@flow_app.command("sweep")
@command
def flow_sweep(
    webhook: Optional[str] = Option(None, "--webhook", metavar="URL", envvar="JUECE_WEBHOOK_URL",
                                          help="Where to POST reminders (or JUECE_WEBHOOK_URL)."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the deadline sweep once as a Prefect flow: due and overdue items, reminders to the webhook."""
    from flows.orchestration.case_flow import run_sweep_flow

    outcome = run_sweep_flow(_ws(), webhook)
    emit(as_json, outcome.to_json(), lambda: say(
        "deadline sweep {run}: [bold]{state}[/]\n  list in the Prefect UI: {url}", run=outcome.flow_run_id,
        state=outcome.state_name, url=outcome.ui_url))


@_app.command("due")
@command
def due(
    as_of: Optional[str] = Option(None, "--as-of", metavar="DATETIME", help="What was due at " + AS_OF),
    webhook: Optional[str] = Option(None, "--webhook", metavar="URL", envvar="JUECE_WEBHOOK_URL",
                                          help="Also POST the reminders here (or JUECE_WEBHOOK_URL)."),
    as_json: bool = JsonOpt,
) -> None:
    """What is due and overdue across every case (the sweep, without Prefect)."""
    from flows.usecases.sweep import post_reminders, sweep
    from policies.errors import DeliveryRefused, TransientDeliveryError

    today, items = sweep(_ws(), as_of=_as_of(as_of))
    delivered = None
    if webhook and items:
        try:
            delivered = post_reminders(webhook, today, items)
        except TransientDeliveryError as exc:
            raise DecisionError(f"reminders not delivered: {exc} — try again, or run `juece flow sweep --webhook URL`, "
                                "whose Prefect task retries transient failures", code="webhook") from exc
        except DeliveryRefused as exc:
            raise DecisionError(f"reminders not delivered: {exc}", code="webhook") from exc

    def human() -> None:
        t = table(f"due and overdue on {today} (到期提醒)", "case", "what", "due", "rule", "state")
        for i in items:
            t.add_row(i.case_id, i.what, i.due or "—", i.rule, i.state)
        _console().print(t)
        if delivered:
            say("reminders delivered to {webhook} (HTTP {status})", webhook=webhook, status=delivered)

    emit(as_json, {"today": today, "items": [i.to_json() for i in items], "delivered": delivered}, human)


def _server_json(st: Any) -> dict[str, Any]:
    return {
        "running": st.running, "url": st.url, "api_url": st.api_url, "pid": st.pid, "log": str(st.log_path),
        "database_url": st.database_url,
    }


@server_app.command("start")
@command
def server_start(
    database_url: Optional[str] = Option(
        None, "--database-url", metavar="URL",
        help="Keep Prefect's data in this database, e.g. postgresql+asyncpg://prefect@db/prefect (PostgreSQL ≥ 14.9 "
        "with pg_trgm); default: PREFECT_API_DATABASE_CONNECTION_URL, else SQLite in the workspace.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Start the local Prefect server in the background (reused if already running)."""
    from flows.orchestration.prefect_server import ServerStartError, ensure_server

    try:
        st = ensure_server(_ws().prefect_home, database_url=database_url)
    except ServerStartError as exc:
        raise DecisionError(str(exc), code="prefect-server") from exc
    on = f" on {st.database_url}" if st.database_url else ""
    emit(as_json, _server_json(st), lambda: say("Prefect server running at {url} (pid {pid}){on}", url=st.url, pid=st.pid,
                                                on=on))


@_app.command()
@command
def worker(
    api_url: Optional[str] = Option(
        None, "--api-url", metavar="URL",
        help="The Prefect server's API, http://HOST:4200/api (or PREFECT_API_URL; default: this workspace's server).",
    ),
    limit: Optional[int] = Option(None, "--limit", metavar="N", min=1, help="At most this many flow runs at once here."),
    pool: str = Option("juece", "--pool", metavar="POOL", help="The process work pool to serve."),
    name: Optional[str] = Option(None, "--name", help="This worker's name in the Prefect UI (one per process)."),
    poll_seconds: float = Option(2.0, "--poll-seconds", metavar="SECONDS", min=0.5,
                                       help="How often to ask the server for runs."),
    deploy: bool = Option(
        True, "--deploy/--no-deploy", help="Create the work pool if missing and create or update juece's deployments."
    ),
    sweep_cron: Optional[str] = Option(
        None, "--sweep-cron", metavar="CRON", help='Schedule the deadline sweep, e.g. "0 8 * * 1-5" (Asia/Shanghai).'
    ),
    sweep_webhook: Optional[str] = Option(
        None, "--sweep-webhook", metavar="URL", help="Where the scheduled sweep posts its reminders."
    ),
    as_json: bool = Option(False, "--json", help="Print one JSON object on stdout when the worker starts "
                                 "serving (where, which pool, what was deployed); errors as the error object."),
    mirror: bool = Option(
        True, "--mirror/--no-mirror",
        help="Drain the outbox into Prefect (events, a decision-case run per changed case); one worker is enough.",
    ),
) -> None:
    """Run juece's flows on this machine: serve the Prefect work pool until stopped (SIGTERM or Ctrl-C), and mirror
    every record into Prefect as it is made."""
    from flows.orchestration.worker import deploy_flows, resolve_api_url, run_worker

    ws = _ws()
    url = resolve_api_url(api_url, ws.prefect_home)
    names = deploy_flows(url, work_pool=pool, sweep_cron=sweep_cron, sweep_webhook=sweep_webhook) if deploy else []
    emit(as_json, {"api_url": url, "work_pool": pool, "name": name, "deployed": names}, lambda: say(
        "deployed {names} to the work pool {pool!r} at {url}", stderr=True, names=", ".join(names), pool=pool,
        url=url) if deploy else None)
    if as_json:
        sys.stdout.flush()
    run_worker(ws.home, api_url=url, limit=limit, work_pool=pool, name=name, query_seconds=poll_seconds, mirror=mirror)


@flow_app.command("trigger")
@command
def flow_trigger(
    case_id: str = CaseArg,
    worker_home: str = Option(
        "", "--worker-home", metavar="PATH", help="The workspace as the workers see it (default: each worker's own)."
    ),
    api_url: Optional[str] = Option(None, "--api-url", metavar="URL", help="The Prefect server's API."),
    timeout: float = Option(120.0, "--timeout", metavar="SECONDS", help="How long to wait for a worker to finish the run."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the case's flow on a `juece worker` (the scaled setup) and wait for it."""
    from flows.usecases.show import show_case
    from flows.orchestration.worker import resolve_api_url, trigger_case_flow

    ws = _ws()
    show_case(ws, case_id)  # an unknown case is refused here, not in a worker's log
    url = resolve_api_url(api_url, ws.prefect_home)
    run_id, state = trigger_case_flow(url, worker_home, case_id, timeout=timeout)
    ui = url.removesuffix("/api")
    emit(as_json, {"case_id": case_id, "flow_run_id": run_id, "state_name": state, "ui_url": f"{ui}/runs/flow-run/{run_id}"},
         lambda: say("flow run {run}: [bold]{state}[/]\n  see it in the Prefect UI: {url}", run=run_id, state=state,
                     url=f"{ui}/runs/flow-run/{run_id}"))


@server_app.command("stop")
@command
def server_stop(as_json: bool = JsonOpt) -> None:
    """Stop the local Prefect server (saying so when none was running)."""
    from flows.orchestration.prefect_server import server_status, stop_server

    home = _ws().prefect_home
    before = server_status(home)
    was_running = before.running or before.pid is not None
    st = stop_server(home)
    emit(as_json, {**_server_json(st), "was_running": was_running}, lambda: say(
        "Prefect server stopped" if was_running else "no Prefect server was running; nothing to stop"))


@server_app.command("status")
@command
def server_status_cmd(as_json: bool = JsonOpt) -> None:
    """Is the local Prefect server running, and where."""
    from flows.orchestration.prefect_server import server_status

    st = server_status(_ws().prefect_home)
    emit(as_json, _server_json(st), lambda: say(
        "Prefect server running at {url} (pid {pid})" if st.running else "Prefect server not running", url=st.url,
        pid=st.pid))


@_app.command()
@command
def demo(
    workspace: Optional[Path] = Option(
        None, "--workspace", metavar="DIR", help="Where to put the demo workspace (the same as `juece --home DIR "
        "demo`; default a new ./.juece-demo/run-N)."),
    no_flow: bool = Option(False, "--no-flow", help="Skip mirroring the case into Prefect at the end."),
    keep_server: bool = Option(False, "--keep-server",
                                     help="Leave the local Prefect server running at the end (to browse its UI)."),
    as_json: bool = Option(False, "--json", help="Print one JSON object on stdout at the end (where the "
                                 "workspace is, the case, the bag, the demo accounts); the walk-through goes to stderr."),
) -> None:
    """A complete sample case on a fresh simulated-clock workspace, end to end.

    With `juece --home DIR demo` (or --workspace DIR) everything, the Prefect server's files included, stays in DIR,
    which must be new."""
    from flows.demo.driver import run_demo

    home = workspace or (Path(G.home) if G.home else None)
    summary = run_demo(home, run_flow=not no_flow, console=_console(stderr=as_json), keep_server=keep_server)
    emit(as_json, summary, lambda: None)


# --- accounts and the web console -------------------------------------------------------------------------------

user_app = _Typer(help="Accounts (账号): add, grant, revoke, disable, tokens; recorded in the workspace history.",
                       no_args_is_help=True, cls=_GROUP)
_app.add_typer(user_app, name="user")


def _account_json(a: Any) -> dict[str, Any]:
    return a.to_json()


@user_app.command("add")
@command
def user_add(
    name: str = Argument(..., metavar="NAME", help="The person's name as it is recorded, e.g. 李明."),
    role: List[str] = Option(..., "--role", metavar="ROLE", help="A role to grant, e.g. clerk (repeatable)."),
    password_stdin: bool = Option(False, "--password-stdin", help="Read the password from stdin (one line)."),
    as_json: bool = JsonOpt,
) -> None:
    """Add an account (admin); prints a one-time password unless one is given on stdin."""
    from flows.usecases.accounts import add_account

    password = None
    if password_stdin:
        try:
            password = sys.stdin.readline().rstrip("\r\n")
        except UnicodeDecodeError as exc:  # found by tests/test_cli_standing.py: stdin b"\xff\xfe"
            raise BadInput("--password-stdin: the password on stdin is not UTF-8 text", field="--password-stdin") from exc
        if not password:
            raise BadInput("--password-stdin: no password on stdin", field="--password-stdin")
    account, shown = add_account(_ws(), _actor(), name, role, password)

    def human() -> None:
        say("account {name} added with roles {roles}", name=account.name, roles=", ".join(account.roles))
        if shown:
            say("one-time password (shown once, 仅显示一次): {password}", password=shown)

    emit(as_json, {**account.to_json(), **({"password": shown} if shown else {})}, human)


@user_app.command("grant")
@command
def user_grant(name: str = Argument(..., metavar="NAME", help="The account's name."),
               role: str = Argument(..., metavar="ROLE", help="e.g. clerk, reviewer, auditor."),
               as_json: bool = JsonOpt) -> None:
    """Grant a role to an account (admin; recorded)."""
    from flows.usecases.accounts import grant_role

    a = grant_role(_ws(), _actor(), name, role)
    emit(as_json, a.to_json(), lambda: say("{name}: roles now {roles}", name=a.name, roles=", ".join(a.roles) or "none"))


@user_app.command("revoke")
@command
def user_revoke(name: str = Argument(..., metavar="NAME", help="The account's name."),
                role: str = Argument(..., metavar="ROLE", help="The role to take away."),
                as_json: bool = JsonOpt) -> None:
    """Revoke a role from an account (admin; recorded)."""
    from flows.usecases.accounts import revoke_role

    a = revoke_role(_ws(), _actor(), name, role)
    emit(as_json, a.to_json(), lambda: say("{name}: roles now {roles}", name=a.name, roles=", ".join(a.roles) or "none"))


@user_app.command("disable")
@command
def user_disable(name: str = Argument(..., metavar="NAME", help="The account's name."),
                 as_json: bool = JsonOpt) -> None:
    """Disable an account (admin; recorded): it signs in no more and its sessions and tokens stop working."""
    from flows.usecases.accounts import disable_account

    a = disable_account(_ws(), _actor(), name)
    emit(as_json, a.to_json(), lambda: say("{name}: disabled", name=a.name))


@user_app.command("token")
@command
def user_token(
    name: str = Argument(..., metavar="NAME", help="The account's name."),
    revoke: bool = Option(False, "--revoke", help="Revoke every token of the account instead."),
    as_json: bool = JsonOpt,
) -> None:
    """An API token for an account (admin), shown once and stored only as a hash; --revoke revokes them all."""
    from flows.usecases.accounts import issue_token, revoke_tokens

    if revoke:
        n = revoke_tokens(_ws(), _actor(), name)
        emit(as_json, {"name": name, "revoked": n}, lambda: say("{tokens} revoked", tokens=_count(n, "token")))
        return
    token, token_id = issue_token(_ws(), _actor(), name)
    emit(as_json, {"token": token, "token_id": token_id, "name": name},
         lambda: say("API token for {name} (shown once, 仅显示一次):\n{token}", name=name, token=token))


@user_app.command("list")
@command
def user_list(as_json: bool = JsonOpt) -> None:
    """Every account with its roles."""
    from flows.usecases.accounts import list_accounts

    rows = list_accounts(_ws())

    def human() -> None:
        t = table("accounts (账号)", "name", "roles", "state")
        for a in rows:
            t.add_row(a.name, ", ".join(a.roles), "active" if a.active and not a.locked else ("locked" if a.active else "disabled"))
        _console().print(t)

    emit(as_json, {"accounts": [a.to_json() for a in rows]}, human)


@user_app.command("log")
@command
def user_log(limit: int = Option(200, "--limit", metavar="N", min=1, max=10000, help="Show the newest N entries."),
             as_json: bool = JsonOpt) -> None:
    """The security log (安全审计日志): sign-ins, failures, lockouts, grants, token use; newest first."""
    from flows.usecases.sessions import security_log

    rows = security_log(_ws(), limit=limit)

    def human() -> None:
        t = table("security log (安全审计日志)", "at (UTC)", "kind", "account", "address", "detail")
        for r in rows:
            t.add_row(r["at"][:19], r["kind"], str(r["account"]), str(r["address"]), str(r["detail"]))
        _console().print(t)

    emit(as_json, {"entries": rows}, human)


@_app.command()
@command
def web(
    host: str = Option("127.0.0.1", "--host", metavar="ADDRESS", help="The address to listen on."),
    port: int = Option(8000, "--port", metavar="PORT", min=1, max=65535, help="The port to listen on."),
    workers: int = Option(1, "--workers", metavar="N", min=1, max=64, help="Worker processes (uvicorn)."),
) -> None:
    """The web console and the HTTP API (/api/v1); on PostgreSQL any number of instances share sessions and state."""
    from web.server import serve

    serve(_ws(), host=host, port=port, workers=workers)


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of the `juece` executable: every path ends in an exit code from the contract, usage errors (an
    unknown option, a missing argument, a value of the wrong kind) included — exit 2, and with `--json` anywhere in
    argv the usual error object on stdout."""
    args = sys.argv[1:] if argv is None else list(argv)
    if sys.stderr is None:  # started with standard error closed: messages go nowhere, the command still runs
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:  # started with standard output closed (`>&-`): the answer could not be given
        sys.stderr.write("juece: standard output is closed, so the answer could not be printed; nothing was done\n")
        sys.exit(1)
    for stream in (sys.stdout, sys.stderr):  # a file name's undecodable bytes are shown escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    call = _fast_call(args)
    if call is not None:
        sys.exit(call())
    import typer
    from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer (0.26+) vendors click (pinned)

    try:
        _utf8_only(args)
        code = _root().main(args=args, prog_name="juece", standalone_mode=False)
    except BadInput as exc:  # raised before a command runs: the usual error object when --json is anywhere
        if "--json" in args:
            sys.stdout.write(json.dumps(exc.to_json(), ensure_ascii=False) + "\n")
        else:
            _print_error(exc)
        sys.exit(exc.exit_code)
    except NoArgsIsHelpError as exc:  # `juece` or `juece case` alone: the help, and exit 2 as before
        exc.show()
        sys.exit(2)
    except UsageError as exc:
        _usage_error(exc, as_json="--json" in args)
        sys.exit(2)
    except typer.Abort:
        say("aborted; nothing was recorded", stderr=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


# The commands whose plain command lines are parsed here, without typer: the ones run most (bench/bench_cli.py), and
# the public comments' import (its start counts in the import's end-to-end figure, bench/bench_comments.py).
_FAST = (("case", "show"), ("record",), ("comments", "import"))
_KINDS_FAST = {"str": str, "Optional[str]": str, "bool": bool, "List[str]": list, "Optional[int]": int, "Path": Path}


def _fast_call(args: List[str]) -> Optional[Callable[[], int]]:
    """The run of a plain `case show`, `record` or `comments import` command line, parsed as typer would parse it — or
    None, and typer parses it. Plain: the global options and then the command's, each option written `--name VALUE`
    (or `-f VALUE`) at most once, every value text (an `--if-seq` of ASCII digits within its range, a file path not
    empty), UTF-8 throughout, nothing typer
    would treat specially (help, `--`, `--name=value`, an option it does not know, a value left out). Whatever is
    not plain gets typer's answer, so this parser only has to be right about what it accepts
    (tests/test_cli_fast.py compares the two on generated command lines). JUECE_CLI_TYPER=1 turns it off."""
    if os.environ.get("JUECE_CLI_TYPER") == "1":
        return None
    try:
        for arg in args:
            arg.encode("utf-8")
    except UnicodeEncodeError:
        return None
    main = _app.main
    glob = _fast_parse(main, args, stop_at_word=True) if main is not None else None
    if glob is None:
        return None
    given, rest = glob
    if "" in (given.get("home"), given.get("actor")):
        return None  # typer's path says so (_main), as a usage error
    path = next((p for p in _FAST if tuple(rest[:len(p)]) == p), None)
    if path is None:
        return None
    group = _app if len(path) == 1 else _app.sub(path[0])
    fn = group.find(path[-1]) if group is not None else None
    parsed = _fast_parse(fn, rest[len(path):], stop_at_word=False) if fn is not None else None
    if parsed is None or parsed[1]:
        return None
    own = parsed[0]

    def run() -> int:
        main(**given)
        return _outcome(_unwrapped(fn), (), own)

    return run


def _fast_parse(fn: Callable[..., Any], args: List[str], *, stop_at_word: bool) -> Optional[tuple[dict[str, Any], List[str]]]:
    """The keyword arguments typer would call `fn` with for `args`, and what follows the first word when
    `stop_at_word` (a group's options, then its command); None where the command line is not plain."""
    fn = _unwrapped(fn)
    code, written = fn.__code__, getattr(fn, "_later", fn.__defaults__) or ()
    names = code.co_varnames[:code.co_argcount]
    if len(written) != len(names):
        return None
    params = list(zip(names, written))
    options: dict[str, tuple[str, _Later]] = {}
    positional: list[tuple[str, _Later]] = []
    for name, spec in params:
        if not isinstance(spec, _Later) or _KINDS_FAST.get(fn.__annotations__.get(name, "")) is None:
            return None
        if spec.kind == "Argument":
            positional.append((name, spec))
        else:
            options.update((flag, (name, spec)) for flag in spec.names)
    values: dict[str, Any] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            if arg not in options:
                return None  # help, `--`, `--name=value`, `-fVALUE`, an unknown option: typer's to answer
            name, spec = options[arg]
            kind = _KINDS_FAST[fn.__annotations__[name]]
            if kind is bool:
                if name in values:
                    return None
                values[name] = True
                i += 1
                continue
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            if kind is list:
                values.setdefault(name, []).append(value)
            elif name in values:
                return None
            elif kind is Path:
                if not value:
                    return None
                values[name] = Path(value)
            elif kind is int:
                if not (value.isascii() and value.isdigit()):
                    return None
                number, low, high = int(value), spec.kwargs.get("min"), spec.kwargs.get("max")
                if (low is not None and number < low) or (high is not None and number > high):
                    return None
                values[name] = number
            else:
                values[name] = value
            i += 2
            continue
        if stop_at_word:
            filled = _filled(params, values)
            return (filled, args[i:]) if filled is not None else None
        if arg == "-" or len(words) == len(positional):
            return None
        words.append(arg)
        i += 1
    if stop_at_word or len(words) != len(positional):
        return None
    for (name, _), word in zip(positional, words):
        if _KINDS_FAST[fn.__annotations__[name]] is Path:
            if not word:
                return None
            values[name] = Path(word)
        else:
            values[name] = word
    filled = _filled(params, values)
    return (filled, []) if filled is not None else None


def _filled(params: list[tuple[str, Any]], values: dict[str, Any]) -> Optional[dict[str, Any]]:
    """`values` with the defaults of the options not given; None if a required one (`...`) is missing."""
    out = dict(values)
    for name, spec in params:
        if name not in out:
            default = spec.default
            if default is ...:
                return None
            out[name] = list(default) if isinstance(default, list) else default
    return out


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name, each converted from its typer definition the first time it is looked up: `juece
    case show` converts the `case` group and nothing else (converting all ~80 commands costs ~40 ms of every start).
    Listing them (help) converts them all, in the order they were registered, as typer would."""

    def __init__(self, builders: dict[str, Callable[[], Any]]) -> None:
        self._builders = builders
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._builders[name] = lambda: command
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Any:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


def _root() -> Any:
    """The `juece` group as typer would build it from `app` (`typer.main.get_command(app)`, which tests use), with its
    commands and sub-groups converted on first lookup (`_Commands`)."""
    from typer.main import get_command_from_info, get_command_name, get_group

    import typer

    app = _app.real()
    styles = {"pretty_exceptions_short": app.pretty_exceptions_short, "rich_markup_mode": app.rich_markup_mode}
    builders: dict[str, Callable[[], Any]] = {}
    for info in app.registered_commands:
        builders[info.name or get_command_name(info.callback.__name__)] = partial(get_command_from_info, info, **styles)
    for group in app.registered_groups:
        builders[group.name] = partial(typer.main.get_group_from_info, group, suggest_commands=app.suggest_commands,
                                       **styles)
    bare = copy.copy(app)  # the global options and help, no commands: converted here, the commands on lookup
    bare.registered_commands, bare.registered_groups = [], []
    root = get_group(bare)
    root.commands = _Commands(builders)
    return root


def _utf8_only(args: List[str]) -> None:
    """An argument whose bytes are not UTF-8 (Python hands them over as lone surrogates) is bad input, before it can
    reach a database or a JSON encoder."""
    for i, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raw = arg.encode("utf-8", "surrogateescape") if all(
                "\udc80" <= c <= "\udcff" for c in arg if "\ud800" <= c <= "\udfff") else arg.encode("utf-8", "backslashreplace")
            shown = raw.decode("utf-8", "backslashreplace")[:60]
            raise BadInput(f"argument {i} ({shown}) is not UTF-8 text; type it again, or rename the file it names",
                           code="usage") from exc


def _usage_error(exc: Any, as_json: bool) -> None:
    """A usage error as bad input: the error object on stdout with --json, else a sentence, the usage line and where
    the help is."""
    param = getattr(exc, "param", None)
    field = getattr(exc, "option_name", None)
    if param is not None:
        field = param.opts[0] if param.param_type_name == "option" else (param.metavar or param.name)
    message = exc.format_message()
    for said, meant in _KINDS:
        message = message.replace(said, meant)
    error = BadInput(message, code="usage", field=field)
    if as_json:
        sys.stdout.write(json.dumps(error.to_json(), ensure_ascii=False) + "\n")
        return
    _print_error(error)
    if exc.ctx is not None:
        say("{usage}\nTry '{command} --help' for help.", stderr=True, usage=exc.ctx.get_usage(),
            command=exc.ctx.command_path)


if __name__ == "__main__":
    main()

"""The standing storage-damage test (issue 12): for each kind of damage to the SQLite file — truncation, zero length,
random bytes, a broken header, the file deleted, a dropped table, a retyped column, a correctly chained payload that
does not match its type — every reading and writing command of the real `juece` executable exits 4 with a sentence
naming what is damaged and pointing at the restore steps, prints no traceback, and writes nothing; a read-only
workspace is exit 1 in one sentence, nothing written. Each command is first run on an intact copy, where it succeeds:
the exit 4 comes from the damage, not from the command line.

The default run takes every damage kind with the five commands clerks and auditors use most; `--run-slow` takes every
damage kind with every command below, with and without `--json`. Figures: bench/RESULTS.md ("Damaged storage").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from damage_kinds import DAMAGE, settle
from support import AUDITOR, Driver, new_workspace, payload

JUECE = str(Path(sys.executable).with_name("juece"))
CASE = "JC-2025-0001"

# name -> argv after `--home WS` ({files} is a folder outside the workspace holding the inputs and outputs).
COMMANDS: dict[str, list[str]] = {
    "case show": ["case", "show", CASE],
    "case list": ["case", "list"],
    "audit verify": ["audit", "verify"],
    "record": ["--as", "clerk:李明", "record", CASE, "participation-activity-held", "-f", "{files}/activity.json"],
    "case launch": ["--as", "legal-office:张伟", "case", "launch", "--title", "三亚市老城区道路改造", "--category",
                    "public-construction", "--organ", "三亚市人民政府", "--lead-unit", "三亚市住房和城乡建设局",
                    "--decided-on", "2025-09-01"],
    "audit replay": ["audit", "replay", CASE],
    "attach": ["--as", "clerk:李明", "attach", CASE, "{files}/report.txt", "--title", "风险评估报告"],
    "audit checkpoint": ["audit", "checkpoint", "--out", "{files}/out/checkpoint.json"],
    "audit prove": ["audit", "prove", CASE, "1"],
    "clock set": ["--as", "admin:系统管理员", "clock", "set", "2025-09-02T10:00:00+08:00"],
    "due": ["due"],
    "comments show": ["comments", "show", CASE],
    "user list": ["user", "list"],
    "calendar list": ["calendar", "list"],
}
SHORT = ("case show", "case list", "audit verify", "record", "case launch")

# A payload that does not decode is damage to one case: the commands that never decode that case's events go on
# working (the chain and the checkpoint still hold; `audit verify` names the event). Every other kind damages the file.
READS_THE_CASE = {"case show", "case list", "audit verify", "record", "audit replay", "attach", "due"}


def expected_exit(kind: str, command: str) -> int:
    """What the contract says a command does on a workspace with this damage."""
    if kind == "mismatched-payload" and command not in READS_THE_CASE:
        return 0
    return 4


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one case (launched, consultation opened) and the installation key; WAL folded in."""
    root = tmp_path_factory.mktemp("damage")
    ws = new_workspace(root / "ws")
    d = Driver(ws)
    d.launch()
    d.record("consultation-opened")
    from flows.usecases.proofs import installation_key

    installation_key(ws)
    ws.engine.dispose()
    settle(ws.home / "juece.db")
    files = root / "files"
    files.mkdir()
    (files / "activity.json").write_text(json.dumps(payload("participation-activity-held", held_on="2025-09-01"),
                                                    ensure_ascii=False), encoding="utf-8")
    (files / "report.txt").write_text("社会稳定风险评估报告\n", encoding="utf-8")
    (files / "out").mkdir()
    assert AUDITOR  # the auditor runs audit commands without --as (no accounts in this workspace)
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(home: Path, files: Path, argv: list[str], *, as_json: bool = False) -> subprocess.CompletedProcess[str]:
    args = [a.replace("{files}", str(files)) for a in argv] + (["--json"] if as_json else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    return subprocess.run([JUECE, "--home", str(home), *args], capture_output=True, text=True, timeout=300, env=env)


def copy_of(intact: Path, dest: Path) -> tuple[Path, Path]:
    shutil.copytree(intact, dest)
    return dest / "ws", dest / "files"


def check_damaged(intact: Path, tmp_path: Path, kind: str, command: str, *, as_json: bool = False) -> None:
    home, files = copy_of(intact, tmp_path / "w")
    DAMAGE[kind](home / "juece.db")
    before, before_files = snapshot(home), snapshot(files)
    r = run(home, files, COMMANDS[command], as_json=as_json)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    want = expected_exit(kind, command)
    assert r.returncode == want, f"{kind} × {command}: exit {r.returncode}, want {want}\n{out}"
    if want == 0:
        return
    if as_json:  # one JSON object: the error object, or audit verify's report naming the damaged event
        doc = json.loads(r.stdout)
        if "error" in doc:
            assert doc["error"]["exit_code"] == 4 and doc["error"]["code"] == "damaged-store", doc
        message = json.dumps(doc, ensure_ascii=False)
    else:
        message = out
    assert "damaged" in message or "missing" in message, message
    assert "docs/deployment.md" in message and "Restoring a damaged case store" in message, message
    assert snapshot(home) == before, f"{kind} × {command} changed the workspace"
    assert snapshot(files) == before_files, f"{kind} × {command} left a file"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_works_on_the_intact_workspace(intact: Path, tmp_path: Path, command: str) -> None:
    """The control: each command succeeds on an undamaged copy, so the damage runs below can fail."""
    home, files = copy_of(intact, tmp_path / "w")
    r = run(home, files, COMMANDS[command])
    assert r.returncode == 0, f"{command}: exit {r.returncode}\n{r.stdout}{r.stderr}"


@pytest.mark.parametrize("command", SHORT)
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damage_is_exit_4_naming_it_and_nothing_written(intact: Path, tmp_path: Path, kind: str, command: str) -> None:
    check_damaged(intact, tmp_path, kind, command)


NO_JSON = {"audit prove"}  # prints the proof itself (PRODUCT.md)


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damage_every_command_long(intact: Path, tmp_path: Path, kind: str, command: str, as_json: bool) -> None:
    if as_json and command in NO_JSON:
        pytest.skip(f"{command} has no --json")
    check_damaged(intact, tmp_path, kind, command, as_json=as_json)


# --- a workspace that cannot be written ---------------------------------------------------------------------------

def _as_unprivileged() -> list[str]:
    """Tests run as root here, and root writes through any file mode: the commands run as `nobody` instead."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run juece as an unprivileged user"
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def read_only(intact: Path):
    """A copy of the intact workspace that nobody may write (every file and folder a-w), where `nobody` can reach it."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="juece-ro-"))
    os.chmod(root, 0o755)
    shutil.copytree(intact, root / "w")
    for p in [root / "w", *(root / "w").rglob("*")]:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    yield root / "w"
    for p in [root / "w", *(root / "w").rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    shutil.rmtree(root)


WRITING = ("record", "case launch", "attach", "clock set")


@pytest.mark.parametrize("command", [*WRITING, "case show", "case list", "audit verify"])
def test_read_only_workspace_is_exit_1_in_one_sentence(read_only: Path, command: str) -> None:
    home, files = read_only / "ws", read_only / "files"
    before, before_files = snapshot(home), snapshot(files)
    argv = [a.replace("{files}", str(files)) for a in COMMANDS[command]]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(read_only), "LANG": "C.UTF-8"}
    r = subprocess.run([*_as_unprivileged(), JUECE, "--home", str(home), *argv], capture_output=True, text=True,
                       timeout=300, env=env)
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out
    assert r.returncode == 1, f"{command}: exit {r.returncode}\n{out}"
    assert "cannot be written" in r.stderr and "nothing was written" in r.stderr, out
    assert len(r.stderr.strip().splitlines()) == 1, out
    assert snapshot(home) == before and snapshot(files) == before_files
    assert sorted(p.name for p in home.iterdir()) == sorted(["juece.db", "workspace.json", "keys"]), list(home.iterdir())

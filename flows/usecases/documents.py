"""Documents: a content-addressed store in the workspace (`blobs/sha256/ab/<hex>`). Storage names are the content's
sha256, never anything from input; display names keep their Chinese. Attaching records `document-attached`."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flows.usecases.unit_of_work import command_key, load_case, pack_of
from flows.usecases.clock import now
from flows.usecases.workspace import Actor, Workspace, read_facts
from models import store
from models.db import read_transaction, write_transaction
from models.store import NewEvent
from models.text import clean_name
from policies.errors import BadInput
from policies.rules.order import require_role

_CHUNK = 1 << 20
_SEPARATORS = re.compile(r"[\\/／＼]")


@dataclass(frozen=True)
class Attached:
    """What `attach` did."""

    case_id: str
    seq: int
    sha256: str
    size: int
    display_name: str
    repeated: bool = False

    def to_json(self) -> dict[str, object]:
        """JSON form."""
        return self.__dict__.copy()


def blob_path(ws: Workspace, sha256: str) -> Path:
    """Where a blob lives; the path is built from the hash alone."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise BadInput(f"{sha256!r} is not a sha256 digest", field="sha256")
    return ws.home / "blobs" / "sha256" / sha256[:2] / sha256


def put_blob(ws: Workspace, source: Path) -> tuple[str, int, bool]:
    """Copy a file into the store (durably: fsync, then rename); returns (sha256, size, whether this call created the
    blob — only such a blob may be removed again if the record is then refused: blobs are shared by content)."""
    digest = hashlib.sha256()
    size = 0
    folder = ws.home / "blobs" / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        src = source.open("rb")
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror}", field="FILE") from exc
    if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):  # /dev/zero, a pipe: no end to read to
        src.close()
        raise BadInput(f"{source} is not a regular file; attach a document saved as a file", field="FILE")
    with src, tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            tmp.write(chunk)
        tmp.flush()
        os.fsync(tmp.fileno())
    hexdigest = digest.hexdigest()
    final = blob_path(ws, hexdigest)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        os.unlink(tmp.name)
        return hexdigest, size, False
    os.replace(tmp.name, final)
    return hexdigest, size, True


def blob_intact(ws: Workspace, sha256: str) -> bool:
    """True when the stored blob exists and still hashes to its name."""
    path = blob_path(ws, sha256)
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def display_name(raw: str) -> str:
    """The name shown to people: the last path component (any slash, full-width too), cleaned; never a path."""
    name = _SEPARATORS.split(raw)[-1].strip()
    if name in ("", ".", "..", "．", "．．"):
        raise BadInput(f"{raw!r} does not name a file", field="--name")
    try:
        return clean_name(name)[:200]
    except ValueError as exc:
        raise BadInput(f"the file name {raw!r}: {exc}", field="--name") from exc


def attach(
    ws: Workspace,
    actor: Actor,
    case_id: str,
    source: Path,
    *,
    name: str | None = None,
    title: str = "",
    non_disclosure_basis: str | None = None,
) -> Attached:
    """Store a document and record it on the case (依法不予公开 material is marked with its legal basis)."""
    if non_disclosure_basis is not None and not non_disclosure_basis.strip():
        # asked for 依法不予公开 without its basis: refused, never recorded as public instead
        raise BadInput("--non-disclosure needs the legal basis for withholding the document (依法不予公开的依据), e.g. "
                       "政府信息公开条例第十四条", field="--non-disclosure")
    shown = display_name(name or source.name)
    with read_transaction(ws.engine) as conn:  # refuse an unknown case or a role before any file is written
        _, state = load_case(conn, case_id)
        require_role(pack_of(state), actor.role, "document-attached", "attach documents to a case")
    sha, size, created = put_blob(ws, source)
    try:
        return _record_attached(ws, actor, case_id, sha, size, shown, title, non_disclosure_basis)
    except BaseException:
        if created:  # refused or failed after all (a race, a full disk): no blob without its record
            blob_path(ws, sha).unlink(missing_ok=True)
        raise


def _record_attached(ws: Workspace, actor: Actor, case_id: str, sha: str, size: int, shown: str, title: str,
                     non_disclosure_basis: str | None) -> Attached:
    from models.events import SCHEMA_VERSION, DocumentAttached  # pydantic: here, so that `audit verify`'s workers,
    # which only check blobs (`blob_intact`), do not import it

    payload = DocumentAttached(
        sha256=sha,
        size=size,
        display_name=shown,
        media_type=mimetypes.guess_type(shown)[0] or "application/octet-stream",
        title=title,
        disclosure="non-disclosure" if non_disclosure_basis else "public",
        disclosure_basis=non_disclosure_basis or "",
    )
    body = payload.model_dump(mode="json")
    key = "attach:" + command_key(case_id, body, actor.label)
    with write_transaction(ws.engine) as conn:
        existing = store.find_by_key(conn, key)
        if existing is not None:
            return Attached(case_id, existing.seq, sha, size, shown, repeated=True)
        facts = read_facts(conn)
        events, state = load_case(conn, case_id)
        pack = pack_of(state)
        require_role(pack, actor.role, "document-attached", "attach documents to a case")
        (stored,) = store.append(
            conn, case_id, events,
            [NewEvent("document-attached", SCHEMA_VERSION, body, actor.label, actor.role, key, pack.id, pack.hash)],
            now(facts),
        )
    return Attached(case_id, stored.seq, sha, size, shown)

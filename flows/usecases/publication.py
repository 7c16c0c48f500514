"""Verifying a published copy of a decision against its record: anyone can check a web copy or a file against the
sha256 recorded with `decision-published`. (The Sanya plan this project started from was found on a government site
with 关于 and 政府信息公开 replaced by casino spam.) When the decision text itself is in the document store, the first
difference is shown."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.adapters import http
from flows.usecases.documents import blob_path
from flows.usecases.unit_of_work import load_case, pack_of
from flows.usecases.workspace import Workspace
from models.db import read_transaction
from policies.errors import BadInput, PortalRefused, RuleRefusal, TransientFailure, TransientPortalError
from policies.findings import Finding
from policies.limits import read_bounded

FETCH_TIMEOUT = http.timeout(20.0, connect=10.0)
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CopyVerdict:
    """Whether a copy matches the recorded text."""

    case_id: str
    source: str
    recorded_sha256: str
    copy_sha256: str
    difference: str = ""

    @property
    def matches(self) -> bool:
        """True when the copy is byte for byte the recorded text."""
        return self.recorded_sha256 == self.copy_sha256

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.__dict__, "matches": self.matches}


def fetch(url: str, *, transport: http.Transport | None = None) -> bytes:
    """The bytes at a URL (http or https), streamed and read to at most MAX_BYTES + 1; failures and a body over the
    cap are bad input naming the URL."""
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"{url!r} is not an http(s) address", field="--url")
    try:
        r = http.get(url, timeout=FETCH_TIMEOUT, follow_redirects=True,
                     headers={"User-Agent": "juece-publication-verify/1"}, transport=transport, max_bytes=MAX_BYTES)
    except TransientFailure as exc:
        if "status" in exc.details:
            raise BadInput(f"{url} answered HTTP {exc.details['status']}; nothing to verify", field="--url") from exc
        raise BadInput(f"cannot fetch {exc.message}", field="--url") from exc
    if r.status != 200:
        raise BadInput(f"{url} answered HTTP {r.status}; nothing to verify", field="--url")
    if r.over:  # the download stopped one byte past the cap: an endless or oversized body is never read whole
        raise BadInput(f"{url} sends more than {MAX_BYTES:,} bytes (64 MiB, the most `publication verify` reads); "
                       "nothing was verified",
                       field="--url", limit=MAX_BYTES)
    return r.content


def _first_difference(original: bytes, copy: bytes) -> str:
    """'line 1: recorded «…关于…» — copy «…金牌娱乐…»' for text; empty for binary copies."""
    try:
        a, b = original.decode("utf-8").splitlines(), copy.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return ""
    for i, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            return f"line {i}: recorded «{x[:120]}» — copy «{y[:120]}»"
    if len(a) != len(b):
        return f"the copy has {len(b)} lines, the recorded text {len(a)}"
    return "the texts differ only in line endings or encoding"


def _publication(ws: Workspace, case_id: str, purpose: str) -> tuple[Any, Any]:
    """(the case state, its last `decision-published` payload); refused (PUB-01) when nothing was published."""
    with read_transaction(ws.engine) as conn:
        _, state = load_case(conn, case_id)
    published = state.records("decision-published")
    if not published:
        info = pack_of(state).rules["PUB-01"]
        f = Finding("PUB-01", info.article, "HARD", f"{case_id} has no published decision recorded, so there is {purpose}.", {})
        raise RuleRefusal(f.sentence(), findings=[f])
    return state, published[-1]


def verify_copy(ws: Workspace, case_id: str, content: bytes, source: str) -> CopyVerdict:
    """Compare a copy's sha256 with the one recorded when the decision was published."""
    _, published = _publication(ws, case_id, "no text to verify a copy against")
    recorded = published["text_sha256"]
    digest = hashlib.sha256(content).hexdigest()
    difference = ""
    if digest != recorded and blob_path(ws, recorded).is_file():
        difference = _first_difference(blob_path(ws, recorded).read_bytes(), content)
    return CopyVerdict(case_id, source, recorded, digest, difference)


def read_copy(path: Path) -> bytes:
    """A local copy's bytes, at most MAX_BYTES of them read."""
    return read_bounded(path, MAX_BYTES, "--file")


# --- posting the decision to a publication portal ---------------------------------------------------------------


def post_to_portal(url: str, case_id: str, title: str, text: bytes, sha256: str, *,
                   transport: http.Transport | None = None) -> str:
    """POST the decision text to the portal once; returns the address it was published at (the portal's `url`).
    `TransientPortalError` (retried by the flow) when unreachable or 5xx, `PortalRefused` on a 4xx."""
    files = {"text": ("decision.txt", text, "text/plain; charset=utf-8")}
    data = {"case_id": case_id, "title": title, "sha256": sha256}
    try:
        r = http.post(url, timeout=FETCH_TIMEOUT, data=data, files=files, transport=transport)
    except TransientFailure as exc:
        raise TransientPortalError(exc.message, **exc.details) from exc
    if r.status >= 400:
        raise PortalRefused(f"the portal {url} refused the decision: HTTP {r.status} {r.text[:200]}", field="--portal")
    try:
        where = r.json()["url"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PortalRefused(f"the portal {url} answered without the address it published at (JSON {{\"url\": …}})",
                            field="--portal") from exc
    return str(where)


def published_text(ws: Workspace, case_id: str) -> tuple[str, str, bytes]:
    """(title, sha256, bytes) of the decision text recorded as published, from the document store."""
    state, published = _publication(ws, case_id, "nothing to post")
    sha = published["text_sha256"]
    path = blob_path(ws, sha)
    if not path.is_file():
        raise BadInput(f"the decision text (sha256 {sha[:12]}…) is not in the document store; `juece attach` it first",
                       field="CASE")
    return state.title, sha, path.read_bytes()


def record_posted(ws: Workspace, actor: Any, case_id: str, portal: str, where: str, sha: str) -> int:
    """Record where the decision was posted (idempotent: the same post is recorded once)."""
    from flows.usecases.record import record_in
    from flows.usecases.clock import local_date, now
    from flows.usecases.workspace import read_facts
    from models.db import write_transaction
    from models.events import DecisionPosted

    with write_transaction(ws.engine) as conn:
        today = local_date(now(read_facts(conn)))
        payload = DecisionPosted(portal=portal, url=where, text_sha256=sha, posted_on=today)
        recorded, refusal = record_in(conn, actor, case_id, "decision-posted", payload, {},
                                      f"posted:{case_id}:{portal}:{sha}")
    if refusal is not None:
        raise refusal
    assert recorded is not None
    return recorded.seq

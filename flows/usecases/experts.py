"""The expert pool (决策咨询论证专家库) and recorded random draws of a panel (条例 arts. 20–21).

A draw excludes experts who declared an interest in the case's units or organ (EXP-04: 不得选择与决策事项有直接利害
关系的专家), prefers differing views by drawing round-robin across stances, and is recorded on the case with its seed,
the pool's hash and every exclusion — so anyone can repeat the draw and get the same panel.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from flows.adapters.json_text import parse_json_text
from flows.usecases.record import Recorded, record_in
from flows.usecases.unit_of_work import command_key, load_case, pack_of
from flows.usecases.clock import local_date, now
from flows.usecases.workspace import Actor, Workspace, read_facts, read_workspace_facts
from models import store
from models.canonical import canonical_bytes, sha256_hex
from models.db import write_transaction
from models.events import SCHEMA_VERSION, ExpertPanelDrawn, ExpertsImported, PoolExpert
from models.store import WORKSPACE_STREAM, NewEvent
from policies.errors import BadInput
from policies.limits import MAX_BYTES, read_bounded
from policies.pack import load_pack
from policies.rules.order import require_role


def _rows(path: Path) -> list[dict[str, Any]]:
    data = read_bounded(path, MAX_BYTES, "FILE")  # LIM-01: the pool becomes one recorded payload
    if path.suffix.lower() != ".csv":
        data = parse_json_text(data.removeprefix(b"\xef\xbb\xbf"), f"FILE {path}")
        if not isinstance(data, list):
            raise BadInput(f"{path}: expected a JSON list of experts", field="FILE")
        return data
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}", field="FILE") from exc
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        row = {k: (v or "").strip() for k, v in row.items() if k}
        row["interests"] = [i.strip() for i in row.get("interests", "").split(";") if i.strip()]
        rows.append(row)
    return rows


def import_experts(ws: Workspace, actor: Actor, path: Path, *, bank: str) -> int:
    """Load the pool from a bank's list (JSON list or CSV with name, affiliation, specialty, stance, interests)."""
    require_role(load_pack(), actor.role, "experts-imported", "maintain the expert pool (--as legal-office:NAME)")
    experts = []
    for i, row in enumerate(_rows(path), 1):
        try:
            experts.append(PoolExpert.model_validate(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise BadInput(f"{path}, expert {i}: {'.'.join(map(str, err['loc']))}: {err['msg']}", field="FILE") from exc
    if not experts:
        raise BadInput(f"{path} lists no experts", field="FILE")
    payload = ExpertsImported(bank=bank, sha256=sha256_hex(canonical_bytes([e.model_dump() for e in experts])), experts=tuple(experts))
    with write_transaction(ws.engine) as conn:
        facts = read_facts(conn)
        key = f"experts-imported:{payload.sha256}"
        if store.find_by_key(conn, key) is None:
            store.append(conn, WORKSPACE_STREAM, list(facts.events),
                         [NewEvent("experts-imported", SCHEMA_VERSION, payload.model_dump(mode="json"), actor.label, actor.role, key)],
                         now(facts))
    return len(experts)


def pool(ws: Workspace) -> tuple[str, str, list[PoolExpert]]:
    """The current pool: (bank, sha256, experts); empty when none was imported."""
    last = [e for e in read_workspace_facts(ws).events if e.type == "experts-imported"]
    if not last:
        return "", "", []
    p = last[-1].payload
    return p["bank"], p["sha256"], [PoolExpert.model_validate(e) for e in p["experts"]]


def _interested(expert: PoolExpert, parties: Sequence[str]) -> str | None:
    for interest in expert.interests:
        for party in parties:
            if interest and party and (interest in party or party in interest):
                return f"declared interest: {interest}"
    for party in parties:
        if party and (expert.affiliation in party or party in expert.affiliation):
            return f"works for {expert.affiliation}, a party to the decision"
    return None


def draw(experts: Sequence[PoolExpert], parties: Sequence[str], count: int, seed: str,
         specialty: str = "") -> tuple[list[PoolExpert], list[dict[str, str]]]:
    """Exclude interested experts, then draw round-robin across stances in a seeded random order (pure)."""
    eligible, excluded = [], []
    for e in experts:
        why = _interested(e, parties)
        if why:
            excluded.append({"name": e.name, "reason": why})
        elif not specialty or specialty in e.specialty:
            eligible.append(e)
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    groups: dict[str, list[PoolExpert]] = {}
    for e in sorted(eligible, key=lambda e: (e.stance, e.name)):
        groups.setdefault(e.stance or "(未表态)", []).append(e)
    for g in groups.values():
        rng.shuffle(g)
    order = sorted(groups)
    rng.shuffle(order)
    panel: list[PoolExpert] = []
    while len(panel) < count and any(groups.values()):
        for stance in order:
            if groups[stance] and len(panel) < count:
                panel.append(groups[stance].pop())
    return panel, excluded


def draw_panel(ws: Workspace, actor: Actor, case_id: str, *, count: int, seed: str | None = None,
               specialty: str = "") -> tuple[Recorded, list[PoolExpert], list[dict[str, str]]]:
    """Draw a panel for a case from the pool and record the draw."""
    if not 1 <= count <= 50:
        raise BadInput("--count must be between 1 and 50", field="--count")
    bank, digest, experts = pool(ws)
    if not experts:
        raise BadInput("the expert pool is empty; load it with `juece experts import FILE --bank NAME`", field="pool")
    with write_transaction(ws.engine) as conn:
        _, state = load_case(conn, case_id)
        pack_of(state)
        facts = read_facts(conn)
        moment = now(facts)
        seed = seed or command_key(case_id, digest, moment.isoformat())[:16]
        parties = [state.organ, state.lead_unit, *state.co_units]
        panel, excluded = draw(experts, parties, count, seed, specialty)
        if len(panel) < count:
            raise BadInput(f"only {len(panel)} eligible experts for a panel of {count}"
                           f"{' in ' + specialty if specialty else ''} ({len(excluded)} excluded for interests)", field="--count")
        payload = ExpertPanelDrawn(drawn_on=local_date(moment), pool_sha256=digest, seed=seed, specialty=specialty,
                                   excluded=tuple(excluded), drawn=tuple(panel))
        recorded, refusal = record_in(conn, actor, case_id, "expert-panel-drawn", payload, {})
    if refusal is not None:
        raise refusal
    assert recorded is not None
    return recorded, panel, excluded

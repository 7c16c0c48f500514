"""Adjusting a decision in execution (条例 art. 37): a stop, amendment or repeal opens a child case that goes through
the statutory procedure again (ADJ-03); the adjustment takes effect with `adjustment-completed` once the child case
is decided (ADJ-01). The head's urgent suspension is an ordinary `record … adjustment-decided` (ADJ-02)."""

from __future__ import annotations

from typing import Any

from flows.usecases.launch import launch_in
from flows.usecases.record import Recorded, record_in, validate_payload
from flows.usecases.unit_of_work import load_case, pack_of
from flows.usecases.workspace import Actor, Workspace
from models.db import write_transaction

KIND_ZH = {"stop": "停止执行", "amend": "变更", "repeal": "废止"}


def open_adjustment(
    ws: Workspace, actor: Actor, case_id: str, *, kind: str, ground: str, decided_on: str
) -> tuple[str, Recorded]:
    """Open a child case for a stop, amendment or repeal and record the decision to do so on the parent, atomically."""
    from policies.errors import BadInput

    if kind not in KIND_ZH:
        raise BadInput(f"--kind {kind!r}: expected stop, amend or repeal (a suspension is recorded by the head)", field="--kind")
    with write_transaction(ws.engine) as conn:
        _, parent = load_case(conn, case_id)
        pack = pack_of(parent)
        fields: dict[str, Any] = dict(
            title=f"{parent.title}（{KIND_ZH[kind]}）",
            category=parent.category,
            organ=parent.organ,
            lead_unit=parent.lead_unit,
            co_units=parent.co_units,
            catalog_item=parent.catalog_item,
            flags=tuple(sorted(parent.flags)),
            parent_case=case_id,
            adjustment=kind,
            decided_on=decided_on,
        )
        child_id, _ = launch_in(conn, actor, pack, f"adjust:{case_id}:{kind}:{decided_on}", fields)
        payload = validate_payload(
            "adjustment-decided", {"decided_on": decided_on, "kind": kind, "ground": ground, "child_case": child_id}
        )
        recorded, refusal = record_in(conn, actor, case_id, "adjustment-decided", payload, {})
        if refusal is not None:
            raise refusal  # rolls back the child case too
    assert recorded is not None
    return child_id, recorded

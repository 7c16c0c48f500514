"""Reading one case's records as they were recorded (for the console's dossier page)."""

from __future__ import annotations

from typing import Any

from flows.usecases.cases import _load_case
from flows.usecases.workspace import Workspace
from models.db import read_transaction


def case_records(ws: Workspace, case_id: str) -> list[dict[str, Any]]:
    """Every event of a case: seq, type, when, who (actor and role), the payload and acknowledged warnings."""
    with read_transaction(ws.engine) as conn:
        events, _ = _load_case(conn, case_id)
    return [{"seq": e.seq, "type": e.type, "recorded_at": e.recorded_at, "actor": e.actor, "role": e.role,
             "payload": e.payload, "acknowledgements": e.acknowledgements} for e in events]

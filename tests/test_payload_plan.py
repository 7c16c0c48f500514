"""models/payload_plan.py is what scripts/gen_payload_plan.py writes from the payload models today: replay decodes
stored payloads by that plan without importing pydantic, so a plan left stale by a model change would decode by the
old shapes. (tests/test_replay_equivalence.py checks the decoding itself against pydantic, value for value.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from models.events import ENGINE_EVENTS, EVENT_TYPES, RECORDABLE, SCHEMA_VERSION
from models.payload_plan import PLAN
from models.payload_shapes import describe, plan, recording, render

ROOT = Path(__file__).resolve().parents[1]


def test_the_plan_on_disk_is_the_plan_of_the_models() -> None:
    on_disk = (ROOT / "models" / "payload_plan.py").read_text(encoding="utf-8")
    want = render(plan(EVENT_TYPES), recording(EVENT_TYPES), schema_version=SCHEMA_VERSION, engine_events=ENGINE_EVENTS)
    assert on_disk == want, "models/payload_plan.py is stale: run `python scripts/gen_payload_plan.py`"
    from models import payload_plan

    assert (payload_plan.RECORDABLE, payload_plan.ENGINE_EVENTS, payload_plan.SCHEMA_VERSION) == (
        RECORDABLE, ENGINE_EVENTS, SCHEMA_VERSION)


def test_every_event_type_has_a_shape_and_the_check_can_fail() -> None:
    assert set(PLAN) == set(EVENT_TYPES)
    missing = sorted(name for name, shape in PLAN.items() if shape is None)
    assert missing == [], f"no stored shape for {missing}: replay would validate them through pydantic"
    # a model the description does not know (a field type it cannot say exactly) has no shape
    from pydantic import BaseModel, ConfigDict

    class Odd(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        ratio: float

    assert describe(Odd) is None
    changed = dict(PLAN, **{"clock-set": None})
    assert render(changed, {}) != render(PLAN, {})


def test_replay_reads_the_plan_not_the_models(tmp_path: Path) -> None:
    """Decoding a stored payload of every kind in validated form imports neither pydantic nor the models."""
    code = (
        "import sys\n"
        "from models.state import fast_decoder\n"
        "from models.payload_plan import PLAN\n"
        "assert all(fast_decoder(name) is not None for name in PLAN)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core') or m == 'models.events'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""Write models/payload_plan.py: every event type's stored payload shape, read from the pydantic models
(models/payload_shapes.py), so that replay decodes without importing pydantic. Run after changing models/events.py;
tests/test_payload_plan.py fails until you do."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.events import ENGINE_EVENTS, EVENT_TYPES, SCHEMA_VERSION  # noqa: E402
from models.payload_shapes import plan, recording, render  # noqa: E402

TARGET = ROOT / "models" / "payload_plan.py"


def main() -> None:
    TARGET.write_text(render(plan(EVENT_TYPES), recording(EVENT_TYPES), schema_version=SCHEMA_VERSION,
                                engine_events=ENGINE_EVENTS), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(EVENT_TYPES)} event types)")


if __name__ == "__main__":
    main()

"""The base of every event payload model (models/events.py, models/account_events.py), in a module of its own so
that the account events can build on it while the registry in models/events.py lists them, whichever is imported
first."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every event payload: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False, defer_build=True)

    event_type: ClassVar[str]
    stage: ClassVar[str | None] = None
    kind: ClassVar[str] = "activity"
    # Date fields that may lie in the future when recorded (a deadline, a scheduled day); all others may not.
    future_dates: ClassVar[frozenset[str]] = frozenset()
    # Fields a new record must give, non-empty (bad input naming the field otherwise); earlier records that lack them
    # still read back, so they are required here rather than in the field's type.
    required_on_record: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON Schema, with the fields a new record must give marked required."""
        schema = super().model_json_schema(*args, **kwargs)
        if cls.required_on_record:
            schema["required"] = list(dict.fromkeys([*schema.get("required", []), *cls.required_on_record]))
            for name in cls.required_on_record:
                prop = schema.get("properties", {}).get(name, {})
                if prop.get("type") == "array":
                    prop["minItems"] = max(1, prop.get("minItems", 0))
        return schema
    example: ClassVar[dict[str, Any]] = {}

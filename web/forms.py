"""Forms built from an event's JSON Schema: one input per top-level field (dates, choices, text), structured fields
(lists and objects) as JSON text areas prefilled from the event's example; and the form's values back into a payload.
Presentation only: the payload is validated and judged by the same use case the command line calls."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import orjson

from models.events import EVENT_TYPES
from policies.errors import BadInput
from web.labels import field_label


@dataclass(frozen=True)
class FormField:
    """One input of an event's form."""

    name: str
    label: str
    kind: str  # date | text | textarea | enum | bool | int | json
    required: bool
    options: tuple[str, ...]
    value: str
    hint: str


def _resolve(prop: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The property's schema without the `null` branch, and whether null is allowed."""
    if "anyOf" in prop:
        branches = [b for b in prop["anyOf"] if b.get("type") != "null"]
        return (branches[0] if len(branches) == 1 else {"type": "object"}), len(branches) < len(prop["anyOf"])
    return prop, False


def _kind(prop: Mapping[str, Any]) -> str:
    if "$ref" in prop or prop.get("type") in ("array", "object"):
        return "json"
    if "enum" in prop:
        return "enum"
    if prop.get("format") == "date":
        return "date"
    if prop.get("type") == "boolean":
        return "bool"
    if prop.get("type") in ("integer", "number"):
        return "int"
    if prop.get("maxLength", 20000) > 300:
        return "textarea"
    return "text"


@lru_cache(maxsize=None)
def _schema(event: str) -> Mapping[str, Any]:
    # Building a JSON Schema costs ~4 ms an event; a case page shows several forms on every request.
    return EVENT_TYPES[event].model_json_schema(by_alias=True)


def form_fields(event: str, values: Mapping[str, str] | None = None) -> list[FormField]:
    """The inputs of `event`'s form, with the submitted values (or the example's) filled in."""
    model = EVENT_TYPES[event]
    schema = _schema(event)
    required = set(schema.get("required", ()))
    example = model.example
    out = []
    for name, raw in schema.get("properties", {}).items():
        prop, _nullable = _resolve(raw)
        kind = _kind(prop)
        if values is not None:
            value = values.get(name, "")
        else:
            ex = example.get(name)
            if ex is None:
                value = ""
            elif kind == "json":
                value = orjson.dumps(ex, option=orjson.OPT_INDENT_2).decode()
            elif kind == "bool":
                value = "on" if ex else ""
            else:
                value = str(ex)
        hint = "JSON" if kind == "json" else ("YYYY-MM-DD" if kind == "date" else "")
        out.append(FormField(name, field_label(name), kind, name in required, tuple(prop.get("enum", ())), value, hint))
    return out


def payload_from_form(event: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The payload a submitted form describes; a JSON field that does not parse is bad input naming the field."""
    payload: dict[str, Any] = {}
    for f in form_fields(event, form):
        raw = form.get(f.name, "")
        if f.kind == "bool":
            if f.name in form or f.required:
                payload[f.name] = raw in ("on", "true", "1", "yes")
            continue
        if raw.strip() == "":
            continue  # left empty: the schema's default, or the validator names the missing field
        if f.kind == "json":
            try:
                payload[f.name] = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise BadInput(f"{f.name}: not valid JSON ({exc})", field=f.name) from exc
        elif f.kind == "int":
            try:
                payload[f.name] = int(raw.strip())
            except ValueError as exc:
                raise BadInput(f"{f.name}: expected a whole number", field=f.name) from exc
        else:
            payload[f.name] = raw.strip() if f.kind in ("date", "enum") else raw
    return payload

"""The payload models' stored shapes as plain data, for replay to decode without pydantic (models/state.py).

`describe(model)` reads pydantic's public description of a payload model (`model_fields`, `model_config`,
`model_computed_fields`, `model_post_init`) and says, field by field, what its validation accepts — but only for the
field types whose validation this description captures exactly; for anything else it says None, and that event type
always takes the pydantic path. `scripts/gen_payload_plan.py` writes the result for every event type to
models/payload_plan.py, so that `juece case show` decodes a history without importing pydantic or building the ~70
models (0.3 s of every start); tests/test_payload_plan.py fails when that file is stale.

A shape is a tuple:
  ("str", min_len, max_len | None, strip_whitespace, pattern | None, normalisers)  accepted only at its fixed point
  ("date",)  ("bool",)  ("int", min | None, max | None)  ("literal", values)
  ("optional", shape)  ("tuple", min_len, max_len | None, shape)  ("dict", "any" | "str")
  ("model", ((key, shape), ...))
`pattern` is a Python regex whose `fullmatch` accepts exactly what pydantic's (Rust) regex accepts; `normalisers`
name functions of models/text.py that return their input unchanged exactly when it is in the validated form.
"""

from __future__ import annotations

import pprint
import types
import typing
from datetime import date
from typing import Any, Mapping, Sequence

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, StringConstraints

from models.text import clean_name, iso_date, nfc

Shape = tuple[Any, ...]

# Patterns as pydantic's models write them -> the Python regex that `fullmatch`es exactly the same strings.
KNOWN_PATTERNS = {r"^[0-9a-f]{64}$": r"[0-9a-f]{64}"}
NORMALISERS = {clean_name: "clean_name", nfc: "nfc"}
# Model settings that leave validation as the shapes describe it (anything else: the pydantic path, always).
CONFIG_OK = {"frozen": (True, False), "extra": ("forbid", "ignore"), "str_strip_whitespace": (False,),
             "defer_build": (True, False)}


def _known_patterns() -> dict[str, str]:
    from models.events import DISPOSITION_TARGET

    return {**KNOWN_PATTERNS, DISPOSITION_TARGET: DISPOSITION_TARGET[1:-1]}


def _str_shape(meta: Sequence[Any]) -> Shape | None:
    lo, hi, strip = 0, None, False
    pattern: str | None = None
    funcs: list[str] = []
    for m in meta:
        if isinstance(m, StringConstraints):
            if any(getattr(m, a) is not None for a in ("to_upper", "to_lower", "strict", "ascii_only")):
                return None
            strip = strip or bool(m.strip_whitespace)
            if m.min_length is not None:
                lo = max(lo, m.min_length)
            if m.max_length is not None:
                hi = m.max_length if hi is None else min(hi, m.max_length)
            if m.pattern is not None:
                known = _known_patterns()
                if not isinstance(m.pattern, str) or m.pattern not in known:
                    return None
                pattern = known[m.pattern]
        elif isinstance(m, annotated_types.MinLen):
            lo = max(lo, m.min_length)
        elif isinstance(m, annotated_types.MaxLen):
            hi = m.max_length if hi is None else min(hi, m.max_length)
        elif isinstance(m, AfterValidator) and m.func in NORMALISERS:
            funcs.append(NORMALISERS[m.func])
        else:
            return None
    return ("str", lo, hi, strip, pattern, tuple(funcs))


def _shape(tp: Any, meta: Sequence[Any]) -> Shape | None:
    """What a field of type `tp` with `meta` accepts in stored form, or None when this description cannot say it
    exactly."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(tp)
        return _shape(base, [*meta, *extra])
    if tp is str:
        return _str_shape(meta)
    if tp is date:
        ok = len(meta) == 1 and isinstance(meta[0], BeforeValidator) and meta[0].func is iso_date
        return ("date",) if ok else None
    if tp is bool:
        return None if meta else ("bool",)
    if tp is int:
        lo: int | None = None
        hi: int | None = None
        for m in meta:
            if isinstance(m, annotated_types.Ge) and type(m.ge) is int:
                lo = m.ge
            elif isinstance(m, annotated_types.Le) and type(m.le) is int:
                hi = m.le
            else:
                return None
        return ("int", lo, hi)
    if origin is typing.Literal:
        values = typing.get_args(tp)
        if meta or not all(type(x) is str for x in values):
            return None
        return ("literal", tuple(values))
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        if meta or len(args) != 2 or len(inner) != 1:
            return None
        present = _shape(inner[0], ())
        return None if present is None else ("optional", present)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            return None
        lo_len, hi_len = 0, None
        for m in meta:
            if isinstance(m, annotated_types.MinLen):
                lo_len = m.min_length
            elif isinstance(m, annotated_types.MaxLen):
                hi_len = m.max_length
            else:
                return None
        item = _shape(args[0], ())
        return None if item is None else ("tuple", lo_len, hi_len, item)
    if origin is dict:
        args = typing.get_args(tp)
        if meta or len(args) != 2 or args[0] is not str:
            return None
        if args[1] is typing.Any:
            return ("dict", "any")
        if args[1] is str:
            return ("dict", "str")
        return None
    if isinstance(tp, type) and issubclass(tp, BaseModel) and not meta:
        return describe(tp)
    return None


def describe(model: type[BaseModel]) -> Shape | None:
    """A model's stored (dumped, JSON) shape, or None when it has anything this description does not know. A field's
    validation is what its annotation says (the payload models put every constraint and validator in `Annotated`;
    validator and serializer decorators are not used in models/events.py, which tests/test_replay_equivalence.py
    checks in the source)."""
    if model.model_computed_fields or model.model_post_init is not BaseModel.model_post_init:
        return None
    for key, value in model.model_config.items():
        if key not in CONFIG_OK or value not in CONFIG_OK[key]:
            return None
    fields: list[tuple[str, Shape]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.validation_alias not in (None, key) or info.serialization_alias not in (None, key) or info.exclude:
            return None
        if info.discriminator is not None or info.json_schema_extra is not None:
            return None
        shape = _shape(info.annotation, list(info.metadata))
        if shape is None:
            return None
        fields.append((key, shape))
    return ("model", tuple(fields))


def plan(event_types: Mapping[str, type[BaseModel]]) -> dict[str, Shape | None]:
    """Every event type's shape, by name, in the registry's order."""
    return {name: describe(model) for name, model in event_types.items()}


# Defaults a new payload may leave out and the fast check can fill in exactly: pydantic does not validate defaults,
# so the value is the default itself, and its JSON form is what `model_dump(mode="json")` writes.
_JSON_DEFAULTS: tuple[type, ...] = (str, bool, int, type(None))


def _default(info: Any) -> tuple[Any, Any] | None:
    """(python value, JSON value) of a field's default, or None when it is required or its default is not one the
    fast check fills in."""
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        made = info.default_factory()
        return ((), []) if made == () and type(made) is tuple else None
    if info.default is PydanticUndefined:
        return None
    if type(info.default) in _JSON_DEFAULTS:
        return (info.default, info.default)
    if type(info.default) is tuple and info.default == ():
        return ((), [])
    return None


def recording(event_types: Mapping[str, type[BaseModel]]) -> dict[str, Shape | None]:
    """What `record` needs to check a new payload of each type without pydantic (flows/usecases/record.py):
    (defaults: ((key, python value, JSON value), ...) of the fields it may leave out; the date fields that may lie in
    the future (`future_dates`); the fields a new record must give, non-empty (`required_on_record`)). None for a type without a stored
    shape, or with a default the fast check does not fill in (it then always takes the pydantic path)."""
    out: dict[str, Shape | None] = {}
    for name, model in event_types.items():
        if describe(model) is None:
            out[name] = None
            continue
        defaults: list[tuple[str, Any, Any]] = []
        ok = True
        for field, info in model.model_fields.items():
            key = info.alias or field
            if not info.is_required():
                found = _default(info)
                if found is None:
                    ok = False
                    break
                defaults.append((key, *found))
        future = tuple(sorted(getattr(model, "future_dates", frozenset())))
        required = tuple(getattr(model, "required_on_record", ()))
        out[name] = (tuple(defaults), future, required) if ok else None
    return out


def render(shapes: Mapping[str, Shape | None], new: Mapping[str, Shape | None], *, schema_version: int = 1,
           engine_events: frozenset[str] = frozenset()) -> str:
    """models/payload_plan.py's text."""
    recordable = tuple(name for name in shapes if name not in engine_events)
    body = pprint.pformat(dict(shapes), width=120, sort_dicts=False)
    new_body = pprint.pformat(dict(new), width=120, sort_dicts=False)
    return (
        '"""GENERATED by `python scripts/gen_payload_plan.py` from models/events.py: do not edit by hand.\n\n'
        "Each event type's stored payload shape (models/payload_shapes.py says what the tuples mean), so replay decodes\n"
        "a history without importing pydantic; None: that type always takes the pydantic path. tests/test_payload_plan.py\n"
        'fails when this file no longer matches the models."""\n\n'
        "from typing import Any\n\n"
        f"PLAN: dict[str, Any] = {body}\n\n"
        "# For a new record (models/payload_shapes.py `recording`): (defaults it may leave out as (key, value, JSON),\n"
        "# date fields that may lie in the future, fields it must give non-empty).\n"
        f"NEW: dict[str, Any] = {new_body}\n\n"
        "# models/events.py's SCHEMA_VERSION, ENGINE_EVENTS and RECORDABLE, for code that needs the names only.\n"
        f"SCHEMA_VERSION = {schema_version!r}\n"
        f"ENGINE_EVENTS = frozenset({pprint.pformat(sorted(engine_events), width=116)})\n"
        f"RECORDABLE = {pprint.pformat(recordable, width=120)}\n"
    )

"""Stored payloads decoded for the rules without pydantic, and new payloads checked the same way.

`decode_payload(type, json)` gives exactly what `payload_values` — the pydantic model's validate-and-dump — gives:
when the stored JSON is already in the model's validated form (what the engine stores: every field present, every
string already normalised) it checks exactly that, field by field, by the shapes models/payload_plan.py holds
(generated from the models by scripts/gen_payload_plan.py, checked by tests/test_payload_plan.py), and hands anything
else to `payload_values`, so the values (or the validation error) are the same either way. `check_new` does the same
for a payload someone is recording, filling in the defaults it left out. Neither imports pydantic or builds the ~70
payload models unless a payload needs them (≈0.3 s of a `juece case show` or `record`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Mapping, Sequence

from models.payload_plan import NEW, PLAN
from models.text import clean_name, nfc

def payload_values(event_type: str, payload_json: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded payload as plain values for the rules (dates as `date`), through its model (upcasting point)."""
    from models.events import EVENT_TYPES  # pydantic and the ~70 models: only when a payload needs them

    model = EVENT_TYPES[event_type]
    return model.model_validate(payload_json).model_dump(by_alias=True)


class _Slow(Exception):
    """The fast decoder cannot vouch for this value; the pydantic path decides."""


_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The normalisers a shape may name (models/payload_shapes.py): each returns its input unchanged exactly when it is
# already in the validated form.
_NORMALISERS: dict[str, Callable[[str], str]] = {"clean_name": clean_name, "nfc": nfc}
_Converter = Callable[[Any], Any]


def _str_converter(lo: int, hi: int | None, strip: bool, pattern_text: str | None,
                   names: Sequence[str]) -> _Converter:
    """A str field with its constraints and normalisers: accepted only at its fixed point."""
    pattern = re.compile(pattern_text) if pattern_text is not None else None
    fs = tuple(_NORMALISERS[n] for n in names)
    seen: dict[str, None] = {}  # short strings already found at their fixed point (names, units, roles recur)

    def conv(v: Any) -> Any:
        if type(v) is not str:
            raise _Slow
        if v in seen:
            return v
        n = len(v)
        if n < lo or (hi is not None and n > hi):
            raise _Slow
        if strip and v and (v[0].isspace() or v[-1].isspace()):  # Python's isspace covers Rust's trim set
            raise _Slow
        if pattern is not None and pattern.fullmatch(v) is None:
            raise _Slow
        for f in fs:
            if f(v) != v:
                raise _Slow
        if n <= 64:
            if len(seen) >= 4096:
                seen.clear()
            seen[v] = None
        return v

    return conv


_DAYS: dict[str, date] = {}  # 'YYYY-MM-DD' -> its date: a history names few distinct days, each many times
# The real `date.fromisoformat`, held as a function: a test that freezes time (freezegun) swaps every module attribute
# that *is* the date class for its fake one, and a fake date made while the clock was frozen would otherwise be
# remembered in `_DAYS` and handed out afterwards (pydantic's path always makes real dates).
_ISO_DATE = date.fromisoformat


def _date(v: Any) -> Any:
    if type(v) is str:
        d = _DAYS.get(v)
        if d is not None:
            return d
        if len(v) == 10 and _DATE_SHAPE.fullmatch(v):
            d = _ISO_DATE(v)
            if len(_DAYS) >= 65_536:
                _DAYS.clear()
            _DAYS[v] = d
            return d
    raise _Slow


def _bool(v: Any) -> Any:
    if type(v) is not bool:
        raise _Slow
    return v


def _converter(shape: Sequence[Any]) -> _Converter:
    """A converter from a stored JSON value to what the model's validate-and-dump gives, for a shape of
    models/payload_plan.py (models/payload_shapes.py says what each shape means)."""
    kind = shape[0]
    if kind == "str":
        return _str_converter(*shape[1:])
    if kind == "date":
        return _date
    if kind == "bool":
        return _bool
    if kind == "int":
        lo_int, hi_int = shape[1], shape[2]

        def conv_int(v: Any) -> Any:
            if type(v) is not int or (lo_int is not None and v < lo_int) or (hi_int is not None and v > hi_int):
                raise _Slow
            return v

        return conv_int
    if kind == "literal":
        allowed = frozenset(shape[1])

        def conv_literal(v: Any) -> Any:
            if type(v) is not str or v not in allowed:
                raise _Slow
            return v

        return conv_literal
    if kind == "optional":
        present = _converter(shape[1])

        def conv_optional(v: Any) -> Any:
            return None if v is None else present(v)

        return conv_optional
    if kind == "tuple":
        lo, hi, c = shape[1], shape[2], _converter(shape[3])

        def conv_tuple(v: Any) -> Any:
            if type(v) is not list or len(v) < lo or (hi is not None and len(v) > hi):
                raise _Slow
            return tuple([c(x) for x in v])

        return conv_tuple
    if kind == "dict":
        if shape[1] == "any":

            def conv_any_dict(v: Any) -> Any:
                if type(v) is not dict:
                    raise _Slow
                return dict(v)

            return conv_any_dict

        def conv_str_dict(v: Any) -> Any:
            if type(v) is not dict or any(type(x) is not str for x in v.values()):
                raise _Slow
            return dict(v)

        return conv_str_dict
    if kind == "model":
        return _model_decoder(shape[1])
    raise ValueError(f"unknown payload shape {kind!r} in models/payload_plan.py")


def _model_decoder(fields: Sequence[tuple[str, Sequence[Any]]]) -> _Converter:
    """A decoder for a model's stored (dumped, JSON) form: every field present, each at its fixed point."""
    plan = tuple((key, _converter(shape)) for key, shape in fields)
    count = len(plan)

    def decode(obj: Any) -> dict[str, Any]:
        if type(obj) is not dict or len(obj) != count:
            raise _Slow  # a missing field (a default to fill) or an unknown one: pydantic's call
        return {key: conv(obj[key]) for key, conv in plan}

    return decode


_DECODERS: dict[str, _Converter | None] = {}
# What a decoder raises for a value it cannot vouch for: its own refusal, a field missing under the right count
# (KeyError), a date of the right shape out of range or a name `clean_name` rejects (ValueError). Anything else is a
# bug and is not swallowed.
_NOT_VOUCHED = (_Slow, KeyError, ValueError)


def fast_decoder(event_type: str) -> _Converter | None:
    """The compiled fast decoder of an event type's payload (None: that type always takes the pydantic path)."""
    try:
        return _DECODERS[event_type]
    except KeyError:
        shape = PLAN[event_type]  # an unknown type: KeyError, as the registry would say
        _DEPTHS[event_type] = None if shape is None else shape_depth(shape)
        dec = _DECODERS[event_type] = None if shape is None else _converter(shape)
        return dec


def decode_payload(event_type: str, payload_json: Mapping[str, Any]) -> dict[str, Any]:
    """`payload_values(event_type, payload_json)`, without pydantic when the stored JSON is in validated form."""
    return decode_bounded(event_type, payload_json)[0]


def decode_bounded(event_type: str, payload_json: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    """`decode_payload`'s values, and how deep the stored JSON can nest: when the plan decoded it, it is exactly its
    shape (every field there, none more, each of its type), which bounds its depth (`shape_depth`); None when the
    model had to judge it (a field it ignores could nest any deeper)."""
    dec = _DECODERS.get(event_type) if event_type in _DECODERS else fast_decoder(event_type)
    if dec is not None:
        try:
            values: dict[str, Any] = dec(payload_json)
            return values, _DEPTHS[event_type]
        except _NOT_VOUCHED:
            pass  # not in the validated form: the model judges it, just below (same values, or its error)
    return payload_values(event_type, payload_json), None


_DEPTHS: dict[str, int | None] = {}  # event type -> shape_depth of its shape (set beside its decoder)


def shape_depth(shape: Sequence[Any]) -> int | None:
    """The deepest nesting of dicts and lists (`policies.limits.value_depth`) a JSON value of this shape can have,
    or None when it has no bound (a free-form dict)."""
    kind = shape[0]
    if kind in ("str", "date", "bool", "int", "literal"):
        return 0
    if kind == "optional":
        return shape_depth(shape[1])
    if kind == "tuple":
        inner = shape_depth(shape[3])
        return None if inner is None else 1 + inner
    if kind == "dict":
        return 1 if shape[1] == "str" else None
    if kind == "model":
        depths = [shape_depth(s) for _, s in shape[1]]
        known = [d for d in depths if d is not None]
        return None if len(known) < len(depths) else 1 + max(known, default=0)
    raise ValueError(f"unknown payload shape {kind!r} in models/payload_plan.py")


@dataclass(frozen=True)
class NewPayload:
    """A payload someone is recording, checked: `body` as it will be stored (JSON form, defaults filled in), `values`
    as the rules read it (`model_dump()`), `dated` its date fields that may not lie in the future."""

    event: str
    body: dict[str, Any]
    values: dict[str, Any]
    dated: dict[str, date]


def check_new(event_type: str, data: Mapping[str, Any]) -> NewPayload | None:
    """`data` checked as its model would check it, without pydantic, when it is in validated form apart from the
    defaults it leaves out; None when it is not (or its type has defaults this check does not fill in): the model
    must judge it (its values, or its errors naming the fields)."""
    meta = NEW.get(event_type)
    dec = fast_decoder(event_type) if event_type in PLAN else None
    if dec is None or meta is None or type(data) is not dict:
        return None
    defaults, future, _ = meta
    body = dict(data)
    python_defaults: dict[str, Any] = {}
    for key, value, json_value in defaults:
        if key not in body:
            body[key] = json_value
            python_defaults[key] = value
    try:
        values = dec(body)
    except _NOT_VOUCHED:
        return None
    body = {key: body[key] for key in values}  # the model's field order, as model_dump writes it
    values.update(python_defaults)  # a default is the value itself (pydantic does not validate defaults)
    dated = {k: v for k, v in values.items() if isinstance(v, date) and k not in future}
    return NewPayload(event_type, body, values, dated)


def required_on_record(event_type: str) -> tuple[str, ...]:
    """The fields a new record of this type must give, non-empty (the model's `required_on_record`)."""
    meta = NEW.get(event_type)
    if meta is not None:
        return tuple(meta[2])
    from models.events import EVENT_TYPES

    return tuple(EVENT_TYPES[event_type].required_on_record)

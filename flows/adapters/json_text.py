"""JSON a user hands over (a payload file, stdin, a calendar notice, an expert list), parsed as
`policies.limits.parse_json` does — within LIM-01 — and refused as bad input where Python's parser lets through what
nothing after it can hold: a number of more digits than Python converts (a ValueError, not a JSONDecodeError), and a
lone surrogate escape such as `\\ud800`, which is no character and cannot be written as UTF-8 (the canonical bytes, the
database, the JSON on stdout all fail on it)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from policies.errors import BadInput
from policies.limits import DEFAULT, PayloadLimits, parse_json

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def parse_json_text(data: bytes, where: str, limits: PayloadLimits = DEFAULT) -> Any:
    """The parsed value, or bad input naming `where`."""
    try:
        value = parse_json(data, where, limits)
    except ValueError as exc:  # parse_json turns JSONDecodeError into BadInput; what is left is int conversion
        raise BadInput(f"{where} holds a number of more than {sys.get_int_max_str_digits():,} digits, too long to "
                       "read; write it as text", field=where) from exc
    if _SURROGATE_ESCAPE.search(data):  # a pair (\ud83d\ude00) is one character; a lone half is none
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadInput(f"{where} holds a lone surrogate escape (\\u{ord(exc.object[exc.start]):04x}), which is "
                           "not a character; write the character itself", field=where) from exc
    return value

"""Text people typed, for the markdown of a Prefect artifact: shown as typed, never read as markdown or HTML."""

from __future__ import annotations

import re
from typing import Any

# The marks CommonMark (with GFM tables and strikethrough) reads as syntax in the middle of a line; a backslash makes
# each literal (`\<` is not a tag, `\|` does not end a cell). Line-start syntax (#, -, 1.) cannot occur: the text is
# joined to one line and always follows juece's own words.
_SYNTAX = re.compile(r"([\\`*_\[\]()!|<>~&])")


def md(value: Any) -> str:
    """`value` as literal markdown text on one line (a line break would end a table row)."""
    return _SYNTAX.sub(r"\\\1", " ".join(str(value).split()))

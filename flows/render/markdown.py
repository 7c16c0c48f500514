"""Text people typed, for the markdown of a Prefect artifact: shown as typed, never read as markdown or HTML."""

from __future__ import annotations

import re
from typing import Any

# Every ASCII punctuation mark CommonMark may read as syntax; a backslash makes each literal (`\<` is not a tag).
_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:\"'=$^%])")


def md(value: Any) -> str:
    """`value` as literal markdown text on one line (a line break would end a table row)."""
    return _SYNTAX.sub(r"\\\1", " ".join(str(value).split()))

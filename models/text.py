"""Text as the record keeps it: NFC, with zero-width and bidirectional controls refused in names and identifiers.

NFKC is for matching only, never for storing: it would rewrite Chinese full-width punctuation (，。：).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Zero-width characters and bidirectional controls (U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+2069,
# U+FEFF): invisible, and able to make a name read differently from what it is.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def nfc(value: str) -> str:
    """Normalise text to NFC and refuse control characters other than tab and newline."""
    if not value.isprintable() and _CONTROL.search(value):  # (every control character is unprintable)
        raise ValueError("control characters are not allowed in text")
    return unicodedata.normalize("NFC", value)


def clean_name(value: str) -> str:
    """A name or identifier: NFC, trimmed, no zero-width or bidirectional control characters, no line breaks."""
    value = nfc(value).strip()
    if not value.isprintable() and _INVISIBLE.search(value):  # (every one of them is unprintable)
        raise ValueError("zero-width and bidirectional control characters are not allowed in names")
    if "\n" in value or "\t" in value:
        raise ValueError("a name must be on one line")
    if not value:
        raise ValueError("must not be empty")
    return value


def iso_date(value: object) -> object:
    """Accept only YYYY-MM-DD strings (or date objects): no timestamps, no other formats."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")

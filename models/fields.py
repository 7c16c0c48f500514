"""The payload models' text and date field types (pydantic): what models/text.py's rules mean for a model field.

Kept apart from models/text.py so that code which only normalises or checks text (replay among it) does not import
pydantic."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from models.text import clean_name, iso_date, nfc

Text = Annotated[str, AfterValidator(nfc), StringConstraints(max_length=20000)]
NonEmptyText = Annotated[str, AfterValidator(nfc), StringConstraints(min_length=1, max_length=20000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(max_length=300), AfterValidator(clean_name)]
IsoDate = Annotated[date, BeforeValidator(iso_date)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

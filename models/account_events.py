"""The events of accounts, recorded in the `@workspace` stream like the clock and the calendar, so an auditor can tell
who held which role when (AUTH-01). They carry no credential material: password and token hashes live in their own
tables (models/credentials.py), never in the history an archive carries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from models.payload_base import Payload
from models.fields import Name

Role = Literal["legal-office", "clerk", "reviewer", "secretary", "head", "auditor", "archivist", "admin"]


class AccountAdded(Payload):
    """An account for a person, with the roles it starts with."""

    event_type = "account-added"
    name: Name
    roles: tuple[Role, ...] = Field(min_length=1)


class RoleGranted(Payload):
    """A role was granted to an account."""

    event_type = "role-granted"
    name: Name
    role: Role


class RoleRevoked(Payload):
    """A role was taken from an account."""

    event_type = "role-revoked"
    name: Name
    role: Role


class AccountDisabled(Payload):
    """An account was disabled: it signs in no more, its tokens and sessions stop working, it records nothing."""

    event_type = "account-disabled"
    name: Name


class TokenIssued(Payload):
    """An API token was issued to an account (its public id only; the token itself is shown once, kept as a hash)."""

    event_type = "token-issued"
    name: Name
    token_id: Name  # the first 12 hex digits of the token's sha256


ACCOUNT_EVENTS: tuple[type[Payload], ...] = (AccountAdded, RoleGranted, RoleRevoked, AccountDisabled, TokenIssued)

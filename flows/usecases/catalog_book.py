"""The decision catalogs as they stood: the `catalog-published` records of the `@workspace` stream folded into a
`CatalogBook`, registered as the standing fact `ctx.standing["catalogs"]` that SCP-05 reads at launch — built the
same way for the live check and for the auditor's re-check (flows/usecases/moments.py)."""

from __future__ import annotations

from typing import Iterable

from flows.usecases.moments import standing_fact
from models.payload_decode import decode_payload
from models.store import StoredEvent
from policies.catalog import CatalogBook, CatalogVersion, version_from_payload


def catalog_version_of(ev: StoredEvent) -> CatalogVersion:
    """One `catalog-published` record as the rules read it."""
    env = ev.envelope
    return version_from_payload(decode_payload(ev.type, env["payload"]), recorded_at=ev.recorded_at, seq=ev.seq,
                                policy=env.get("policy") or "", policy_hash=env.get("policy_hash") or "")


@standing_fact("catalogs", "catalog-published")
def catalog_book(events: Iterable[StoredEvent]) -> CatalogBook:
    """Every catalog version among `events` (in history order)."""
    return CatalogBook(tuple(catalog_version_of(ev) for ev in events if ev.type == "catalog-published"))

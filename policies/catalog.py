"""Decision catalogs (重大行政决策事项目录) as the rules read them: every published version of every organ's catalog,
and which version was current at a moment. Pure: built from recorded payloads, no I/O, no clock.

条例 art. 3(3): the organ may fix a catalog of decision items, published with the same-level Party committee's consent
and adjusted as needed; an adjustment is a new version. A case launched "for item N" is judged against the version of
its organ's catalog for its year that was current when the launch was recorded (CAL-08's rule for facts that change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping


@dataclass(frozen=True)
class CatalogVersion:
    """One published version of an organ's catalog for a year, as recorded (payload values, dates as `date`)."""

    organ: str
    year: int
    version: int
    items: tuple[Mapping[str, Any], ...]
    party_consent: Mapping[str, Any] | None
    published_on: date
    url: str
    adjustment_reason: str
    recorded_at: str  # when the workspace recorded it (UTC text, the store's form)
    seq: int = 0
    policy: str = ""
    policy_hash: str = ""

    def item(self, item_no: str) -> Mapping[str, Any] | None:
        """The item with this number, or None."""
        for it in self.items:
            if it["item_no"] == item_no:
                return it
        return None

    def to_json(self) -> dict[str, Any]:
        """JSON form (dates as ISO text)."""
        consent = dict(self.party_consent) if self.party_consent else None
        if consent and isinstance(consent.get("decided_on"), date):
            consent["decided_on"] = consent["decided_on"].isoformat()
        return {
            "organ": self.organ, "year": self.year, "version": self.version, "published_on": self.published_on.isoformat(),
            "url": self.url, "party_consent": consent, "adjustment_reason": self.adjustment_reason,
            "items": [dict(i) for i in self.items], "recorded_at": self.recorded_at, "seq": self.seq,
            "policy": self.policy,
        }


def version_from_payload(payload: Mapping[str, Any], *, recorded_at: str, seq: int = 0, policy: str = "",
                         policy_hash: str = "") -> CatalogVersion:
    """A catalog version from a `catalog-published` payload (as the rules see payloads: values, dates as `date`)."""
    return CatalogVersion(
        organ=payload["organ"], year=payload["year"], version=payload["version"], items=tuple(payload["items"]),
        party_consent=payload.get("party_consent"), published_on=payload["published_on"], url=payload.get("url", ""),
        adjustment_reason=payload.get("adjustment_reason", ""), recorded_at=recorded_at, seq=seq, policy=policy,
        policy_hash=policy_hash,
    )


@dataclass(frozen=True)
class CatalogBook:
    """Every catalog version recorded, in the order recorded; `as_of` gives the book as it stood at a moment."""

    versions: tuple[CatalogVersion, ...] = ()

    def as_of(self, recorded_at: str) -> CatalogBook:
        """The versions recorded at or before `recorded_at` (UTC text in the store's form, which sorts by time)."""
        kept = tuple(v for v in self.versions if v.recorded_at <= recorded_at)
        return self if len(kept) == len(self.versions) else CatalogBook(kept)

    def history(self, organ: str, year: int) -> list[CatalogVersion]:
        """Every version of one organ's catalog for one year, oldest first."""
        return [v for v in self.versions if v.organ == organ and v.year == year]

    def current(self, organ: str, year: int) -> CatalogVersion | None:
        """The newest version of the organ's catalog for the year, or None when it has none."""
        found = self.history(organ, year)
        return found[-1] if found else None

    def catalogs(self, *, year: int | None = None, organ: str | None = None) -> list[CatalogVersion]:
        """The current version of every (organ, year) catalog, optionally of one year or one organ."""
        out: dict[tuple[str, int], CatalogVersion] = {}
        for v in self.versions:
            if (year is None or v.year == year) and (organ is None or v.organ == organ):
                out[(v.organ, v.year)] = v
        return list(out.values())


NO_CATALOGS = CatalogBook()

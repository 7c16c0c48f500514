"""The decision catalog: SCP-05 (a catalog is published with the Party committee's consent; a case names an item of
its organ's catalog) and SCP-06 (every item of the year's catalog ends in an archived dossier).

条例 art. 3(3) makes the catalog the organ's option ("可以") and PROCEDURE.md edge case 19 says it is not exhaustive:
an item outside the catalog is still a major decision. So naming an item the catalog does not hold is refused (the
record would claim a consent-backed listing that does not exist), while launching with no item at all is only a
warning, raised as the pack's `catalog_unlinked_warning` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from policies.catalog import CatalogVersion
from policies.findings import Finding
from policies.pack import PolicyPack
from policies.rules import RuleContext, Violation, check, to_finding

CONSENT = "经同级党委同意后向社会公布"


@check("SCP-05", "catalog-published")
def party_consent(ctx: RuleContext) -> Iterator[Violation]:
    """SCP-05: no catalog version is published without the same-level Party committee's consent, given first."""
    p = ctx.payload
    consent = p.get("party_consent") or {}
    missing = [f"party_consent.{k}" for k in ("decided_on", "ref") if not str(consent.get(k) or "").strip()]
    what = f"the {p['year']} decision catalog of {p['organ']}, version {p['version']}"
    if missing:
        yield Violation(
            "SCP-05",
            f"{what} cannot be published without the consent of the same-level Party committee ({CONSENT}); "
            f"record when the committee consented and its document reference ({', '.join(missing)} missing).",
            {"organ": p["organ"], "year": p["year"], "version": p["version"], "missing": missing},
        )
    elif consent["decided_on"] > p["published_on"]:
        yield Violation(
            "SCP-05",
            f"{what} is dated as published on {p['published_on']}, before the Party committee consented on "
            f"{consent['decided_on']}; the catalog is published after the consent ({CONSENT}).",
            {"published_on": p["published_on"], "consented_on": consent["decided_on"]},
        )


# --- SCP-06: the year-end report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedCase:
    """A case launched for a catalog item, as the year-end report needs it."""

    case_id: str
    status: str  # open | decided | published | ended
    awaiting: str
    archived: bool
    archive_id: str = ""


@dataclass(frozen=True)
class ItemStatus:
    """One catalog item at the year-end: its cases, whether its dossier is archived, and why not."""

    organ: str
    year: int
    catalog_version: int
    item: dict[str, Any]
    cases: tuple[LinkedCase, ...]
    archived: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "organ": self.organ, "year": self.year, "catalog_version": self.catalog_version, **self.item,
            "cases": [c.__dict__.copy() for c in self.cases], "archived": self.archived, "reason": self.reason or None,
        }


def _why_not(case: LinkedCase) -> str:
    if case.status == "published":
        return f"{case.case_id} is published but its dossier is not archived"
    if case.status == "ended":
        return f"{case.case_id} ended without a decision and its dossier is not archived"
    return f"{case.case_id} is {case.status}, waiting on {case.awaiting}"


def item_status(catalog: CatalogVersion, item: dict[str, Any], cases: Sequence[LinkedCase]) -> ItemStatus:
    """SCP-06 for one item: archived once it has a case and every case launched for it has an archived dossier."""
    if not cases:
        reason = "no case has been launched for this item"
    else:
        reason = "; ".join(_why_not(c) for c in cases if not c.archived)
    return ItemStatus(catalog.organ, catalog.year, catalog.version, item, tuple(cases), not reason, reason)


def year_end_findings(pack: PolicyPack, items: Sequence[ItemStatus]) -> list[Finding]:
    """SCP-06 findings (WARN) for the items not yet archived, under the pack the catalog was published with; a pack
    that does not carry SCP-06 reports the items without findings."""
    if "SCP-06" not in pack.rules:
        return []
    return [
        to_finding(pack, Violation(
            "SCP-06",
            f"{s.organ} {s.year} catalog item {s.item['item_no']} ({s.item['title']}) is not archived "
            f"(年度目录事项全部立卷归档): {s.reason}.",
            {"organ": s.organ, "year": s.year, "item_no": s.item["item_no"], "cases": [c.case_id for c in s.cases]},
        ))
        for s in items if not s.archived
    ]

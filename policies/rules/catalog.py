"""The decision catalog: SCP-05 (a catalog is published with the Party committee's consent; a case names an item of
its organ's catalog) and SCP-06 (every item of the year's catalog ends in an archived dossier).

条例 art. 3(3) makes the catalog the organ's option ("可以") and PROCEDURE.md edge case 19 says it is not exhaustive:
an item outside the catalog is still a major decision. So naming an item the catalog does not hold is refused (the
record would claim a consent-backed listing that does not exist), while launching with no item at all is only a
warning, raised as the pack's `catalog_unlinked_warning` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator, Mapping, Sequence

from policies.catalog import NO_CATALOGS, CatalogBook, CatalogVersion
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


def catalog_year(launch: Mapping[str, Any]) -> int:
    """The catalog year of a launch: the year the organ decided to launch the procedure (INI-02), else of the launch."""
    day: date = launch.get("decided_on") or launch["launched_on"]
    return day.year


def catalogs_of(ctx: RuleContext) -> CatalogBook:
    """The decision catalogs as they stood when the event was recorded (flows/usecases/catalog_book.py folds them)."""
    return ctx.standing.get("catalogs") or NO_CATALOGS


@check("SCP-05", "case-launched")
def catalog_link(ctx: RuleContext) -> Iterator[Violation]:
    """SCP-05: a case names an item of its organ's catalog for the year, as the catalog stood at the launch."""
    p = ctx.payload
    if p.get("parent_case"):
        return  # an adjustment's child case carries its parent's catalog link; the parent's launch was judged
    organ, year, item_no = p["organ"], catalog_year(p), p.get("catalog_item")
    current = catalogs_of(ctx).current(organ, year)
    if item_no is None:
        mode = ctx.param("catalog_unlinked_warning")
        if mode == "always" or (mode == "when-organ-has-catalog" and current is not None):
            listed = f"{organ} has a published {year} catalog (version {current.version})" if current else (
                f"{organ} has no published {year} catalog")
            yield Violation(
                "SCP-05",
                f"the case is not linked to any item of the decision catalog (决策事项目录); {listed}. An item outside "
                "the catalog can still be a major decision (edge case 19): give --catalog ITEM, or acknowledge why it "
                "is not listed.",
                {"organ": organ, "year": year, "catalog_version": current.version if current else None},
                part="unlinked",
            )
        return
    if current is None:
        yield Violation(
            "SCP-05",
            f"--catalog {item_no}: {organ} has no decision catalog published for {year}; a catalog is published with "
            f"the Party committee's consent first (`juece catalog publish`), or launch without --catalog.",
            {"organ": organ, "year": year, "catalog_item": item_no},
        )
        return
    entry = current.item(item_no)
    if entry is None:
        yield Violation(
            "SCP-05",
            f"--catalog {item_no}: there is no item {item_no} in the {year} decision catalog of {organ} "
            f"(version {current.version}, {len(current.items)} items: {_item_list(current)}).",
            {"organ": organ, "year": year, "catalog_item": item_no, "catalog_version": current.version},
        )
    elif p.get("catalog_version") != current.version:
        yield Violation(
            "SCP-05",
            f"the launch names version {p.get('catalog_version')} of the {year} catalog of {organ}, but version "
            f"{current.version} was the catalog in force when it was recorded.",
            {"catalog_version": p.get("catalog_version"), "current_version": current.version},
        )
    elif entry["category"] != p["category"]:
        yield Violation(
            "SCP-05",
            f"catalog item {item_no} ({entry['title']}) is listed as {entry['category']}, but the case is launched as "
            f"{p['category']}; the catalog fixes the item and its criteria (决策事项目录、标准).",
            {"catalog_item": item_no, "listed_category": entry["category"], "category": p["category"]},
            part="item-differs",
        )


def _item_list(catalog: CatalogVersion, limit: int = 12) -> str:
    shown = [str(i["item_no"]) for i in catalog.items[:limit]]
    return ", ".join(shown) + (", …" if len(catalog.items) > limit else "") if shown else "none"


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

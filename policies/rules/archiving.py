"""Handing materials over to the archive: ARC-02 (档案法 art. 14, 任何个人不得拒绝归档或者据为己有).

The enforceable reading: every document the case's history records as attached (`document-attached`; a payload's
sha256 that points at an attached document names the same file) must be in the document store when the dossier is
exported, and the `dossier-archived` record lists the documents handed over. A file missing from the store was not
handed over, and the export is refused before anything is written. What never entered juece (paper originals,
material kept outside the system, a payload's hash of a file never attached) cannot be seen here: the pack marks that
part capture-only.
"""

from __future__ import annotations

from typing import Iterator

from policies.rules import RuleContext, Violation, check


@check("ARC-02", "dossier-archived")
def documents_handed_over(ctx: RuleContext) -> Iterator[Violation]:
    """ARC-02: the dossier holds every document attached to the case."""
    handed = set(ctx.payload.get("documents") or ())
    missing = [p for p in ctx.case.records("document-attached") if p["sha256"] not in handed]
    missing = list({p["sha256"]: p for p in missing}.values())  # one document attached twice is one document
    if not missing:
        return
    names = "; ".join(f"{p['display_name']} (sha256 {p['sha256'][:12]}…)" for p in missing[:8])
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    yield Violation(
        "ARC-02",
        f"{len(missing)} document(s) the history records as attached are not in the document store, so they cannot "
        f"be handed over to the archive (应当归档的材料…移交, 任何个人不得拒绝归档或者据为己有): {names}{more}. Put each "
        "back with `juece attach CASE FILE` (the same file has the same sha256) and export again.",
        {"missing": [p["sha256"] for p in missing], "names": [p["display_name"] for p in missing]},
    )

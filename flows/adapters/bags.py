"""BagIt bags (RFC 8493) through the Library of Congress `bagit` package: make one from a folder, and validate one
in full (every payload file against the sha256 and sha512 manifests, and the tag manifests — never the fast mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import bagit  # type: ignore[import-untyped]  # (the library ships no type information)

CHECKSUMS = ("sha256", "sha512")


def make_bag(folder: Path, info: Mapping[str, str]) -> None:
    """Turn `folder` into a bag in place: its files move under data/, with manifests and bag-info.txt."""
    bagit.make_bag(str(folder), bag_info=dict(info), checksums=list(CHECKSUMS), processes=1)


def validate_bag(path: Path) -> tuple[dict[str, str], str | None]:
    """Full validation: (the bag-info, None) when the bag is valid, ({}, what failed) when it is not."""
    try:
        bag = bagit.Bag(str(path))
        bag.validate(processes=1, fast=False, completeness_only=False)
    except bagit.BagValidationError as exc:
        details = "; ".join(str(d) for d in (exc.details or [])[:5]) or str(exc.message)
        return {}, f"BagIt validation: {details}"
    except bagit.BagError as exc:
        return {}, f"BagIt: {exc}"
    return dict(bag.info), None

"""The `juece` command line with one more version of a pack, for tests of pack settings no shipped pack sets: run as
`python tests/juece_with_pack.py ARGS…`; JUECE_TEST_PACK_PARAMS (JSON, {name: value}) are the parameters of
`cn-2019@3`, which is `cn-2019@2` with them added (a published pack is never edited: a change is a new version)."""

from __future__ import annotations

import json
import os
from typing import Any

import policies.pack as packs

_files, _data = packs._pack_files, packs.pack_data
EXTRA = json.loads(os.environ.get("JUECE_TEST_PACK_PARAMS", "{}"))


def _pack_files() -> dict[str, dict[int, str]]:
    out = _files()
    out["cn-2019"] = {**out["cn-2019"], 3: "(a test version)"}
    return out


def _pack_data(pack_id: str, version: int | None = None) -> dict[str, Any]:
    if pack_id == "cn-2019" and version in (3, None):
        data = _data(pack_id, 2)
        params = {**data["params"], **{k: {"value": v, "basis": "LIM-01: a test setting"} for k, v in EXTRA.items()}}
        return {**data, "version": 3, "params": params}
    return _data(pack_id, version)


packs._pack_files = _pack_files
packs.pack_data = _pack_data

if __name__ == "__main__":
    import cli

    cli.main()

"""Policy packs: the rule book as data. A pack is content-hashed; a case pins the pack id and hash it was launched
under, and is always judged by that pack. A published pack is never edited; a change is a new pack version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from policies.errors import BadInput

DEFAULT_PACK = "cn-2019"
ROLES = ("legal-office", "clerk", "reviewer", "secretary", "head", "auditor", "archivist", "admin")


def canonical_json(data: Any) -> bytes:
    """The same canonical form the event store hashes: sorted keys, compact, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Stage:
    """One stage of the procedure, and the events that carry it."""

    id: str
    zh: str
    en: str
    gate_rule: str
    conclusion: tuple[str, ...]
    waiver: tuple[str, ...]
    exemption: tuple[str, ...]
    activities: tuple[str, ...]
    ongoing: bool = False  # execution and post-evaluation: open-ended, entered once started, never "concluded"

    @property
    def label(self) -> str:
        """'合法性审查 legality review' — the Chinese term beside the English."""
        return f"{self.zh} {self.en}"

    @property
    def events(self) -> tuple[str, ...]:
        """Every event type that belongs to this stage."""
        return self.activities + self.conclusion + self.waiver + self.exemption


@dataclass(frozen=True)
class RuleInfo:
    """A rule's article, enforcement (per finding part) and its words in Chinese and English."""

    id: str
    article: str
    enforcement: Mapping[str, str]
    zh: str
    en: str

    def level(self, part: str = "default") -> str:
        """HARD or WARN for this part of the rule."""
        return self.enforcement.get(part, self.enforcement["default"])


@dataclass(frozen=True)
class PolicyPack:
    """A loaded, validated, content-hashed policy pack."""

    id: str
    version: int
    title: str
    data: Mapping[str, Any]
    hash: str
    stages: tuple[Stage, ...]
    rules: Mapping[str, RuleInfo]

    def stage(self, stage_id: str) -> Stage:
        """The stage with this id."""
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def stage_of(self, event_type: str) -> Stage | None:
        """The stage an event belongs to (None for engine events)."""
        for s in self.stages:
            if event_type in s.events:
                return s
        return None

    def param(self, name: str) -> Any:
        """A CFG parameter's value."""
        return self.data["params"][name]["value"]

    def roles_for(self, event_type: str) -> tuple[tuple[str, ...], str]:
        """The roles that may record an event, and the article that charges them."""
        entry = self.data["roles"].get(event_type)
        if entry is None:
            return (), ""
        return tuple(entry["roles"]), entry["article"]


def pack_from_data(data: Mapping[str, Any]) -> PolicyPack:
    """A pack from its JSON data (as shipped, or as kept inside an archive)."""
    stages = tuple(
        Stage(
            id=s["id"],
            zh=s["zh"],
            en=s["en"],
            gate_rule=s["gate_rule"],
            conclusion=tuple(s.get("conclusion", ())),
            waiver=tuple(s.get("waiver", ())),
            exemption=tuple(s.get("exemption", ())),
            activities=tuple(s.get("activities", ())),
            ongoing=bool(s.get("ongoing", False)),
        )
        for s in data["stages"]
    )
    rules = {}
    for rid, r in data["rules"].items():
        enforcement = r["enforcement"]
        if isinstance(enforcement, str):
            enforcement = {"default": enforcement}
        rules[rid] = RuleInfo(rid, r["article"], dict(enforcement), r["zh"], r["en"])
    return PolicyPack(
        id=data["id"],
        version=int(data["version"]),
        title=data["title"],
        data=data,
        hash=hashlib.sha256(canonical_json(data)).hexdigest(),
        stages=stages,
        rules=rules,
    )


def available_packs() -> list[str]:
    """The ids of the packs shipped with juece."""
    folder = resources.files("policies") / "packs"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def load_pack(pack_id: str = DEFAULT_PACK) -> PolicyPack:
    """Load a shipped pack by id; an unknown id is bad input naming the packs there are."""
    if pack_id not in available_packs():
        raise BadInput(
            f"there is no policy pack {pack_id!r}; available: {', '.join(available_packs())}", field="policy"
        )
    return pack_from_data(pack_data(pack_id))


def pack_data(pack_id: str) -> dict[str, Any]:
    """A pack's effective data: an overlay (`"extends": base`) merged onto its base, rule by rule, key by key."""
    raw = json.loads((resources.files("policies") / "packs" / f"{pack_id}.json").read_text(encoding="utf-8"))
    base_id = raw.get("extends")
    if not base_id:
        return raw
    merged = dict(pack_data(base_id))
    for section in ("rules", "roles", "params"):
        merged[section] = {**merged.get(section, {}), **raw.get(section, {})}
    for key in ("id", "version", "title", "basis", "extends"):
        merged[key] = raw[key]
    return merged

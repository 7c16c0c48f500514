"""Policy packs: the rule book as data. A pack is content-hashed; a case pins the pack id and hash it was launched
under, and is always judged by that pack. A published pack is never edited; a change is a new pack version."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Mapping

from policies.errors import BadInput
from policies.limits import DEFAULT as DEFAULT_LIMITS

DEFAULT_PACK = "cn-2019"
ROLES = ("legal-office", "clerk", "reviewer", "secretary", "head", "auditor", "archivist", "admin")


def canonical_json(data: Any) -> bytes:
    """The same canonical form the event store hashes: sorted keys, compact, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Parameters introduced by a later pack version, with the value the engine applied before they were parameters, so a
# case judged by a published earlier version keeps exactly the verdicts it had (a published pack is never edited).
PREDATED: Mapping[str, Any] = {
    "execution_report_every_days": 90,  # EXE-02: cn-2019@1 cases reported every 90 days unless the decision said
    "execution_report_due_soon_days": 14,  # EXE-02: and were reminded two weeks ahead
    # LIM-01: a payload's limits became pack settings after cn-2019@2 and sanya-2022@2 were published; a pack that does
    # not set them keeps the defaults its cases were held to (policies/limits.py)
    "payload_max_bytes": DEFAULT_LIMITS.max_bytes,
    "payload_max_depth": DEFAULT_LIMITS.max_depth,
}


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
    # Drafting runs beside the ordered stages, from launch until this stage is concluded, and never gates them.
    concurrent_until: str | None = None

    @property
    def label(self) -> str:
        """'合法性审查 legality review' — the Chinese term beside the English."""
        return f"{self.zh} {self.en}"

    @property
    def events(self) -> tuple[str, ...]:
        """Every event type that belongs to this stage."""
        return self.activities + self.conclusion + self.waiver + self.exemption


Level = Literal["HARD", "WARN", "REC"]  # refused; refused unless acknowledged; only recorded
LEVELS: tuple[Level, ...] = ("HARD", "WARN", "REC")


def _level(rule: str, part: str, value: object) -> Level:
    for level in LEVELS:
        if value == level:
            return level
    raise BadInput(f"rule {rule}: enforcement {part!r} is {value!r}; expected one of {', '.join(LEVELS)}", field=rule)


@dataclass(frozen=True)
class RuleInfo:
    """A rule's article, enforcement (per finding part) and its words in Chinese and English."""

    id: str
    article: str
    enforcement: Mapping[str, Level]
    zh: str
    en: str

    def level(self, part: str = "default") -> Level:
        """HARD or WARN for this part of the rule."""
        return self.enforcement.get(part, self.enforcement["default"])


# Engine events added after a pack version was published, and the step whose roles they take under such a pack:
# dispositions of public comments were part of concluding participation (条例 art. 18) before they were records.
_CARRIED_BY = {"comment-disposed": "participation-concluded"}


_STAGE_OF: dict[tuple[str, str], "Stage | None"] = {}  # (pack hash, event type) -> its stage: the stages are content
_ROLES_FOR: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {}  # (pack hash, event type) -> roles_for's answer


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
        """The stage an event belongs to (None for engine events); looked up once per pack content and event."""
        key = (self.hash, event_type)
        try:
            return _STAGE_OF[key]
        except KeyError:
            pass
        found = next((s for s in self.stages if event_type in s.events), None)
        _STAGE_OF[key] = found
        return found

    def param(self, name: str) -> Any:
        """A CFG parameter's value (for a pack version published before the parameter existed, the value the engine
        applied to its cases then)."""
        entry = self.data["params"].get(name)
        if entry is None and name in PREDATED:
            return PREDATED[name]
        return self.data["params"][name]["value"]

    def roles_for(self, event_type: str) -> tuple[tuple[str, ...], str]:
        """The roles that may record an event, and the article that charges them (for an engine event newer than the
        pack: those the pack charges with the step that carried the same duty before); looked up once per pack content
        and event."""
        key = (self.hash, event_type)
        found = _ROLES_FOR.get(key)
        if found is None:
            entry = self.data["roles"].get(event_type)
            if entry is None and event_type in _CARRIED_BY:
                entry = self.data["roles"].get(_CARRIED_BY[event_type])
            found = _ROLES_FOR[key] = ((), "") if entry is None else (tuple(entry["roles"]), entry["article"])
        return found


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
            concurrent_until=s.get("concurrent_until"),
        )
        for s in data["stages"]
    )
    rules = {}
    for rid, r in data["rules"].items():
        enforcement = r["enforcement"]
        if isinstance(enforcement, str):
            enforcement = {"default": enforcement}
        levels = {part: _level(rid, part, value) for part, value in enforcement.items()}
        rules[rid] = RuleInfo(rid, r["article"], levels, r["zh"], r["en"])
    return PolicyPack(
        id=data["id"],
        version=int(data["version"]),
        title=data["title"],
        data=data,
        hash=hashlib.sha256(canonical_json(data)).hexdigest(),
        stages=stages,
        rules=rules,
    )


# A pack file is `ID.json` (version 1, as first published) or `ID.vN.json` (version N). A published version is never
# edited; a change is a new version. New cases are launched under the newest version of the pack they name; a case
# is judged forever by the version whose content hash it pinned (`pack_by_hash`).
PACKS = Path(__file__).resolve().parent / "packs"  # package data, a folder beside this module (not importlib.resources:
# the same folder for an installed package, without loading zipfile and the resource readers on every start)
_FILE = re.compile(r"^(?P<id>[a-z0-9-]+?)(?:\.v(?P<version>[0-9]+))?\.json$")


def _pack_files() -> dict[str, dict[int, str]]:
    """{pack id: {version: file name}} for the packs shipped with juece."""
    folder = PACKS
    out: dict[str, dict[int, str]] = {}
    for p in folder.iterdir():
        m = _FILE.match(p.name)
        if m:
            out.setdefault(m["id"], {})[int(m["version"] or 1)] = p.name
    return out


def available_packs() -> list[str]:
    """The ids of the packs shipped with juece."""
    return sorted(_pack_files())


def pack_versions(pack_id: str) -> list[int]:
    """The published versions of a pack, oldest first."""
    return sorted(_pack_files().get(pack_id, {}))


def parse_pack_ref(ref: str) -> tuple[str, int | None]:
    """'cn-2019' → ('cn-2019', None: the newest); 'cn-2019@1' → ('cn-2019', 1)."""
    pack_id, sep, version = ref.partition("@")
    if not sep:
        return pack_id, None
    if not version.isdigit():
        raise BadInput(f"--policy {ref!r}: expected ID or ID@VERSION, e.g. cn-2019@2", field="policy")
    return pack_id, int(version)


def load_pack(pack_ref: str = DEFAULT_PACK, version: int | None = None) -> PolicyPack:
    """A shipped pack by id (its newest version) or `ID@VERSION`; an unknown one is bad input naming what there is."""
    pack_id, ref_version = parse_pack_ref(pack_ref)
    return _load(pack_id, version if version is not None else ref_version)


@lru_cache(maxsize=None)
def _load(pack_id: str, version: int | None) -> PolicyPack:
    versions = pack_versions(pack_id)
    if not versions:
        raise BadInput(
            f"there is no policy pack {pack_id!r}; available: {', '.join(available_packs())}", field="policy"
        )
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise BadInput(
            f"policy pack {pack_id} has no version {version}; published versions: "
            + ", ".join(str(v) for v in versions),
            field="policy",
        )
    return pack_from_data(pack_data(pack_id, version))


def pack_by_hash(pack_id: str, pack_hash: str) -> PolicyPack | None:
    """The published version of a pack whose content hash is `pack_hash` (what a case pinned at launch), or None."""
    for version in reversed(pack_versions(pack_id)):
        pack = _load(pack_id, version)
        if pack.hash == pack_hash:
            return pack
    return None


def pack_data(pack_id: str, version: int | None = None) -> dict[str, Any]:
    """A pack version's effective data: an overlay (`"extends": "BASE"` or `"BASE@N"`; no version means version 1,
    the form the first published overlays used) merged onto its base, rule by rule, key by key."""
    versions = _pack_files().get(pack_id, {})
    name = versions[version if version is not None else max(versions)]
    raw: dict[str, Any] = json.loads((PACKS / name).read_text(encoding="utf-8"))
    base_ref = raw.get("extends")
    if not base_ref:
        return raw
    base_id, base_version = parse_pack_ref(base_ref)
    merged = dict(pack_data(base_id, base_version or 1))
    for section in ("rules", "roles", "params"):
        merged[section] = {**merged.get(section, {}), **raw.get(section, {})}
    for key in ("id", "version", "title", "basis", "extends"):
        merged[key] = raw[key]
    return merged

"""What a public copy of the record may show of the people who took part: a comment's author is a private person,
whose name is personal information and is left out, unless the name is recognisably an organisation's.

The forms of an organisation are the pack's `comment_author_organisation_forms` (政府信息公开条例 art. 15); a pack
that predates the parameter classes every author as a private person. The classification is fixed by the pack a case
pinned, so an import, its public digest and every later export of the case agree on it.
"""

from __future__ import annotations

import unicodedata

from policies.pack import PolicyPack

FORMS_PARAM = "comment_author_organisation_forms"
_TRAILING = " \t.。,，;；:：!！)）]】"  # "某某有限公司。" and "某某协会（盖章）" are not read as persons' names
_STAMP = ("（盖章）", "(盖章)", "（公章）", "(公章)")


_FORMS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}  # by pack hash: a pack version's forms never change


def _forms(pack: PolicyPack) -> tuple[tuple[str, ...], frozenset[str]]:
    """The pack's forms of an organisation, normalised, and the characters they end in."""
    found = _FORMS.get(pack.hash)
    if found is None:
        spec = pack.data["params"].get(FORMS_PARAM)
        forms = tuple(unicodedata.normalize("NFKC", f).casefold() for f in (spec["value"] if spec is not None else ()))
        found = _FORMS[pack.hash] = (forms, frozenset(f[-1] for f in forms if f))
    return found


def author_is_organisation(pack: PolicyPack, author: str) -> bool:
    """True when the author's name ends in one of the pack's forms of an organisation (公司, 协会, 委员会, …)."""
    forms, finals = _forms(pack)
    if not forms or not author:
        return False
    name = author
    for stamp in _STAMP:
        name = name.removesuffix(stamp)
    name = name.rstrip(_TRAILING)
    if not name:
        return False
    last = name[-1]
    if "\u4e00" <= last <= "\u9fff" and last not in finals:
        return False  # a CJK ideograph is its own NFKC and casefold: no form can end here (most personal names)
    name = unicodedata.normalize("NFKC", name).casefold().rstrip(_TRAILING)
    return bool(name) and name.endswith(forms)


def public_author(pack: PolicyPack, author: str) -> str:
    """The author as a public copy shows it: an organisation's name, else nothing (a private person's name is withheld)."""
    return author if author_is_organisation(pack, author) else ""

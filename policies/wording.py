"""English wording of refusal sentences that put a word from the data after an article ("an auditor", "a clerk")."""

from __future__ import annotations

_AN = ("a", "e", "i", "o", "u", "npc")  # by sound: "an npc-deputy" reads "an N-P-C deputy"


def a(word: str) -> str:
    """`word` with its indefinite article: a clerk, an auditor, an admin, an executive, an npc-deputy."""
    return f"{'an' if word.lower().startswith(_AN) else 'a'} {word}"

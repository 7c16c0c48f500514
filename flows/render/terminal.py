"""Text shown on a terminal through Rich: the one escape for what people typed or named (a title, a reason, a path),
so Rich shows `[white on white]` or `[/]` as typed instead of obeying it. The command line's `say`/`typed` (cli.py)
and the demo's narration (flows/demo) use it; juece's own markup is never passed through it."""

from __future__ import annotations

from typing import Any


def typed(value: Any) -> str:
    """Text people typed, escaped so Rich shows `[white on white]` or `[/]` as typed instead of obeying it."""
    from rich.markup import escape

    return escape(str(value))

"""The case's stage table as markdown, for the Prefect artifact a supervising office sees in the Prefect UI
(templates/stage_table.md.j2)."""

from __future__ import annotations

from flows.render.templates import render
from flows.usecases.show import CaseView


def stage_table_markdown(view: CaseView) -> str:
    """A markdown page: the case, its stages, what it waits on, its deadlines and acknowledged warnings."""
    return render("stage_table.md.j2", {"view": view})

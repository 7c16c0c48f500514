"""The Jinja2 templates of the pages and reports (flows/render/templates/, package data): HTML autoescaped, and
markdown escaped for the Prefect UI's renderer too.

Every value printed is escaped with `html.escape(..., quote=True)` — the form the dossier pages in existing archive
bags were written with, which `archive verify` compares byte for byte — and `None` prints as nothing.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any, Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

# Markdown's punctuation that can start or end markup inside a line, and a table's cell separator. (`#`, `-` and `+`
# matter only at the start of a line, where the templates never put a value.)
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def _escaped(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value if value is not None else ""), quote=True))


def markdown_text(value: Any) -> Markup:
    """A value as literal text in markdown: HTML-escaped, markdown punctuation backslashed, line breaks as spaces."""
    if isinstance(value, Markup):  # a filter's output (`join`) is already escaped: start from its text
        value = value.unescape()
    text = " ".join(str(value if value is not None else "").split())
    return Markup(_MARKDOWN.sub(r"\\\1", html.escape(text, quote=True)))


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment: autoescape on for every template, one line a template line (block tags take none)."""
    env = Environment(
        loader=PackageLoader("flows.render", "templates"),
        autoescape=True,
        finalize=_escaped,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["md"] = markdown_text
    return env


def render(name: str, context: Mapping[str, Any]) -> str:
    """Render one template with `context`."""
    return environment().get_template(name).render(context)

"""Logging with the standard library: one logger per layer — `juece.usecases`, `juece.orchestration`,
`juece.adapters`, `juece.render`, `juece.cli`, `juece.web` (children of `juece`) — structured key=value lines on stderr.

Quiet by default (WARNING); `juece --verbose` turns on INFO. Never stdout: stdout carries `--json`. Fields come from
`extra={...}`; every value that is not a plain word is JSON-quoted, so text a user typed (a title with a line break or
an `=`) stays inside its field and cannot forge a line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

ROOT = "juece"
LAYERS = ("usecases", "orchestration", "adapters", "render", "cli", "web")
# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def logger(layer: str) -> logging.Logger:
    """The logger of one layer (`juece.<layer>`)."""
    if layer not in LAYERS:
        raise ValueError(f"no layer {layer!r}; layers: {', '.join(LAYERS)}")
    return logging.getLogger(f"{ROOT}.{layer}")


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text and all(c.isalnum() or c in "-_.:/@+" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=INFO logger=juece.usecases msg="event recorded" case_id=JC-2025-0001 seq=4`: one line a record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of key=value pairs (the traceback, if any, JSON-quoted in `exc`)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields = {"ts": stamp, "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        fields.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return " ".join(f"{k}={_value(v)}" for k, v in fields.items())


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is at the moment of writing (tests and Typer replace it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(*, verbose: bool) -> None:
    """Send juece's log to stderr as key=value lines: INFO and up with `verbose`, else WARNING and up. Idempotent."""
    root = logging.getLogger(ROOT)
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False

"""Request bodies over the size limit are refused before they are read whole: 413, past the most any policy pack
lets a payload be (LIM-01's ceiling, 16 MiB, and room for the rest of the request; a comments upload has its own,
larger limit). Under it the case's pack judges the payload as the command line does (1 MiB and 64 levels by default;
more is bad input, 400)."""

from __future__ import annotations

from typing import Any, Callable

import orjson

from web.errors import TooLarge

Scope = dict[str, Any]


class _Over(Exception):
    pass


def _answer(limit: int) -> tuple[int, bytes]:
    err = TooLarge(f"the request body is over {limit:,} bytes, more than any policy pack lets a payload be (LIM-01; "
                   "by default a payload is at most 1 MiB and 64 levels deep; documents go through `juece attach`)",
                   field="(body)", limit=limit)
    return 413, orjson.dumps(err.to_json())


class BodyLimit:
    """ASGI middleware: 413 when Content-Length or the bytes actually sent pass the limit for the path."""

    def __init__(self, app: Any, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _send(send, 400, orjson.dumps({"error": {"code": "bad-input", "message": "Content-Length is not a number", "exit_code": 2}}))
                return
            digits = length.lstrip(b"0") or b"0"
            if len(digits) > 18 or int(digits) > limit:  # int() of more than 4,300 digits raises
                await _send(send, *_answer(limit))
                return
        received = 0
        started = False

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _Over
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _Over:
            if not started:
                await _send(send, *_answer(limit))


async def _send(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def json_depth_ok(raw: bytes, limit: int = 64) -> bool:
    """Whether JSON text nests at most `limit` levels (checked before parsing, so a hostile body cannot exhaust the
    parser's recursion)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return True  # the common case: too few brackets to nest too deep
    depth = 0
    in_string = escaped = False
    for b in raw:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif b in (0x5D, 0x7D):
            depth -= 1
    return True

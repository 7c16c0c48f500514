"""Serve the app with uvicorn (one process, or several workers sharing the database)."""

from __future__ import annotations

import os
import sys

from flows.usecases.workspace import Workspace


def serve(ws: Workspace, *, host: str, port: int, workers: int = 1) -> None:
    """Run `juece web` until stopped."""
    import uvicorn

    os.environ["JUECE_HOME"] = str(ws.home.resolve())
    print(f"juece web: the console at http://{host}:{port}/ and the API at http://{host}:{port}/api/v1 "
          f"(workspace {ws.home}); stop with Ctrl-C", file=sys.stderr, flush=True)
    uvicorn.run("web.app:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning",
                proxy_headers=False, server_header=False, date_header=True)

"""Test support for the web tier: a workspace with one account per role, and clients signed in as each."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fastapi.testclient import TestClient

from flows.usecases.accounts import add_account, issue_token
from flows.usecases.workspace import Workspace
from support import ADMIN
from web.app import create_app
from web.settings import WebSettings

PASSWORD = "Sanya-2025-河西片区"
# One account per role (the admin first: made by an admin actor while the workspace has no accounts).
PEOPLE = {
    "admin": ADMIN.name, "legal-office": "张伟", "clerk": "李明", "reviewer": "王芳", "secretary": "陈静", "head": "李市长",
    "auditor": "赵审计", "archivist": "孙档案",
}


@dataclass
class Web:
    """An app over a workspace, with a token for each role's account."""

    ws: Workspace
    app: Any
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> TestClient:
        """A client authenticated with the role's token (None: signed out)."""
        c = TestClient(self.app, raise_server_exceptions=False)
        if role is not None:
            c.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return c

    def session(self, role: str) -> tuple[TestClient, str]:
        """A client signed in through POST /api/v1/session, and its CSRF token."""
        c = TestClient(self.app, raise_server_exceptions=False)
        r = c.post("/api/v1/session", json={"name": PEOPLE[role], "password": PASSWORD})
        assert r.status_code == 200, r.text
        return c, r.json()["csrf"]


def web_for(ws: Workspace, settings: WebSettings | None = None) -> Web:
    """Accounts for every role, a token each, and the app."""
    add_account(ws, ADMIN, PEOPLE["admin"], ["admin"], PASSWORD)
    for role, name in PEOPLE.items():
        if role != "admin":
            add_account(ws, ADMIN, name, [role], PASSWORD)
    tokens = {role: issue_token(ws, ADMIN, name)[0] for role, name in PEOPLE.items()}
    return Web(ws, create_app(ws, settings), tokens)


def event_count(ws: Workspace) -> int:
    """How many events the store holds (to show a refusal wrote nothing)."""
    from models.db import read_transaction
    from models.store import count_all

    with read_transaction(ws.engine) as conn:
        return count_all(conn)


LAUNCH = {"title": "三亚市公共停车场建设规划", "category": "plan", "organ": "三亚市人民政府", "lead_unit": "三亚市交通运输局",
          "flags": ["technical"]}


JUECE = str(Path(sys.executable).with_name("juece"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(home: Path) -> Iterator[tuple[str, list[str]]]:
    """`juece web` on a free port serving the workspace at `home`, as its own process (the JUECE_ variables of this
    process left out): its URL once /api/v1/health answers, and a list that holds what it printed once it has been
    stopped (terminated, killed after 20 s)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUECE_")}
    proc = subprocess.Popen([JUECE, "--home", str(home), "web", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("juece web did not start: " + proc.stdout.read().decode()[-2000:])  # type: ignore[union-attr]
    printed: list[str] = []
    try:
        yield url, printed
    finally:
        proc.terminate()
        try:
            printed.append(proc.communicate(timeout=20)[0].decode())
        except subprocess.TimeoutExpired:
            proc.kill()
            printed.append(proc.communicate()[0].decode())

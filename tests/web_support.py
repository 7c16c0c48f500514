"""Test support for the web tier: a workspace with one account per role, and clients signed in as each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

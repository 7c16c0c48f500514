"""The web tier's settings, in one object (environment variables JUECE_WEB_*)."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from policies.limits import CEILING_BYTES


class WebSettings(BaseModel):
    """How `juece web` behaves; each setting can be given as an environment variable."""

    # 等保 2.0 (GB/T 22239-2019) 8.1.4.1 d): 登录连接超时自动退出 — sessions end after this many idle minutes.
    idle_minutes: int = Field(30, ge=1, le=24 * 60)
    # The proxy in front is trusted to name the client in X-Forwarded-For (throttling, the security log); never set
    # it when clients can reach `juece web` directly. (Cookies get `Secure` when the request came over HTTPS:
    # directly, or through a proxy that says so in X-Forwarded-Proto, trusted or not — web/deps.py, is_https.)
    trust_proxy: bool = False
    # "auto": Secure when served over HTTPS; "always": always (a TLS-only deployment); "never": never.
    secure_cookies: str = Field("auto", pattern="^(auto|always|never)$")
    # A request body is refused unread past the most any policy pack lets a payload be (LIM-01's ceiling, 16 MiB)
    # and room for the rest of the request; the case's own pack then judges the payload (1 MiB by default), as on the
    # command line: bad input, 400.
    max_body_bytes: int = CEILING_BYTES + 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024  # a comments file may be larger than one payload

    @classmethod
    def from_env(cls) -> "WebSettings":
        """Settings from JUECE_WEB_IDLE_MINUTES, JUECE_WEB_TRUST_PROXY, JUECE_WEB_SECURE_COOKIES."""
        env = os.environ
        data: dict[str, object] = {}
        if "JUECE_WEB_IDLE_MINUTES" in env:
            data["idle_minutes"] = int(env["JUECE_WEB_IDLE_MINUTES"])
        if "JUECE_WEB_TRUST_PROXY" in env:
            data["trust_proxy"] = env["JUECE_WEB_TRUST_PROXY"].lower() in ("1", "true", "yes")
        if "JUECE_WEB_SECURE_COOKIES" in env:
            data["secure_cookies"] = env["JUECE_WEB_SECURE_COOKIES"]
        return cls(**data)  # type: ignore[arg-type]

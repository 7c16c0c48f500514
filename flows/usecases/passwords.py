"""Passwords and tokens as the security tables keep them: the password policy (GB/T 22239-2019 8.1.4.1), argon2id
hashing, generated one-time passwords, token hashes, and the real-clock stamp security state runs on."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from typing import Any

from flows.usecases.clock import system_now
from models.store import utc_text


@dataclass(frozen=True)
class PasswordPolicy:
    """GB/T 22239-2019 (等保 2.0) 8.1.4.1 身份鉴别: 口令具有复杂度要求并定期更换; 登录失败处理 — the defaults here."""

    min_length: int = 12  # 口令长度不少于12位 (common level-3 practice)
    min_classes: int = 3  # of: lower case, upper case, digits, other characters (汉字 and symbols count as other)
    history: int = 5  # the last five passwords may not be used again
    max_failures: int = 5  # 登录失败处理: lock the account after this many failures in a row
    lock_minutes: int = 15
    address_failures: int = 20  # failures from one address within the window before it is throttled
    address_window_minutes: int = 15


POLICY = PasswordPolicy()
_hasher: Any = None


def hasher() -> Any:
    """The argon2id password hasher (argon2 is imported on first use)."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher  # argon2id by default

        _hasher = PasswordHasher()
    return _hasher


def security_stamp() -> str:
    """Now, as stored in the security tables (the real clock)."""
    # Security state (locks, sessions, token use) runs on the real clock even in a simulated workspace: a lockout
    # measured on a training clock that stands still would never end.
    return utc_text(system_now())


def password_problems(password: str, policy: PasswordPolicy = POLICY) -> list[str]:
    """What is wrong with a new password under the policy (empty when it is acceptable)."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"at least {policy.min_length} characters (口令长度不少于{policy.min_length}位)")
    classes = sum((
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c.isdigit() for c in password),
        any(not (c.isascii() and c.isalnum()) for c in password),
    ))
    if classes < policy.min_classes:
        problems.append(f"at least {policy.min_classes} of: lower case, upper case, digits, other characters "
                        "(大小写字母、数字、其他字符中至少三类)")
    if any(c in "\r\n\t" for c in password):
        problems.append("no line breaks or tabs")
    return problems


def generated_password() -> str:
    """A one-time password that meets the policy (shown once)."""
    import secrets  # (and the random module it loads) only where a password is made

    alphabet = string.ascii_letters + string.digits
    while True:
        p = "".join(secrets.choice(alphabet) for _ in range(14)) + secrets.choice("-_.!@#")
        if not password_problems(p):
            return p


def token_hash(token: str) -> str:
    """How an API token is stored."""
    # Tokens carry 256 bits of randomness, so a plain sha256 is a safe store (no dictionary to run against it).
    return hashlib.sha256(token.encode()).hexdigest()

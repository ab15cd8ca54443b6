"""Console passwords: the minimum policy, and checking one in the same time whether or not the
user exists (a missing user is checked against a dummy hash, so timing does not tell)."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from app.policy import current_policy

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class WeakPassword(ValueError):
    pass


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_strength(name: str, password: str) -> None:
    """Refuse a password the policy does not allow, saying why (WeakPassword)."""
    rules = current_policy().security
    if len(password) < rules["password_min_length"]:
        raise WeakPassword(f"密码至少 {rules['password_min_length']} 个字符 "
                           f"(password must be at least {rules['password_min_length']} characters)")
    lowered = password.strip().lower()
    if name and name.strip().lower() in lowered:
        raise WeakPassword("密码不能包含用户名 (password must not contain the user name)")
    if rules["password_reject_common"] and lowered in common_passwords():
        raise WeakPassword("密码过于常见 (password is too common)")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (unknown user, no console password) spend the same time."""
    if not password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update

from app.auth import login_throttle
from app.auth.models import ApiToken, Role, User
from app.auth.passwords import WeakPassword, check_strength, hash_password, password_matches
from app.clock import utcnow
from app.extensions import db
from app.policy import current_policy

log = logging.getLogger(__name__)

__all__ = ["UserExists", "UnknownUser", "WeakPassword", "TokenCheck", "LoginOutcome"]


class UserExists(ValueError):
    pass


class UnknownUser(LookupError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(name: str, role: Role | str, *, password: str | None = None, phone: str | None = None,
                on_call: bool = False) -> tuple[User, str]:
    """Create a user and a first API token; the clear token is returned once and never stored."""
    role = Role(role)
    if db.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserExists(f"用户 {name} 已存在 (user {name} already exists)")
    if password:
        check_strength(name, password)
    user = User(name=name, role=role.value, phone=phone, on_call=on_call, created_at=utcnow(),
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.flush()
    token = issue_token(user)
    db.session.commit()
    return user, token


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=utcnow()))
    return token


def _user_named(name: str) -> User:
    user = db.session.scalar(select(User).where(User.name == name).with_for_update())
    if user is None:
        raise UnknownUser(f"没有用户 {name} (no user {name})")
    return user


def _revoke_all(user: User) -> int:
    return db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()),
        execution_options={"preserve_rowcount": True}).rowcount


def revoke_tokens(name: str) -> int:
    """Revoke every API token of the user; returns how many were still valid."""
    revoked = _revoke_all(_user_named(name))
    db.session.commit()
    return revoked


def rotate_token(name: str) -> str:
    """Revoke the user's tokens and issue one new token, returned once in clear."""
    user = _user_named(name)
    _revoke_all(user)
    token = issue_token(user)
    db.session.commit()
    return token


def deactivate(name: str) -> None:
    """The user's tokens and console sessions stop working at once; the user stays on the record."""
    user = _user_named(name)
    user.active = False
    user.session_version += 1
    _revoke_all(user)
    db.session.commit()


def set_password(name: str, password: str) -> None:
    """A new console password (policy-checked); every session opened with the old one ends."""
    user = _user_named(name)
    check_strength(name, password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.commit()


def end_sessions(user_id: int) -> None:
    """Log-out: every console session of the user, this one and any copied cookie, stops working."""
    db.session.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    db.session.commit()


@dataclass(frozen=True)
class TokenCheck:
    user: User | None
    expired: bool = False


def check_token(token: str) -> TokenCheck:
    """The active user holding this unrevoked token; ``expired`` when it is older than the policy allows."""
    row = db.session.execute(
        select(User, ApiToken.created_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).one_or_none()
    if row is None:
        return TokenCheck(None)
    user, issued_at = row
    if issued_at + timedelta(days=current_policy().security["api_token_days"]) <= utcnow():
        return TokenCheck(None, expired=True)
    return TokenCheck(user)


def user_for_token(token: str) -> User | None:
    return check_token(token).user


def user_for_password(name: str, password: str) -> User | None:
    """The active user with this console password; the same work whether or not the name exists."""
    user = db.session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if not password_matches(user.password_hash if user else None, password):
        return None
    return user


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    locked_seconds: int | None = None

    @property
    def status(self) -> int:
        return 429 if self.locked_seconds else 401

    @property
    def message(self) -> str:
        if self.locked_seconds:
            return f"登录失败次数过多，请 {self.locked_seconds} 秒后再试 (too many failed log-ins; try again in {self.locked_seconds} s)"
        return "用户名或密码错误 (wrong name or password)"


def mask_name(name: str) -> str:
    """A typed user name in logs: enough to recognise, not a password typed in the wrong field."""
    return (name[:2] + "***") if len(name) > 4 else "***"


def check_login(name: str, password: str, address: str) -> LoginOutcome:
    """One console log-in attempt: refused while the name or the address is locked out, counted
    when it fails, logged (name masked, never the password). Commits."""
    now = utcnow()
    keys = login_throttle.subjects(name, address)
    locked = login_throttle.locked_for(keys, now)
    if locked:
        log.warning("console log-in refused while locked out: user %s from %s (%d s left)", mask_name(name), address,
                    locked)
        return LoginOutcome(None, locked)
    user = user_for_password(name, password)
    if user is None:
        login_throttle.record_failure(keys, now)
        db.session.commit()
        log.warning("console log-in failed: user %s from %s", mask_name(name), address)
        return LoginOutcome(None)
    login_throttle.clear_user(name)
    db.session.commit()
    return LoginOutcome(user)


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def active_user_by_name(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))

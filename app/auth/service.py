from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, Role, User
from app.clock import utcnow
from app.extensions import db


class UserExists(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(name: str, role: Role | str, *, password: str | None = None, phone: str | None = None,
                on_call: bool = False) -> tuple[User, str]:
    """Create a user and a first API token; the clear token is returned once and never stored."""
    role = Role(role)
    if db.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserExists(f"用户 {name} 已存在 (user {name} already exists)")
    user = User(name=name, role=role.value, phone=phone, on_call=on_call, created_at=utcnow(),
                password_hash=generate_password_hash(password) if password else None)
    db.session.add(user)
    db.session.flush()
    token = issue_token(user)
    db.session.commit()
    return user, token


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=utcnow()))
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.execute(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).scalar_one_or_none()
    return row


def user_for_password(name: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password):
        return None
    return user


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def active_user_by_name(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))

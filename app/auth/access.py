"""Who is calling, and may they? Every API request is authenticated before its input is read."""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort, g, request

from app.auth.models import Role, User
from app.auth.service import user_for_token

ANY_ROLE = tuple(Role)


def authenticate_request() -> None:
    """before_request for the API: a valid bearer token or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="需要登录凭据 (missing bearer token)")
    user = user_for_token(token.strip())
    if user is None:
        abort(401, description="凭据无效 (invalid or revoked token)")
    g.current_user = user


def current_user() -> User:
    return g.current_user


def roles_required(*roles: Role) -> Callable:
    """Allow only these roles (admin always allowed); 403 otherwise."""
    allowed = {r.value for r in roles} | {Role.admin.value}

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = getattr(g, "current_user", None)
            if user is None:
                abort(401, description="需要登录凭据 (missing bearer token)")
            if user.role not in allowed:
                abort(403, description=f"角色 {user.role} 无权执行此操作 (role not allowed; needs one of {sorted(allowed)})")
            return view(*args, **kwargs)

        wrapper._roles_allowed = sorted(allowed)  # documented in the OpenAPI description
        return wrapper

    return decorator

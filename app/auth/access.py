"""Who is calling? Every API request is authenticated, and refused unless its view names a permission."""
from __future__ import annotations

from flask import abort, current_app, g, request

from app.auth.models import User
from app.auth.permissions import permission_of
from app.auth.service import check_token


def authenticate_request() -> None:
    """before_request for the API: a valid bearer token or 401; a view without a permission is 403."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="需要登录凭据 (missing bearer token)")
    check = check_token(token.strip())
    if check.expired:
        abort(401, description="令牌已过期，请管理员轮换 (token expired; rotate it: flask users rotate-token NAME)")
    if check.user is None:
        abort(401, description="凭据无效 (invalid or revoked token)")
    user = check.user
    g.current_user = user
    view = current_app.view_functions.get(request.endpoint)
    # Deny by default: an endpoint someone forgot to put in the permissions table answers 403.
    if view is not None and permission_of(view, request.method) is None:
        abort(403, description="此接口未在权限表中登记 (endpoint has no permission)")


def current_user() -> User:
    return g.current_user

"""flask users …: create users, print a token once, revoke and rotate tokens, deactivate, set passwords."""
from __future__ import annotations

from contextlib import contextmanager

import click
from flask.cli import AppGroup

from app.auth.models import Role
from app.auth.service import (UnknownUser, UserExists, WeakPassword, create_user, deactivate, revoke_tokens,
                              rotate_token, set_password)

users_cli = AppGroup("users", help="用户与 API 令牌 (users and API tokens)")


@contextmanager
def _refusals_as_errors():
    """A refusal of the auth service ends the command with its message and exit status 1."""
    try:
        yield
    except (UnknownUser, UserExists, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from None


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", default=None, help="for the web console login (optional)")
@click.option("--phone", default=None, help="E.164 number for staff escalations")
@click.option("--on-call", is_flag=True, help="receives deadline warnings and escalations")
def create(name: str, role: str, password: str | None, phone: str | None, on_call: bool) -> None:
    """Create a user; the API token is printed once and never stored in clear."""
    with _refusals_as_errors():
        user, token = create_user(name, role, password=password, phone=phone, on_call=on_call)
    click.echo(f"已创建用户 {user.name}（{user.role}）。API 令牌（仅显示一次）：")
    click.echo(token)


@users_cli.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke every API token of the user at once."""
    with _refusals_as_errors():
        count = revoke_tokens(name)
    click.echo(f"已吊销用户 {name} 的 {count} 个 API 令牌。")


@users_cli.command("rotate-token")
@click.argument("name")
def rotate(name: str) -> None:
    """Revoke the user's tokens and print a new one, once."""
    with _refusals_as_errors():
        token = rotate_token(name)
    click.echo(f"已为用户 {name} 换发 API 令牌，旧令牌已失效。新令牌（仅显示一次）：")
    click.echo(token)


@users_cli.command("deactivate")
@click.argument("name")
def deactivate_user(name: str) -> None:
    """Disable the user: API tokens and console sessions stop working at once."""
    with _refusals_as_errors():
        deactivate(name)
    click.echo(f"已停用用户 {name}：令牌与控制台会话均已失效。")


@users_cli.command("set-password")
@click.argument("name")
@click.password_option("--password", prompt="新密码 (new password)", help="prompted for when not given")
def set_user_password(name: str, password: str) -> None:
    """Set the user's console password (policy-checked); their open sessions end."""
    with _refusals_as_errors():
        set_password(name, password)
    click.echo(f"已为用户 {name} 设置新密码，其已登录的会话均已结束。")

"""flask users …: create users and print their token once."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.auth.models import Role
from app.auth.service import UserExists, create_user

users_cli = AppGroup("users", help="用户与 API 令牌 (users and API tokens)")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", default=None, help="for the web console login (optional)")
@click.option("--phone", default=None, help="E.164 number for staff escalations")
@click.option("--on-call", is_flag=True, help="receives deadline warnings and escalations")
def create(name: str, role: str, password: str | None, phone: str | None, on_call: bool) -> None:
    """Create a user; the API token is printed once and never stored in clear."""
    try:
        user, token = create_user(name, role, password=password, phone=phone, on_call=on_call)
    except UserExists as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已创建用户 {user.name}（{user.role}）。API 令牌（仅显示一次）：")
    click.echo(token)

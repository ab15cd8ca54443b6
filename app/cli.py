"""Product-level commands: first-run bootstrap and the all-in-one server of the quick start."""
from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext

from app.auth.models import Role
from app.auth.service import create_user, user_count


@click.command("bootstrap")
@with_appcontext
def bootstrap() -> None:
    """On an empty database create the admin and print how to log in, once."""
    if user_count() > 0:
        click.echo("已有用户，跳过初始化 (users exist; nothing to bootstrap).")
        return
    password = secrets.token_urlsafe(12)
    user, token = create_user("admin", Role.admin, password=password)
    click.echo("=" * 72)
    click.echo("首次启动：已创建管理员 admin（以下凭据仅显示一次，请妥善保存）")
    click.echo(f"  控制台登录  用户名 admin  密码 {password}")
    click.echo(f"  API 令牌    Authorization: Bearer {token}")
    click.echo("=" * 72)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: $PORT or 5000")
@with_appcontext
def serve(host: str, port: int | None) -> None:
    """Serve the console and API with waitress, with the workers running in this process."""
    from waitress import serve as waitress_serve

    app = current_app._get_current_object()
    if app.config["NOC_IN_PROCESS_WORKERS"]:
        for start_worker in app.extensions.get("noc_in_process_workers", []):
            start_worker(app)
    else:
        click.echo("NOC_IN_PROCESS_WORKERS=0: 调度器、短信发送器与对外报送需单独运行 "
                   "(run `flask scheduler run`, `flask sender run` and `flask outbound run`)")
    port = port or app.config["PORT"]
    threads = app.config["NOC_WEB_THREADS"]
    click.echo(f"NOC 故障指挥系统 http://{host}:{port}/  (API /api/v1, OpenAPI /api/openapi.json; {threads} threads)")
    # An open console polls /live/changes every 2 s with a request that nearly always ends in a
    # 304 within milliseconds, so it holds no thread between polls: the threads bound requests in
    # progress, not consoles open. Each console (and API client) keeps a keep-alive connection or
    # two, hence the connection limit well above waitress's default 100. bench/console.py measures
    # what one process holds.
    waitress_serve(app, host=host, port=port, threads=threads, connection_limit=app.config["NOC_WEB_CONNECTIONS"])

"""``flask sender run`` and ``flask sms-gateway run``."""
from __future__ import annotations


import click
from flask import current_app
from flask.cli import AppGroup

from app.worker_process import run_until_stopped

sender_cli = AppGroup("sender", help="The SMS sender (短信发送).")
gateway_cli = AppGroup("sms-gateway", help="The local Twilio-compatible SMS gateway.")


@sender_cli.command("run")
@click.option("--once", is_flag=True, help="handle what is due now, then exit")
@click.option("--threads", type=int, default=None, help="sending threads (default $NOC_SMS_SENDER_THREADS)")
def run_sender(once: bool, threads: int | None) -> None:
    """Claim and send notices until stopped (SIGTERM / Ctrl-C finishes the batch in hand)."""
    from app.notify.sender import Sender
    from app.notify.settings import current_settings

    app = current_app._get_current_object()
    settings = current_settings()
    if threads:
        settings = settings.with_(sender_threads=threads)
    sender = Sender(app, settings)
    if once:
        total = 0
        while handled := sender.run_once():
            total += handled
        click.echo(f"handled {total} message(s)")
        return
    run_until_stopped(sender.run_forever)


@gateway_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default $NOC_SMS_GATEWAY_PORT or 5099")
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="added to every Messages request")
@click.option("--no-callbacks", is_flag=True, help="do not post status callbacks")
@click.option("--no-idempotency", is_flag=True, help="like Twilio: a repeated callback URL is a new message")
def run_gateway(host: str, port: int | None, latency_ms: float, no_callbacks: bool, no_idempotency: bool) -> None:
    """Answer the Twilio Messages API locally, with signed status callbacks and failures on demand."""
    from app.notify.gateway.app import GatewayApp
    from app.notify.gateway.server import RunningGateway
    from app.notify.settings import current_settings

    settings = current_settings()
    port = port or settings.gateway_port
    gateway = GatewayApp(settings.account_sid, settings.auth_token, callbacks=not no_callbacks,
                         latency_seconds=latency_ms / 1000, idempotent=not no_idempotency)
    click.echo(f"本地短信网关 http://{host}:{port}/2010-04-01/Accounts/{settings.account_sid}/Messages.json")
    running = RunningGateway(gateway, host=host, port=port)
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        running.stop()

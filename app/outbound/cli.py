"""``flask outbound run`` (the worker) and ``flask outbound-receiver run`` (the local receiver)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.worker_process import run_until_stopped

outbound_cli = AppGroup("outbound", help="Reports out: 上报 to the dispatch centre, reports to the regulator.")
receiver_cli = AppGroup("outbound-receiver", help="The local receiver of outbound reports.")


@outbound_cli.command("run")
@click.option("--once", is_flag=True, help="send what is due now (and check the regulator line), then exit")
def run_outbound(once: bool) -> None:
    """Send queued reports until stopped, retrying with back-off until acknowledged."""
    from app.outbound.sender import OutboundSender
    from app.outbound.settings import current_settings

    sender = OutboundSender(current_app._get_current_object(), current_settings())
    if once:
        total = sender.run_once(check_regulator=True)
        while handled := sender.run_once(check_regulator=False):
            total += handled
        click.echo(f"sent {total} report attempt(s); {sender.acknowledged_total} acknowledged")
        return
    run_until_stopped(sender.run_forever)


@receiver_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default $NOC_OUTBOUND_RECEIVER_PORT or 5097")
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON-lines file of what was received (default instance/outbound-received.jsonl)")
def run_receiver(host: str, port: int | None, store: Path | None) -> None:
    """Receive signed reports locally: verify, dedupe by idempotency key, store, show on a page."""
    from app.outbound.receiver.app import ReceiverApp
    from app.outbound.receiver.server import RunningReceiver
    from app.outbound.settings import current_settings

    settings = current_settings()
    store = store or Path(current_app.instance_path) / "outbound-received.jsonl"
    running = RunningReceiver(ReceiverApp(settings.secret, store), host=host, port=port or settings.receiver_port)
    click.echo(f"本地接收端 http://{host}:{running.port}/  (POST /dispatch, /regulator)")
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        running.stop()

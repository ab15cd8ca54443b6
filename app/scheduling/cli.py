"""``flask scheduler run``: the deadline scheduler as its own process (for a deployment)."""
from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

scheduler_cli = AppGroup("scheduler", help="时限调度器 (the deadline scheduler)")


@scheduler_cli.command("run")
@click.option("--poll", type=float, default=None, help="seconds between leadership/new-deadline checks (default 1)")
@with_appcontext
def run(poll: float | None) -> None:
    """Run the deadline scheduler until SIGTERM/SIGINT. On PostgreSQL several may run: one is active."""
    from app.scheduling.runner import DeadlineScheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runner = DeadlineScheduler(current_app._get_current_object(), poll_seconds=poll)
    runner.start()
    click.echo(f"时限调度器已启动 (deadline scheduler running, {runner.leadership.kind})", err=True)
    try:
        stop.wait()
    finally:
        runner.shutdown()
        click.echo("时限调度器已停止 (deadline scheduler stopped)", err=True)

"""``flask compensation queue-notices``: run the follow-up that queues final ledgers' notices."""
from __future__ import annotations

import click
from flask.cli import AppGroup

compensation_cli = AppGroup("compensation", help="补偿 (compensation).")


@compensation_cli.command("queue-notices")
def queue_notices_command() -> None:
    """Queue the compensation notices of every final ledger still waiting (the scheduler does this too)."""
    from app.compensation.followup import queue_pending

    done = queue_pending()
    click.echo(f"已排队补偿通知的故障 (incidents whose compensation notices were queued): {len(done)}")

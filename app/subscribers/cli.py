"""``flask subscribers import FILE.csv`` with a progress bar."""
from __future__ import annotations

import click
from flask.cli import AppGroup

subscribers_cli = AppGroup("subscribers", help="Subscribers (用户).")


@subscribers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--show-rejected", type=int, default=20, show_default=True, help="rejected rows to list")
def import_command(path: str, show_rejected: int) -> None:
    """Import subscribers from CSV: phone,name,region,services,monthly_fee,language."""
    from app.subscribers.csv_import import count_lines, import_binary_stream

    total = max(0, count_lines(path) - 1)
    with open(path, "rb") as handle, click.progressbar(length=total, label="校验 (validating)") as bar:
        result = import_binary_stream(handle, progress=bar.update)
        bar.update(total)
    click.echo(f"新增 created {result.created}，更新 updated {result.updated}，拒绝 rejected {result.rejected}")
    for row in result.rejected_rows[:show_rejected]:
        click.echo(f"  第 {row['line']} 行 (line): {row['reason']}")
    if result.rejected > show_rejected:
        click.echo(f"  … {result.rejected - show_rejected} more")

"""``flask catalog import FILE.csv`` and ``flask catalog unmapped``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

catalog_cli = AppGroup("catalog", help="Services and regions (业务与区域目录).")


@catalog_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(path: str) -> None:
    """Add or update services (code,name_zh,name_en[,active]) or regions (code,name_zh,name_en,level,parent_code)."""
    from app.catalog.csv_import import CatalogCsvError, import_catalog

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            kind, count = import_catalog(handle)
    except (CatalogCsvError, UnicodeDecodeError) as error:
        raise click.ClickException(f"未导入 (nothing imported): {error}") from None
    click.echo(f"已导入 {count} 条{'区域' if kind == 'regions' else '业务'} (imported {count} {kind})")


@catalog_cli.command("unmapped")
def unmapped_command() -> None:
    """List the codes found in existing data that the catalog does not know."""
    from app.catalog.service import unmapped_codes

    rows = unmapped_codes()
    for row in rows:
        click.echo(f"{row.kind}\t{row.code}\t{row.source}\t×{row.occurrences}")
    click.echo(f"共 {len(rows)} 个未映射代码 ({len(rows)} unmapped codes)")

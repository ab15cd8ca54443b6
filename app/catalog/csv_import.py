"""``flask catalog import FILE.csv``: services or regions, told apart by the header row.

Services: ``code,name_zh,name_en[,active]`` (active: 1/0, true/false, 是/否; default 1).
Regions:  ``code,name_zh,name_en,level,parent_code`` (level province|city|district; a province's
parent_code empty). The file is checked whole first; one bad line changes nothing.
"""
from __future__ import annotations

import csv
from typing import IO

from marshmallow import ValidationError

from app.catalog import service
from app.catalog.schemas import RegionSchema, ServiceSchema
from app.errors import InvalidInput

SERVICE_COLUMNS = ("code", "name_zh", "name_en")
REGION_COLUMNS = ("code", "name_zh", "name_en", "level", "parent_code")
_TRUE, _FALSE = {"1", "true", "yes", "是", "y"}, {"0", "false", "no", "否", "n"}


class CatalogCsvError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"第 {line} 行 (line {line}): {message}")
        self.line = line


def import_catalog(handle: IO[str]) -> tuple[str, int]:
    """Read and apply the CSV; returns (kind, entries). CatalogCsvError names the first bad line."""
    reader = csv.DictReader(handle)
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    if set(REGION_COLUMNS) <= set(header):
        kind, schema = "regions", RegionSchema()
    elif set(SERVICE_COLUMNS) <= set(header):
        kind, schema = "services", ServiceSchema()
    else:
        raise CatalogCsvError(1, f"表头须为 {','.join(SERVICE_COLUMNS)}[,active] 或 {','.join(REGION_COLUMNS)} "
                                 "(unknown header)")
    entries, lines = [], []
    for row in reader:
        entries.append(_entry(reader.line_num, row, kind, schema))
        lines.append(reader.line_num)
    if not entries:
        raise CatalogCsvError(2, "没有数据行 (no rows)")
    try:
        (service.put_regions if kind == "regions" else service.put_services)(entries)
    except InvalidInput as error:
        # The service names the entry as regions[i].field: say the file's line instead.
        field, detail = error.message.split(": ", 1)
        index = int(field.split("[", 1)[1].split("]", 1)[0]) if "[" in field else 0
        raise CatalogCsvError(lines[index], f"{field.split('.', 1)[-1]}: {detail}") from None
    return kind, len(entries)


def _entry(line: int, row: dict, kind: str, schema) -> dict:
    data = {key: (value or "").strip() for key, value in row.items() if key}
    if kind == "regions":
        data["parent_code"] = data.get("parent_code") or None
        data = {key: data.get(key) for key in REGION_COLUMNS}
    else:
        active = data.get("active", "").casefold()
        if active and active not in _TRUE | _FALSE:
            raise CatalogCsvError(line, f"active: 「{data['active']}」须为 1 或 0 (must be 1 or 0)")
        data = {**{key: data.get(key) for key in SERVICE_COLUMNS}, "active": active not in _FALSE}
    try:
        return schema.load(data)
    except ValidationError as error:
        field, messages = next(iter(error.messages.items()))
        raise CatalogCsvError(line, f"{field}: {'; '.join(map(str, messages))}") from None

"""Reject text no database can store (NUL and other C0 control characters) before any view runs.

PostgreSQL refuses NUL in text; rather than a 500 deep in a query, the request gets a 422
naming the field. Tab, newline and carriage return stay allowed in free text.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from flask import request
from flask_smorest import abort

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _bad_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if _FORBIDDEN.search(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _FORBIDDEN.search(key):
                yield key_path
            yield from _bad_paths(item, key_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_paths(item, f"{path}.{index}" if path else str(index))


def reject_control_characters() -> None:
    errors: dict[str, dict[str, list[str]]] = {}
    message = "含有不允许的控制字符 (contains a control character)"
    for location, data in (("query", request.args.to_dict(flat=False)), ("form", request.form.to_dict(flat=False))):
        for bad in _bad_paths(data, ""):
            errors.setdefault(location, {})[bad.split(".")[0]] = [message]
    if request.is_json:
        body = request.get_json(silent=True)
        for bad in _bad_paths(body, ""):
            errors.setdefault("json", {})[bad or "_body"] = [message]
    if errors:
        abort(422, errors=errors)

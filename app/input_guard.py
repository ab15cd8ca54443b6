"""Reject input no view should see, before any view runs: a clear 4xx naming the field.

- Text no database can store: NUL and other C0 control characters (PostgreSQL refuses NUL
  in text), and lone UTF-16 surrogates ("\\ud800": valid JSON, not valid Unicode; the
  database driver cannot encode them). Tab, newline and carriage return stay allowed.
- JSON nested deeper than ``MAX_JSON_DEPTH`` (1,000 levels overflowed the parser's stack)
  and integers longer than ``MAX_INTEGER_DIGITS`` (no id, count or amount has more; Python
  refuses to convert more than 4,300 digits at all).
- Bodies over the size limit: ``MAX_CONTENT_LENGTH`` (JSON), or ``NOC_MAX_IMPORT_BYTES``
  for the views marked ``@large_upload`` (CSV imports, which read their body as a stream).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

from flask import current_app, request
from flask_smorest import abort

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_STRUCTURE = re.compile(r'[\\"\[\]{}]')
MAX_JSON_DEPTH = 32
MAX_INTEGER_DIGITS = 30  # a BIGINT has 19

CONTROL_CHARACTER = "含有不允许的控制字符 (contains a control character)"
SURROGATE = "含有无效的 Unicode 字符（孤立代理项） (contains a lone surrogate, not valid Unicode)"
TOO_DEEP = f"嵌套超过 {MAX_JSON_DEPTH} 层 (nested more than {MAX_JSON_DEPTH} levels deep)"
TOO_LONG_NUMBER = f"数字超过 {MAX_INTEGER_DIGITS} 位 (a number of more than {MAX_INTEGER_DIGITS} digits)"


def has_control_character(text: str) -> bool:
    return _FORBIDDEN.search(text) is not None


def text_problem(text: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if _FORBIDDEN.search(text):
        return CONTROL_CHARACTER
    if _SURROGATE.search(text):
        return SURROGATE
    return None


def large_upload(view: Callable) -> Callable:
    """Mark a view that accepts a body up to ``NOC_MAX_IMPORT_BYTES`` (put it innermost)."""
    view.large_upload = True
    return view


class _LongInteger(str):
    """A JSON integer literal too long to be a number the API accepts (kept as text to name its field)."""


def _integer(literal: str) -> int | _LongInteger:
    return _LongInteger(literal) if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS else int(literal)


def _problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, problem) for each bad string, key, integer or nesting level; iterative, so any depth is safe."""
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, _LongInteger):
            yield where, TOO_LONG_NUMBER
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield where, problem
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                yield where, TOO_DEEP
                continue
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                child_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and text_problem(key):
                    yield child_path, text_problem(key)
                stack.append((child, child_path, depth + 1))


def _too_deep_field(text: str) -> str:
    """The top-level field whose value nests too deep to parse: the last string seen at depth 1
    before the nesting passes the limit (keys precede their values)."""
    depth, in_string, skip_to, string_start, field = 0, False, -1, 0, "_body"
    for match in _JSON_STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at < skip_to:
            continue
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
                if depth == 1:
                    field = text[string_start:at]
        elif char == '"':
            in_string, string_start = True, at + 1
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return field
        else:
            depth -= 1
    return field


def _json_body() -> Any:
    """The parsed JSON body; None when empty or not JSON at all (the schema's parser answers 400 then)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_int=_integer)
    except RecursionError:
        field = _too_deep_field(raw.decode("utf-8", "replace"))
        abort(422, errors={"json": {field: [TOO_DEEP]}})
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        abort(400, message="请求体不是有效的 JSON (the body is not valid JSON)", errors={"json": {"_body": ["invalid JSON"]}})


def _apply_size_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "large_upload", False):
        request.max_content_length = current_app.config["NOC_MAX_IMPORT_BYTES"]
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413, message=f"请求体超过 {limit} 字节 (the body is larger than {limit} bytes)", limit=limit)


def reject_control_characters() -> None:
    _apply_size_limit()
    errors: dict[str, dict[str, list[str]]] = {}
    for location, data in (("query", request.args.to_dict(flat=False)), ("form", request.form.to_dict(flat=False))):
        for bad, problem in _problems(data, ""):
            errors.setdefault(location, {})[bad.split(".")[0]] = [problem]
    if request.is_json:
        for bad, problem in _problems(_json_body(), ""):
            # Name the top-level field of a too-deep value, not a path 32 levels long.
            field = bad.split(".")[0] if problem == TOO_DEEP else bad
            errors.setdefault("json", {})[field or "_body"] = [problem]
    if errors:
        abort(422, errors=errors)

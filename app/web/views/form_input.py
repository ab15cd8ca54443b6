"""Form plumbing shared by the console's action views: wall-clock times to UTC, the API's
schemas loading the console's input, and refusals put on the field they name."""
from __future__ import annotations

from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError

from app.errors import InvalidInput
from app.web import messages, timefmt


def put_time(payload: dict, key: str, wall_clock) -> None:
    moment = timefmt.local_to_utc(wall_clock)
    if moment is not None:
        payload[key] = moment.isoformat()


def put_text(payload: dict, key: str, text: str | None) -> None:
    if text and text.strip():
        payload[key] = text.strip()


def text_of(messages_: Any) -> str:
    if isinstance(messages_, dict):
        return "；".join(text_of(m) for m in messages_.values())
    if isinstance(messages_, list):
        return "；".join(text_of(m) for m in messages_)
    return str(messages_)


def load(schema: Schema, payload: dict, form: FlaskForm) -> dict | None:
    """The API's own schema checks the console's input too; its complaints land on the form's fields."""
    try:
        return schema.load(payload)
    except ValidationError as exc:
        for field, problems in exc.messages.items():
            target = getattr(form, field, None)
            (target.errors if target is not None else form.form_errors).append(text_of(problems))
        return None


def attach_invalid(form: FlaskForm, error: InvalidInput) -> None:
    """Put the service's refusal on the field it names, and flash it."""
    path, message = messages.invalid_field_and_message(error)
    target = getattr(form, path, None)
    if path.startswith("entries.") and hasattr(form, "entries"):
        target = None  # row indices after blank rows were skipped; shown at the top of the form
    if target is not None and hasattr(target, "errors") and isinstance(target.errors, list):
        target.errors.append(message)
    else:
        form.form_errors.append(messages.describe_invalid(error))
    flash(messages.describe_invalid(error), "error")

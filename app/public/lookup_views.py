"""POST /status/lookup and /status/lookup/verify, on the public blueprint (no login).

Both take JSON (``{"phone": …}``, ``{"phone": …, "code": …}``) and answer JSON, or a plain
HTML form post (the /status page's forms, which work without JavaScript) and answer a page.
No CSRF token: the status page is one cached rendering for everybody, and a forged post can
only do what its author could do directly (ask a code for a number, try a code). Answers are
never cached (``no-store``); a rate limit answers 429 with ``Retry-After`` and its name.
"""
from __future__ import annotations

from flask import Response, jsonify, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.clock import utcnow
from app.errors import InvalidInput
from app.policy import current_policy
from app.public import lookup
from app.public.lookup_limits import RateLimited
from app.public.views import bp


class LookupSchema(Schema):
    class Meta:
        unknown = EXCLUDE   # a form post also carries its button

    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))


class VerifySchema(LookupSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))


def _wants_json() -> bool:
    return request.is_json


def _input(schema: Schema) -> dict:
    raw = (request.get_json(silent=True) if _wants_json() else request.form.to_dict()) or {}
    if not isinstance(raw, dict):
        raise InvalidInput("json", "请求体须为 JSON 对象 (the body must be a JSON object)")
    try:
        return schema.load(raw)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"json": exc.messages}
        raise InvalidInput(sorted(messages)[0], "缺少或无效 (missing or invalid)") from None


def _answer(payload: dict, status: int, page: str, **context) -> Response:
    if _wants_json():
        response = jsonify(payload)
        response.status_code = status
    else:
        response = Response(render_template(page, policy=current_policy(), **context), status=status,
                            mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(error: InvalidInput | RateLimited, page: str, **context) -> Response:
    response = _answer(error.payload(), error.status_code, page, error=error.message, **context)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _address() -> str:
    return request.remote_addr or "-"


@bp.post("/status/lookup")
def status_lookup():
    try:
        phone = _input(LookupSchema())["phone"]
        answer = lookup.request_code(phone, _address(), utcnow(), current_policy())
    except (InvalidInput, RateLimited) as error:
        return _refused(error, "public/lookup.html", phone=request.form.get("phone", ""))
    return _answer(answer, 202, "public/lookup.html", sent=answer, phone=phone)


@bp.post("/status/lookup/verify")
def status_lookup_verify():
    phone = request.form.get("phone", "")
    try:
        body = _input(VerifySchema())
        phone = body["phone"]
        answer = lookup.verify_code(phone, body["code"], _address(), utcnow(), current_policy())
    except (InvalidInput, RateLimited) as error:
        return _refused(error, "public/lookup.html", phone=phone, sent=True)
    return _answer(answer, 200, "public/lookup_answer.html", answer=answer)

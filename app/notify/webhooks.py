"""Provider webhooks: delivery status and inbound SMS (a plain blueprint: signature, not bearer token).

Both refuse with 403, changing nothing, unless ``X-Twilio-Signature`` is valid for the URL
and form fields under the provider's auth token (``RequestValidator``).
"""
from __future__ import annotations

import logging

from xml.sax.saxutils import escape

from flask import Blueprint, abort, request
from twilio.request_validator import RequestValidator

from app.notify import inbound, status_updates
from app.notify.settings import current_settings

log = logging.getLogger(__name__)

blp = Blueprint("sms_webhooks", __name__, url_prefix="/api/v1/webhooks/sms")


def _require_signature() -> dict:
    settings = current_settings()
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict()
    validator = RequestValidator(settings.auth_token)
    # The provider signs the URL it was given; behind a proxy that is the public URL.
    candidates = {request.url}
    public = settings.public_base_url + request.full_path.rstrip("?")
    candidates.add(public)
    if not signature or not any(validator.validate(url, params, signature) for url in candidates):
        log.warning("webhook %s refused: bad or missing signature", request.path)
        abort(403, description="签名无效 (invalid X-Twilio-Signature)")
    return params


@blp.post("/status")
def delivery_status():
    params = _require_signature()
    status_updates.apply_callback(
        notice_id=request.args.get("notice", type=int), staff_alert_id=request.args.get("staff_alert", type=int),
        sid=params.get("MessageSid") or params.get("SmsSid"),
        status=params.get("MessageStatus") or params.get("SmsStatus") or "", error_code=params.get("ErrorCode"))
    return "", 204


@blp.post("/inbound")
def inbound_sms():
    params = _require_signature()
    reply = inbound.handle(params.get("From", ""), params.get("Body", ""), params.get("MessageSid"))
    body = f"<Response><Message>{escape(reply)}</Message></Response>" if reply else "<Response/>"
    return body, 200, {"Content-Type": "application/xml; charset=utf-8"}

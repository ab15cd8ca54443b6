"""Helpers for the notifier tests."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from app.extensions import db
from app.notify.sender import Sender


def drain(sender: Sender, limit: int = 100) -> int:
    db.session.commit()  # SQLite: no read transaction of ours may block the sender's writes
    total = 0
    for _ in range(limit):
        handled = sender.run_once()
        if not handled:
            break
        total += handled
    return total


def signed_post(client, app, path: str, params: dict, *, token: str | None = None, signature: str | None = None):
    """POST a provider webhook through the test client, signed as Twilio signs (or with the given signature)."""
    url = f"http://localhost{path}"
    token = token or app.extensions["noc_notify_settings"].auth_token
    headers = {}
    if signature is None:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
    elif signature:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=params, headers=headers)


def post_status_callbacks(client, gateway, notice_statuses: dict[int, tuple[str, str | None]]) -> None:
    """Post, through the test client, the status callbacks the gateway would post for these notices.

    ``notice_statuses``: notice id → (final status, error code), e.g. ("delivered", None) or
    ("undelivered", "30006"). Each message first reports ``sent``. The callback URL, the form
    fields and the signature are the gateway's own (``GatewayApp.signed_post`` builds the same).
    """
    from urllib.parse import urlsplit

    from app.notify.models import Notice

    app = gateway.gateway
    by_sid = {m["sid"]: m for m in app.messages.values()}
    for notice_id, (final, code) in notice_statuses.items():
        sid = db.session.get(Notice, notice_id).provider_sid
        message = by_sid[sid]
        url = urlsplit(message["status_callback"])
        for status, error in (("sent", None), (final, code)):
            params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": app.account_sid, "MessageStatus": status,
                      "SmsStatus": status, "To": message["to"], "From": message["from"] or "",
                      "ApiVersion": "2010-04-01"}
            if error:
                params["ErrorCode"] = error
            signature = app.validator.compute_signature(message["status_callback"], params)
            response = client.post(f"{url.path}?{url.query}", data=params, headers={"X-Twilio-Signature": signature})
            assert response.status_code == 204, response.get_data(as_text=True)
        db.session.expire_all()

""""Is my line affected?": POST /status/lookup and /status/lookup/verify.

Enumeration resistance, the code's life (SMS through the local gateway, expiry, single use,
wrong codes), the rate limits per phone and per client address, the verified answer (own
services, state, expected recovery, compensation from the ledger) and the counts.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.extensions import db
from app.public.models import StatusLookupCode, StatusLookupDay, StatusLookupIncidentDay
from tests import factories

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)   # 10:00 in Shanghai
SUBSCRIBER = "+8613800138001"
NEIGHBOUR = "+8613800138002"       # another subscriber of the same region: never in the answer
STRANGER = "+8613900139009"        # no subscriber has this number
CODE_IN_SMS = re.compile(r"验证码为 (\d{6})")


@pytest.fixture
def clock(app_ctx):
    with freeze_time(NOW) as frozen:
        yield frozen


@pytest.fixture
def people(clock):
    factories.subscriber(SUBSCRIBER, services=["mobile_data", "broadband"], name="王小明")
    factories.subscriber(NEIGHBOUR, services=["mobile_data", "mobile_voice"], name="李秀英")


def ask(client, phone, address="198.51.100.7", **kwargs):
    return client.post("/status/lookup", json={"phone": phone}, environ_base={"REMOTE_ADDR": address}, **kwargs)


def verify(client, phone, code, address="198.51.100.7"):
    return client.post("/status/lookup/verify", json={"phone": phone, "code": code},
                       environ_base={"REMOTE_ADDR": address})


def sent_code(gateway, phone) -> str:
    codes = [CODE_IN_SMS.search(m["body"]) for m in gateway.gateway.messages.values() if m["to"] == phone]
    codes = [found.group(1) for found in codes if found]
    assert codes, f"no code SMS to {phone}"
    return codes[-1]


def deliver_codes(sender):
    sender.run_once()


def ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_data(as_text=True)
    return response.json


def test_the_answer_is_the_same_for_a_subscriber_and_a_stranger(client, people, gateway, sender):
    mine, theirs = ask(client, SUBSCRIBER), ask(client, STRANGER)
    assert mine.status_code == theirs.status_code == 202
    assert mine.get_data() == theirs.get_data()
    for header in ("Content-Type", "Content-Length", "Cache-Control"):
        assert mine.headers.get(header) == theirs.headers.get(header)
    assert mine.headers["Cache-Control"] == "no-store"
    # Wrong codes are refused alike too (the stranger's row exists, its code was never sent).
    assert verify(client, SUBSCRIBER, "000000").get_data() == verify(client, STRANGER, "000000").get_data()
    # The HTML forms answer alike (but for the number typed back into the form).
    pages = [client.post("/status/lookup", data={"phone": phone}, environ_base={"REMOTE_ADDR": "198.51.100.8"})
             for phone in (NEIGHBOUR, "+8613900139008")]
    assert [page.status_code for page in pages] == [202, 202]
    assert pages[0].get_data(as_text=True).replace(NEIGHBOUR, "N") == \
        pages[1].get_data(as_text=True).replace("+8613900139008", "N")

    deliver_codes(sender)
    recipients = sorted(m["to"] for m in gateway.gateway.messages.values())
    assert recipients == [SUBSCRIBER, NEIGHBOUR]     # only subscribers get an SMS
    statuses = dict(db.session.execute(select(StatusLookupCode.phone, StatusLookupCode.status)
                                       .where(StatusLookupCode.phone.in_([SUBSCRIBER, STRANGER]))).all())
    assert statuses == {SUBSCRIBER: "accepted", STRANGER: "unsent"}


def test_the_code_reaches_the_gateway_and_is_kept_only_hashed(client, people, gateway, sender):
    ok(ask(client, "138 0013 8001"), (202,))     # any common format of the number
    deliver_codes(sender)
    code = sent_code(gateway, SUBSCRIBER)
    message = next(m for m in gateway.gateway.messages.values() if m["to"] == SUBSCRIBER)
    assert "分钟内有效" in message["body"]
    row = db.session.scalars(select(StatusLookupCode).where(StatusLookupCode.phone == SUBSCRIBER)).one()
    assert row.status == "accepted" and row.sealed_code is None     # nothing left to recover the code from
    assert code not in row.code_hash and len(row.code_hash) == 64
    answer = ok(verify(client, SUBSCRIBER, code))
    assert answer["subscriber"] is True and answer["phone"] == "+86138****8001"


def test_a_code_is_single_use(client, people, gateway, sender):
    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    code = sent_code(gateway, SUBSCRIBER)
    ok(verify(client, SUBSCRIBER, code))
    again = verify(client, SUBSCRIBER, code)
    assert again.status_code == 422 and "code" in again.json["errors"]["json"]


def test_a_code_expires(client, people, gateway, sender, clock):
    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    code = sent_code(gateway, SUBSCRIBER)
    clock.tick(timedelta(minutes=10, seconds=1))
    assert verify(client, SUBSCRIBER, code).status_code == 422


def test_an_expired_code_is_never_sent(client, people, gateway, sender, clock):
    ask(client, SUBSCRIBER)
    clock.tick(timedelta(minutes=11))
    deliver_codes(sender)
    assert gateway.gateway.messages == {}


def test_wrong_codes_spend_the_code(client, people, gateway, sender):
    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    code = sent_code(gateway, SUBSCRIBER)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        refused = verify(client, SUBSCRIBER, wrong)
        assert refused.status_code == 422 and refused.json["errors"]["json"]["code"]
    assert verify(client, SUBSCRIBER, code).status_code == 422      # the right code comes too late
    malformed = verify(client, SUBSCRIBER, "12ab")
    assert malformed.status_code == 422 and "6 位数字" in malformed.json["message"]


def test_a_newer_code_replaces_the_older(client, people, gateway, sender):
    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    first = sent_code(gateway, SUBSCRIBER)
    gateway.gateway.reset()
    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    second = sent_code(gateway, SUBSCRIBER)
    if first != second:
        assert verify(client, SUBSCRIBER, first).status_code == 422
    ok(verify(client, SUBSCRIBER, second))


def test_bad_input_names_the_field_and_changes_nothing(client, people):
    for body, field in (({"phone": "not a number"}, "phone"), ({}, "phone"), ({"phone": 13800138001}, "phone"),
                        ({"phone": "1" * 41}, "phone")):
        response = client.post("/status/lookup", json=body)
        assert response.status_code == 422 and field in response.json["errors"]["json"], body
    assert client.post("/status/lookup/verify", json={"phone": SUBSCRIBER}).json["errors"]["json"] == {
        "code": ["缺少或无效 (missing or invalid)"]}
    assert db.session.scalar(select(func.count()).select_from(StatusLookupCode)) == 0


def test_rate_limit_per_phone(client, people, clock):
    for _ in range(3):
        assert ask(client, SUBSCRIBER).status_code == 202
    limited = ask(client, SUBSCRIBER, address="203.0.113.9")       # another address: still the phone's limit
    assert limited.status_code == 429 and limited.json["limit"] == "phone"
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # The same answer for a number that is no subscriber's …
    for _ in range(3):
        ask(client, STRANGER)
    assert ask(client, STRANGER).json["limit"] == "phone"
    # … other numbers are not held up, and the next window starts afresh.
    assert ask(client, NEIGHBOUR).status_code == 202
    clock.tick(timedelta(seconds=int(limited.headers["Retry-After"])))
    assert ask(client, SUBSCRIBER).status_code == 202


def test_rate_limit_per_client_address(client, people):
    numbers = [f"+86137{i:08d}" for i in range(20)]
    for number in numbers:
        assert ask(client, number, address="192.0.2.1").status_code == 202
    limited = ask(client, SUBSCRIBER, address="192.0.2.1")
    assert limited.status_code == 429 and limited.json["limit"] == "address" and limited.headers["Retry-After"]
    assert ask(client, SUBSCRIBER, address="192.0.2.2").status_code == 202
    assert db.session.get(StatusLookupDay, NOW.date()).rate_limited == 1


def test_wrong_code_tries_are_limited_per_client_address(client, people):
    for i in range(30):
        assert verify(client, f"+86137{i:08d}", "123456", address="192.0.2.5").status_code == 422
    limited = verify(client, SUBSCRIBER, "123456", address="192.0.2.5")
    assert limited.status_code == 429 and limited.json["limit"] == "verify_address"


def test_the_form_pages_work_without_script(client, people, gateway, sender):
    page = client.get("/status").get_data(as_text=True)
    assert 'action="/status/lookup"' in page and "<script" not in page
    sent = client.post("/status/lookup", data={"phone": SUBSCRIBER})
    assert sent.status_code == 202 and 'action="/status/lookup/verify"' in sent.get_data(as_text=True)
    deliver_codes(sender)
    answer = client.post("/status/lookup/verify", data={"phone": SUBSCRIBER, "code": sent_code(gateway, SUBSCRIBER)})
    assert answer.status_code == 200 and "+86138****8001" in answer.get_data(as_text=True)
    refused = client.post("/status/lookup/verify", data={"phone": SUBSCRIBER, "code": "000000"})
    assert refused.status_code == 422 and "验证码错误或已失效" in refused.get_data(as_text=True)


def test_old_codes_and_the_numbers_in_them_are_deleted(client, people, clock):
    ask(client, SUBSCRIBER)
    ask(client, STRANGER)
    clock.tick(timedelta(hours=25))
    ask(client, NEIGHBOUR)
    assert db.session.scalars(select(StatusLookupCode.phone)).all() == [NEIGHBOUR]


def test_limits_and_codes_hold_across_processes(app, client, people, gateway, sender):
    """A second application on the same database (another web process) sees the same counts and
    verifies a code the first one issued (the installation secret is shared, not per process)."""
    from app import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True})
    other_client = other.test_client()
    for _ in range(2):
        ask(client, SUBSCRIBER)
    assert ask(other_client, SUBSCRIBER).status_code == 202
    assert ask(client, SUBSCRIBER).json["limit"] == "phone"
    assert ask(other_client, SUBSCRIBER).status_code == 429
    deliver_codes(sender)
    assert verify(other_client, SUBSCRIBER, sent_code(gateway, SUBSCRIBER)).status_code == 200
    with other.app_context():
        db.engine.dispose()


def test_a_subscriber_and_a_stranger_cost_the_same_statements(client, people):
    """Timing as far as it can be made equal: the same SQL, in the same order, either way."""
    from sqlalchemy import event

    ask(client, "+8613900139001")                         # warm-up: first-use work of any kind
    statements: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    verify(client, "+8613900139001", "000000")
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        runs = {}
        for number, address in ((SUBSCRIBER, "198.51.100.20"), (STRANGER, "198.51.100.21")):
            statements.clear()
            ask(client, number, address=address)
            verify(client, number, "000000", address=address)      # a wrong code, alike too
            runs[number] = list(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert runs[SUBSCRIBER] == runs[STRANGER] and len(runs[SUBSCRIBER]) >= 8


def test_of_racing_right_answers_exactly_one_wins(app, client, people, gateway, sender):
    import threading

    ask(client, SUBSCRIBER)
    deliver_codes(sender)
    code = sent_code(gateway, SUBSCRIBER)
    start, results = threading.Barrier(4), []

    def attempt(i):
        racer = app.test_client()
        start.wait()
        results.append(verify(racer, SUBSCRIBER, code, address=f"198.51.100.{30 + i}").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 422, 422, 422]


def test_a_code_claimed_by_a_sender_that_died_is_not_sent_twice(client, people, gateway, sender, sender_settings):
    """The dead sender's SMS reached the provider but its outcome was never recorded: the next
    sender finds it at the provider (same number and body) and adopts it instead of re-sending."""
    import uuid

    from sqlalchemy import update

    from app.clock import utcnow
    from app.notify.twilio_client import sender_identity
    from app.public import lookup_sms

    gateway.gateway.idempotent = False          # only the look-up may keep it from going twice
    ask(client, SUBSCRIBER)
    claimed = lookup_sms.claim_queued(uuid.uuid4().hex, 5, utcnow(), 60, 10)
    db.session.commit()
    assert [c.phone for c in claimed] == [SUBSCRIBER]
    sender.clients.get().messages.create(to=SUBSCRIBER, body=claimed[0].body, **sender_identity(sender_settings))
    db.session.execute(update(StatusLookupCode).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()                         # its lease ran out

    deliver_codes(sender)
    assert len(gateway.gateway.messages) == 1
    row = db.session.scalars(select(StatusLookupCode)).one()
    db.session.refresh(row)
    assert row.status == "accepted" and row.provider_sid == next(iter(gateway.gateway.messages))
    assert verify(client, SUBSCRIBER, sent_code(gateway, SUBSCRIBER)).status_code == 200

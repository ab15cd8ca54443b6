"""The import's PostgreSQL fast path (COPY, then SQL) rejects the same lines for the same reasons
as the Python path — a plain file split by COPY itself, any other line by line — falls back to
the CSV reader for quoted fields, and imports nothing from a file that is not UTF-8 or from an
import that fails half-way (its bulk load's dropped indexes and key come back)."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.subscribers import csv_import
from app.subscribers.models import Subscriber, SubscriberService

HEADER = "phone,name,region,services,monthly_fee,language\n"
LINES = [
    "13800000001,李四,杭州,mobile_data;broadband;mobile_data,58.00,zh-CN",  # 2 good (a repeated service)
    "+86 138 0000 0002,王五,宁波,mobile_voice,38,en",                       # 3 good
    "12345,坏号码,杭州,mobile_data,10,zh-CN",                               # 4 phone unparseable
    "13800000003,,杭州,,10,zh-CN",                                          # 5 no service
    "13800000004,,杭州,mobile_data,ten,zh-CN",                              # 6 fee
    "13800000005,,杭州,mobile_data,10,fr",                                   # 7 language
    "138-0000-0002,重复,杭州,mobile_data,10,zh-CN",                         # 8 duplicate of line 3
    "13800000006,,杭州,mobile_data",                                         # 9 short row
    "13800000007,,,mobile_data,10,zh-CN",                                    # 10 no region
    "",                                                                      # 11 blank: skipped
    "13800000008,控制\x07字符,杭州,mobile_data,10,zh-CN",                    # 12 control character
    "13800000009,,火星,mobile_data,10,zh-CN",                                # 13 unknown region
    "13800000010,,杭州,mobile_data;teleport;warp,10,zh-CN",                  # 14 unknown services
    "13800000011,坏费,杭州,mobile_data,-1,zh-CN",                            # 15 fee (odd shape)
    "0086 138 0000 0012,,杭州,mobile_data,12.5,",                            # 16 good: 0086, default language
    "12000000013,,杭州,mobile_data,10,zh-CN",                                # 17 unallocated mobile prefix
    "138 0000 0012,,杭州,mobile_data,9,zh-CN",                               # 18 duplicate of line 16
    "0571 8888 8888,座机,杭州,fixed_voice,20,zh-CN",                         # 19 good: a landline (odd shape)
]


def _file(lines=LINES) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def _state():
    subscribers = db.session.execute(sa.select(Subscriber.phone, Subscriber.name, Subscriber.region,
                                               Subscriber.monthly_fee_fen, Subscriber.language)
                                     .order_by(Subscriber.phone)).all()
    services = db.session.execute(sa.select(Subscriber.phone, SubscriberService.service)
                                  .join(SubscriberService).order_by(Subscriber.phone, SubscriberService.service)).all()
    return [tuple(r) for r in subscribers], [tuple(r) for r in services]


def _forget_everyone():
    db.session.execute(sa.delete(SubscriberService))
    db.session.execute(sa.delete(Subscriber))
    db.session.commit()


def _result(result):
    return result.created, result.updated, result.rejected, result.rejected_rows


@pytest.fixture
def postgres_only(app_ctx, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; SQLite always takes the Python path")


def test_the_copy_path_and_the_python_path_agree_line_for_line(postgres_only, monkeypatch):
    fast = csv_import.import_binary_stream(io.BytesIO(_file()))
    fast_state = _state()
    _forget_everyone()
    python = csv_import.import_csv(io.StringIO(_file().decode()))
    assert _result(fast) == _result(python)
    assert fast_state == _state()
    assert (fast.created, fast.rejected) == (4, 13)
    reasons = {row["line"]: row["reason"] for row in fast.rejected_rows}
    assert "line 3" in reasons[8] and "line 16" in reasons[18]
    assert reasons[12].startswith("name:") and "控制字符" in reasons[12]
    assert "火星" in reasons[13] and "teleport" in reasons[14] and "warp" in reasons[14]
    # and a second run is all updates of unchanged rows: nothing created
    again = csv_import.import_binary_stream(io.BytesIO(_file()))
    assert (again.created, again.updated) == (0, 4)


def test_the_copy_path_is_the_one_taken_for_a_plain_file(postgres_only, monkeypatch):
    monkeypatch.setattr(csv_import, "import_csv", lambda *a, **k: pytest.fail("took the Python path"))
    assert csv_import.import_binary_stream(io.BytesIO(_file(LINES[:2]))).created == 2


def test_a_quoted_field_falls_back_to_the_csv_reader_with_the_whole_file(postgres_only, monkeypatch):
    monkeypatch.setattr("app.subscribers.csv_copy.CHUNK", 64)  # the quote arrives in a later chunk
    lines = LINES[:2] + ['13800000020,"张, 三",杭州,mobile_data,10,zh-CN']
    result = csv_import.import_binary_stream(io.BytesIO(_file(lines)))
    assert (result.created, result.rejected) == (3, 0)
    assert db.session.scalar(sa.select(Subscriber.name).where(Subscriber.phone == "+8613800000020")) == "张, 三"


def test_a_file_that_is_not_utf8_imports_nothing(postgres_only, operator_api):
    body = _file(LINES[:2])[:-1] + "\n13800000030,名字,杭州,mobile_data,10,zh-CN\n".encode("gbk")
    response = operator_api.post("/subscribers/import", data=body, content_type="text/csv")
    assert response.status_code == 422 and "UTF-8" in response.json["message"]
    assert _state() == ([], [])


def test_a_missing_column_is_line_one(postgres_only):
    result = csv_import.import_binary_stream(io.BytesIO(b"phone,name,region\n13800000001,a,b\n"))
    assert result.rejected_rows == [{"line": 1, "reason": result.rejected_rows[0]["reason"]}]
    assert "services" in result.rejected_rows[0]["reason"] and _state() == ([], [])


PLAIN = [line for line in LINES if line and "\x07" not in line and line.count(",") == 5]  # COPY can split these


def _both_paths(body: bytes):
    fast = csv_import.import_binary_stream(io.BytesIO(body))
    fast_state = _state()
    _forget_everyone()
    python = csv_import.import_csv(io.StringIO(body.decode()))
    assert _result(fast) == _result(python)
    assert fast_state == _state()
    return fast


def test_a_plain_file_is_split_by_copy_and_judged_the_same(postgres_only, monkeypatch):
    from app.subscribers import csv_copy

    monkeypatch.setattr(csv_copy, "copy_lines", lambda *a, **k: pytest.fail("took the line path"))
    fast = _both_paths(_file(PLAIN))
    assert (fast.created, fast.rejected) == (4, 11)


@pytest.mark.parametrize("odd_line", ["", "13800000040,,杭州,mobile_data", "13800000041 ,,杭州,mobile_data,10,zh-CN",
                                      "13800000042,,杭州,mobile_data,10,zh-CN,extra", "13800000043,\x07,杭州,sms,1,en"])
def test_a_line_copy_cannot_split_sends_the_file_line_by_line(postgres_only, monkeypatch, odd_line):
    from app.subscribers import csv_copy

    monkeypatch.setattr(csv_copy, "CHUNK", 64)  # the odd line arrives in a later chunk
    line_path = []
    monkeypatch.setattr(csv_copy, "copy_lines", lambda *a, real=csv_copy.copy_lines: line_path.append(a) or real(*a))
    fast = _both_paths(_file(PLAIN + [odd_line]))
    assert line_path and fast.created == 4 + (odd_line.startswith("13800000041"))


@pytest.mark.parametrize("late_problem", [False, True])
def test_duplicates_are_named_into_empty_tables_and_over_existing_ones(postgres_only, late_problem):
    lines = PLAIN[:2] + ["138-0000-0002,重复,杭州,mobile_data,10,zh-CN", "13800000001,,杭州,mobile_data,1,zh-CN"]
    if late_problem:   # a duplicate that is also bad: still named a duplicate, as the Python path does
        lines.append("13800000001,,火星,mobile_data,1,zh-CN")
    first = csv_import.import_binary_stream(io.BytesIO(_file(lines)))   # a bulk load
    again = csv_import.import_binary_stream(io.BytesIO(_file(lines)))   # an upsert
    for result in (first, again):
        assert [row["line"] for row in result.rejected_rows] == [4, 5] + ([6] if late_problem else [])
        assert all("duplicate of line" in row["reason"] for row in result.rejected_rows)
    assert (first.created, again.updated) == (2, 2)
    _forget_everyone()
    python = csv_import.import_csv(io.StringIO(_file(lines).decode()))
    assert _result(python)[2:] == _result(first)[2:]


def _indexes():
    return db.session.execute(sa.text(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid IN ('subscribers'::regclass, "
        "'subscriber_services'::regclass) UNION ALL SELECT conname FROM pg_constraint WHERE conrelid IN "
        "('subscribers'::regclass, 'subscriber_services'::regclass) ORDER BY 1")).scalars().all()


def test_an_import_failing_half_way_leaves_nothing_and_every_index(postgres_only, monkeypatch):
    from app.subscribers import copy_write

    before = _indexes()
    assert "ix_subscribers_region" in before and "fk_subscriber_services_subscriber_id_subscribers" in before
    real = copy_write.secondary_indexes_dropped

    def dies_after_the_load(connection, tables):
        with real(connection, tables):
            yield
            assert connection.exec_driver_sql("SELECT count(*) FROM subscribers").scalar_one() == 4
            raise RuntimeError("killed half-way")

    import contextlib
    monkeypatch.setattr(copy_write, "secondary_indexes_dropped", contextlib.contextmanager(dies_after_the_load))
    version = db.session.execute(sa.text("SELECT version FROM subscriber_data_versions")).scalar()
    with pytest.raises(RuntimeError):
        csv_import.import_binary_stream(io.BytesIO(_file(PLAIN)))
    assert _state() == ([], []) and _indexes() == before
    assert db.session.execute(sa.text("SELECT version FROM subscriber_data_versions")).scalar() == version
    monkeypatch.undo()
    assert csv_import.import_binary_stream(io.BytesIO(_file(PLAIN))).created == 4   # and the next one works
    assert db.session.execute(sa.text("SELECT version FROM subscriber_data_versions")).scalar() != version


def _from_another_session(statement: str) -> str:
    """'ok', or 'waits' when the statement would wait for the import's lock."""
    with db.engine.connect() as other:
        other.exec_driver_sql("SET lock_timeout = '200ms'")
        try:
            other.exec_driver_sql(statement)
        except sa.exc.OperationalError:
            return "waits"
        finally:
            other.rollback()
    return "ok"


@pytest.mark.parametrize("existing", [False, True])
def test_other_writers_wait_for_the_import_and_readers_of_a_filled_table_do_not(postgres_only, monkeypatch,
                                                                               existing):
    from app.subscribers import csv_copy

    if existing:
        csv_import.import_binary_stream(io.BytesIO(_file(PLAIN[:1])))
    seen = {}
    real = csv_copy.judge

    def judge_and_look(*args):
        seen["write"] = _from_another_session(
            "INSERT INTO subscribers (phone, name, region, monthly_fee_fen, language, created_at, updated_at) "
            "VALUES ('+8613800000099', '', '杭州', 0, 'zh-CN', now(), now())")
        seen["read"] = _from_another_session("SELECT count(*) FROM subscribers")
        return real(*args)

    monkeypatch.setattr(csv_copy, "judge", judge_and_look)
    assert csv_import.import_binary_stream(io.BytesIO(_file(PLAIN))).created == 4 - existing
    assert seen == {"write": "waits", "read": "ok" if existing else "waits"}

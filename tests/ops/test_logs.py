"""Log lines: JSON with NOC_LOG_FORMAT=json, and a phone number never reaches a log unmasked."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

from app.config import PROJECT_ROOT
from app.ops.logs import build_handler, mask_phones


def _logger(stream, log_format: str) -> logging.Logger:
    logger = logging.getLogger(f"noc-test-{log_format}")
    logger.handlers = [build_handler(log_format, stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_every_common_phone_form_is_masked_and_other_numbers_are_left_alone():
    line = "to +8613800138000, 13900139000 and 8613700137000; notice 123456, INC-20261123-0007, 3.14"
    assert mask_phones(line) == ("to +86138****8000, 139****9000 and 86137****7000; notice 123456, "
                                 "INC-20261123-0007, 3.14")


def test_text_lines_mask_arguments_messages_and_tracebacks():
    stream = io.StringIO()
    logger = _logger(stream, "text")
    logger.info("notice %s to %s", 7, "+8613800138000")
    try:
        raise ValueError("cannot send to 13900139000")
    except ValueError:
        logger.exception("failed for +8613700137000")
    text = stream.getvalue()
    assert "+86138****8000" in text and "139****9000" in text and "+86137****7000" in text
    assert "13800138000" not in text and "13900139000" not in text and "13700137000" not in text


def test_json_lines_are_one_object_per_line_with_phones_masked():
    stream = io.StringIO()
    logger = _logger(stream, "json")
    logger.warning("短信发送失败 %s", "+8613800138000")
    try:
        raise RuntimeError("+8613900139000 unreachable")
    except RuntimeError:
        logger.exception("boom")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["level"] == "WARNING" and first["logger"] == "noc-test-json" and "time" in first
    assert first["message"] == "短信发送失败 +86138****8000"
    assert "+86139****9000" in second["exc_info"] and "8613900139000" not in second["exc_info"]


def test_the_product_logs_json_lines_when_asked():
    script = ("import logging; from app import create_app; create_app();"
              "logging.getLogger('app.notify.sender').warning('to %s', '+8613800138000')")
    env = {**os.environ, "NOC_LOG_FORMAT": "json", "DATABASE_URL": "sqlite://"}
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["logger"], line["message"]) == ("app.notify.sender", "to +86138****8000")

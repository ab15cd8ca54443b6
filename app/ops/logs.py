"""Log lines: text by default, JSON lines with ``NOC_LOG_FORMAT=json``; phones masked in every line.

The mask is a logging filter on the product's handler (every logger propagates to it: the
product's, waitress's, twilio's, APScheduler's), so a phone number reaches no log unmasked,
whoever wrote the line; exception text is masked by the formatters.
"""
from __future__ import annotations

import logging
import os
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from app.phones import mask

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d %(threadName)s"
# E.164 (+8613800138000) and the national forms of a mainland mobile (13800138000, 8613800138000).
PHONE = re.compile(r"\+\d{8,15}|(?<![\d*])(?:86)?1[3-9]\d{9}(?!\d)")


def mask_phones(text: str) -> str:
    return PHONE.sub(lambda match: mask(match.group(0)), text)


class MaskPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class MaskedText(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return mask_phones(super().formatException(ei))


class MaskedJsonLines(JsonFormatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return mask_phones(super().formatException(ei))


def build_handler(log_format: str, stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(MaskedJsonLines(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                         "name": "logger"},
                                             json_ensure_ascii=False))
    else:
        handler.setFormatter(MaskedText(TEXT_FORMAT))
    handler.addFilter(MaskPhones())
    handler.noc_log_handler = True
    return handler


def configure_logging(level: int = logging.INFO) -> None:
    """Install the product's handler on the root logger once per process (create_app may run often)."""
    root = logging.getLogger()
    log_format = os.environ.get("NOC_LOG_FORMAT", "text").strip().lower()
    for handler in list(root.handlers):
        if getattr(handler, "noc_log_handler", False):
            root.removeHandler(handler)
    root.addHandler(build_handler(log_format))
    root.setLevel(level)

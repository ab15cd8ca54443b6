"""Notice texts: one Jinja2 template per kind and language, and the SMS segment count.

Segments (RULES §6): a text wholly in the GSM 03.38 alphabet is GSM-7 — 160 characters in
one segment, 153 per segment when split (extension characters count twice); anything else
(every Chinese text) is UCS-2 — 70 in one, 67 per segment, counted in UTF-16 code units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from app.notify import drills, placeholders
from app.notify.kinds import ComplaintNoticeKind, NoticeKind

LANGUAGES = ("zh-CN", "en")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "sms"

_environment = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=StrictUndefined,
                           autoescape=False, keep_trailing_newline=False)

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentCount:
    encoding: str       # "GSM-7" or "UCS-2"
    characters: int     # in the encoding's units (septets or UTF-16 code units)
    segments: int
    per_segment: int    # capacity of each segment as sent


def count_segments(text: str) -> SegmentCount:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SegmentCount(encoding, units, 1 if units else 0, single)
    return SegmentCount(encoding, units, math.ceil(units / multi), multi)


def render(kind: str, language: str, context: dict) -> str:
    """The notice text; a drill's (``context["drill"]``) starts with 【演练】 (app/notify/drills.py)."""
    if kind not in NoticeKind.values() + ComplaintNoticeKind.values():
        raise ValueError(f"unknown notice kind {kind!r}")
    try:
        template = _environment.get_template(f"{kind}.{language}.j2")
    except TemplateNotFound:
        template = _environment.get_template(f"{kind}.zh-CN.j2")
    return drills.mark(template.render(**placeholders.defaults(context, language)).strip(), bool(context.get("drill")),
                       language)


def local_time(moment: datetime | None, zone) -> str | None:
    """Times in notices are the operator's zone, minute precision: 2026-11-23 08:15."""
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

"""Item 7: the CSP allows no inline script, so no template may carry one (nor an inline style,
which the console's CSP refuses as well). Reads every template of every domain."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
TEMPLATES = sorted(p for p in APP.glob("**/templates/**/*") if p.is_file() and p.suffix in {".html", ".j2", ".md"})

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_URL = re.compile(r"(href|src|action|formaction)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def test_there_are_templates_to_read():
    assert any("web" in p.parts for p in TEMPLATES) and any("reports" in p.parts for p in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(APP)))
def test_no_inline_script_handler_or_style_attribute(template):
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it into a static .js file"
    assert not EVENT_HANDLER.search(text), "inline on…= handler: bind it in a static .js file"
    assert not SCRIPT_URL.search(text), "javascript: URL"
    assert not STYLE_ATTRIBUTE.search(text), "style= attribute: use a class in the stylesheet"


def test_the_checks_catch_what_they_are_for():
    assert INLINE_SCRIPT.search('<script>alert(1)</script>')
    assert not INLINE_SCRIPT.search('<script src="/console-static/console.js" defer></script>')
    assert EVENT_HANDLER.search('<button onclick="x()">')
    assert SCRIPT_URL.search('<a href="javascript:x()">')
    assert STYLE_ATTRIBUTE.search('<div style="color:red">')

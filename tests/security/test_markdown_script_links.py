"""Item 7 (Markdown): reviewer text cannot put a javascript: or data: link into the Markdown
report; ordinary https/mailto links stay links. The output is read by a CommonMark parser,
as a Markdown viewer without a link filter would."""
from __future__ import annotations

import re

import pytest
from freezegun import freeze_time
from markdown_it import MarkdownIt

from app.auth.models import Role
from app.reports.render import _md_text
from tests.reports.conftest import worked_incident  # noqa: F401  (fixture)
from tests.reports.worked import AFTER

HOSTILE = [
    "[点此查看](javascript:alert(document.cookie))",
    "[a [b] c](JaVaScRiPt:alert(1))",
    "![图](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[x](\njavascript:alert(1))",
    "[x]( vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[x](&#106;avascript:alert(1))",
]


def hrefs(markdown: str) -> list[str]:
    """The links a viewer that trusts every URL would make (markdown-it's own filter switched off:
    many viewers have none)."""
    parser = MarkdownIt("commonmark")
    parser.validateLink = lambda url: True
    rendered = parser.render(markdown)
    return re.findall(r'(?:href|src)="([^"]*)"', rendered)


@pytest.mark.parametrize("text", HOSTILE)
def test_no_script_or_data_link_survives(text):
    for href in hrefs(_md_text(text)):
        assert not re.match(r"\s*(javascript|data|vbscript):", href, re.IGNORECASE), href


def test_ordinary_links_stay_links():
    assert hrefs(_md_text("见 [整改方案](https://wiki.example.cn/noc/123) 与 [联系](mailto:noc@example.cn)")) == [
        "https://wiki.example.cn/noc/123", "mailto:noc@example.cn"]


def test_the_report_endpoint_neutralises_reviewer_links(worked_incident, api_as):  # noqa: F811
    reviewer = api_as(Role.reviewer)
    with freeze_time(AFTER):
        edited = reviewer.put(f"/incidents/{worked_incident}/analysis-report", json={
            "preventive_measures": HOSTILE[0], "lessons": HOSTILE[2],
            "rectification_notes": "[详情](https://wiki.example.cn/x)"})
        assert edited.status_code == 200, edited.json
        markdown = reviewer.get(f"/incidents/{worked_incident}/analysis-report?format=md").get_data(as_text=True)
    links = hrefs(markdown)
    assert "https://wiki.example.cn/x" in links
    assert not [h for h in links if h.lower().startswith(("javascript:", "data:"))]
    assert "点此查看" in markdown   # the reviewer's words are kept

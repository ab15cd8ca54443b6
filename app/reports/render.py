"""Turn a report document into HTML (self-contained, print-ready), Markdown or PDF."""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.reports.generator import AnalysisReportDocument

PDF_FONT_FAMILY = "Noto Sans SC"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries (Pango) or the CJK font cannot be loaded here."""


def _md_cell(value: object) -> str:
    """Text inside a Markdown table cell: no line breaks, no column separators."""
    return _md_text(re.sub(r"\s*\n\s*", " ", str(value)).replace("|", "\\|"))


def _md_text(value: object) -> str:
    """Free text in Markdown: raw HTML and script links neutralised (Markdown viewers would run
    them), the rest as written."""
    escaped = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINK_CLOSER.sub(_neutralise_link, escaped)


# Where a Markdown link or image ends and its destination begins: "](dest" or "]: dest".
_LINK_CLOSER = re.compile(r"\](?=\s*(?:\(|:)\s*(?:&lt;)?([^\s)]*))")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def _neutralise_link(match: re.Match) -> str:
    """Escape the "]" of a link whose destination has a scheme other than http(s)/mailto
    (javascript:, data:, vbscript:, file: …): it stays as text and never becomes a link."""
    # As a viewer would read it: entities decoded, escapes and the characters browsers drop removed.
    destination = re.sub(r"[\\\s\x00-\x1f]", "", html.unescape(match.group(1))).lower()
    scheme = _SCHEME.match(destination)
    return "\\]" if scheme and scheme.group(1) not in SAFE_LINK_SCHEMES else "]"


def _one_line(value: object) -> str:
    return _md_text(re.sub(r"\s*\n\s*", " ", str(value)))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["cell"] = _md_cell
    env.filters["oneline"] = _one_line
    env.filters["text"] = _md_text
    return env


def _squeeze_blank_lines(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def to_html(doc: AnalysisReportDocument, *, font_face: str = "") -> str:
    return environment().get_template("reports/report.html").render(doc=doc, font_face=font_face)


def to_markdown(doc: AnalysisReportDocument) -> str:
    return _squeeze_blank_lines(environment().get_template("reports/report.md").render(doc=doc))


def cjk_font_path() -> Path:
    """Noto Sans SC from a PyPI package, so a fresh `make` gets it without any system font."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as exc:
        raise PdfUnavailable(f"CJK font package missing: {exc}") from exc
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    if not path.is_file():
        raise PdfUnavailable(f"CJK font file missing: {path}")
    return path


def font_face_css() -> str:
    return (f"@font-face {{ font-family: '{PDF_FONT_FAMILY}'; "
            f"src: url('{cjk_font_path().as_uri()}') format('opentype'); }}")


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/cairo shared libraries not found
        raise PdfUnavailable(f"WeasyPrint cannot load: {exc}") from exc
    return weasyprint


def pdf_available() -> tuple[bool, str]:
    try:
        _weasyprint()
        cjk_font_path()
    except PdfUnavailable as exc:
        return False, str(exc)
    return True, "ok"


def html_to_pdf(html: str) -> bytes:
    weasyprint = _weasyprint()
    font_config = weasyprint.text.fonts.FontConfiguration()
    return weasyprint.HTML(string=html, base_url=str(cjk_font_path().parent)).write_pdf(font_config=font_config)


def to_pdf(doc: AnalysisReportDocument) -> bytes:
    return html_to_pdf(to_html(doc, font_face=font_face_css()))


def summary_html(figures: dict, start, end, zone) -> str:
    from app.reports import charts
    from app.reports.formatting import local_time

    def minutes(value):
        return "—" if value is None else f"{value:g} 分钟"

    pictures = {
        "grade": charts.bar_chart("按等级 by grade", [(g["label_zh"], g["count"], str(g["count"])) for g in figures["by_grade"]]),
        "cause": charts.bar_chart("按原因类别 by cause", [(c["label_zh"], c["count"], str(c["count"]))
                                                        for c in figures["by_cause_category"]]),
        "compliance": charts.bar_chart("时限达标率 compliance rate", [
            (c["label_zh"], c["rate"] or 0, "—" if c["rate"] is None else f"{c['rate'] * 100:.1f}%")
            for c in figures["compliance"]], maximum=1),
    }
    return environment().get_template("reports/summary.html").render(
        s=figures, charts=pictures, minutes=minutes, zone=zone.key,
        period=f"{local_time(start, zone)} — {local_time(end, zone)}")

"""Builds the console's web font: Noto Sans SC (from the PyPI package pylopdf-fonts-zh-cn, which
the PDF report already embeds) cut down to the characters a console shows, as WOFF2.

The full font is 8 MB; a NOC phone on a weak network should not fetch that. The subset keeps
ASCII, the common CJK punctuation, the 6,763 hanzi of GB 2312 (what titles, places and names
are written in) and every character in the product's own templates and code. A rarer
character falls back to the next font of the stack. Re-run after adding text with a new
character:  .venv/bin/python -m app.web.font_subset
"""
from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parent.parent
TARGET = Path(__file__).resolve().parent / "static" / "fonts" / "noto-sans-sc-console.woff2"


def gb2312_hanzi() -> set[str]:
    chars = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def product_text() -> set[str]:
    chars: set[str] = set()
    for path in APP.rglob("*"):
        if path.suffix in {".html", ".py", ".js", ".toml", ".md"} and path.is_file():
            chars.update(path.read_text(encoding="utf-8", errors="ignore"))
    return chars


def wanted_characters() -> str:
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars.update(chr(c) for c in range(0x3000, 0x3040))   # CJK symbols and punctuation
    chars.update(chr(c) for c in range(0xFF01, 0xFF5F))   # full-width forms
    chars.update("·—–…‘’“”•×÷℃№←↑→↓▸▾")
    chars |= gb2312_hanzi() | {c for c in product_text() if ord(c) > 0x7F}
    return "".join(sorted(c for c in chars if c.isprintable()))


def build() -> Path:
    import pylopdf_fonts_zh_cn
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(pylopdf_fonts_zh_cn.sans_path(), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=wanted_characters())
    subsetter.subset(font)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(TARGET), options)
    return TARGET


if __name__ == "__main__":
    built = build()
    print(f"{built}: {built.stat().st_size / 1024:.0f} KiB")

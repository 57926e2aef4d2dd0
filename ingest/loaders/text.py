"""Plain text and Markdown: encoding detection, paragraphs, Markdown heading paths."""

from __future__ import annotations

import re
from pathlib import Path

from ingest import hebrew
from ingest.errors import UnreadableFile
from ingest.loaders.outline import Outline
from ingest.types import Block

_HEBREW = re.compile(f"[{hebrew.BLOCK}]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 with BOM, cp1255 (Hebrew), latin-1.

    Raises UnreadableFile for data that is not text at all.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if looks_binary(data):
        raise UnreadableFile("binary data, not text (remove it from the folder or give it its proper extension)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _is_hebrew_codepage(data):
        return data.decode("cp1255")
    return data.decode("cp1252") if _decodes(data, "cp1252") else data.decode("latin-1")


def _is_hebrew_codepage(data: bytes) -> bool:
    """In cp1255 Hebrew, high bytes form whole words; in latin-1 prose they sit inside Latin words."""
    if not _decodes(data, "cp1255"):
        return False
    words = re.findall(r"[^\W\d_]+", data.decode("cp1255"))
    hebrew = sum(1 for w in words if all(_HEBREW.match(c) for c in w))
    mixed = sum(1 for w in words if _HEBREW.search(w) and _LATIN_LETTER.search(w))
    return hebrew > 0 and hebrew > mixed


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def looks_binary(data: bytes, sample: int = 8192) -> bool:
    """NUL bytes or many control characters in the first few KB mean "not text"."""
    head = data[:sample]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05


def read_text(path: Path) -> str:
    text = decode(path.read_bytes())
    if not text.strip():
        raise UnreadableFile("empty file (nothing to index)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def load_text(path: Path, **_: object) -> list[Block]:
    return [Block(p) for p in paragraphs(read_text(path))]


_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")


def markdown_blocks(text: str) -> list[Block]:
    """Paragraphs of a Markdown text, each with the heading path above it.

    Headings inside fenced code are not headings; front matter is dropped.
    """
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                lines = lines[end + 1 :]
                break
    outline = Outline()
    blocks: list[Block] = []
    para: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(para).strip()
        para.clear()
        if body:
            blocks.append(Block(body, headings=outline.path))

    def push(level: int, title: str) -> None:
        flush()
        outline.enter(level, title)

    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            para.append(line)
            continue
        if in_fence:
            para.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            push(len(atx.group(1)), atx.group(2))
        elif _SETEXT.match(line) and len(para) == 1 and para[0].strip():
            title = para.pop()
            push(1 if line.strip().startswith("=") else 2, title)
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    return blocks


def load_markdown(path: Path, **_: object) -> list[Block]:
    return markdown_blocks(read_text(path))


_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


def rst_blocks(text: str) -> list[Block]:
    """Paragraphs of a reStructuredText text under their section titles.

    A title is a line underlined (and maybe overlined) by a repeated punctuation character
    at least as long as it; levels follow the order in which the styles first appear, as
    in docutils. Directive and comment lines (``.. ``) are left out.
    """
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    outline = Outline()
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        body = "\n".join(para).strip()
        para.clear()
        if body:
            blocks.append(Block(body, headings=outline.path))

    i = 0
    while i < len(lines):
        line = lines[i]
        over = _ADORNMENT.match(line) and i + 2 < len(lines) and _ADORNMENT.match(lines[i + 2]) and lines[i + 1].strip()
        under = not para and line.strip() and i + 1 < len(lines) and _ADORNMENT.match(lines[i + 1])
        if over or (under and len(lines[i + 1].strip()) >= len(line.strip())):
            title, mark = (lines[i + 1], lines[i + 2]) if over else (line, lines[i + 1])
            style = (mark.strip()[0], bool(over))
            if style not in styles:
                styles.append(style)
            flush()
            outline.enter(styles.index(style) + 1, title.strip())
            i += 3 if over else 2
            continue
        if not line.strip():
            flush()
        elif not line.startswith(".. "):
            para.append(line)
        i += 1
    flush()
    return blocks


def load_rst(path: Path, **_: object) -> list[Block]:
    blocks = rst_blocks(read_text(path))
    if not blocks:
        raise UnreadableFile("no text in the reStructuredText file")
    return blocks


def load_code(path: Path, **_: object) -> list[Block]:
    """A source file: its blank-line-separated blocks, under its path (the last three parts)."""
    context = "/".join(path.parts[-3:])
    return [Block(p, headings=(context,)) for p in paragraphs(read_text(path))]

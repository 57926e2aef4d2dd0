"""DOCX via python-docx: paragraphs and tables in document order, Word heading styles as headings."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block

_HEADING_STYLE = re.compile(r"^(?:heading|כותרת)\s*(\d)$", re.IGNORECASE)


def heading_level(style_name: str) -> int | None:
    """Word's built-in 'Heading N' styles (and 'Title') are headings; others are body text."""
    name = (style_name or "").strip()
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def load_docx(path: Path, **_: object) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(path):
        raise UnreadableFile("not a readable DOCX (not a ZIP package; re-save it from Word)")
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise UnreadableFile(f"not a readable DOCX ({type(exc).__name__}; re-save it from Word)") from exc

    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = paragraph.text.strip()
            if not text:
                continue
            level = heading_level(paragraph.style.name if paragraph.style is not None else "")
            if level is not None:
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
                continue
            blocks.append(Block(text, headings=tuple(t for _, t in stack)))
        elif tag == "tbl":
            rows = []
            for row in Table(element, document).rows:
                cells = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                if cells:
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append(Block("\n".join(rows), headings=tuple(t for _, t in stack)))
    if not blocks and stack:
        blocks = [Block(title) for _, title in stack]
    if not blocks:
        raise UnreadableFile("empty document (no text in the DOCX)")
    return blocks

"""Office documents: DOCX via python-docx; PPTX, XLSX and ODT read from their XML.

Every package passes the decompression-bomb checks of ``packaged.open_package`` first.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.loaders.outline import Outline
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

    from ingest.loaders.packaged import open_package

    open_package(path, "DOCX").close()  # a readable ZIP whose sizes pass the bomb checks
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise UnreadableFile(f"not a readable DOCX ({type(exc).__name__}; re-save it from Word)") from exc

    outline = Outline()
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
                outline.enter(level, text)
                continue
            blocks.append(Block(text, headings=outline.path))
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
                blocks.append(Block("\n".join(rows), headings=outline.path))
    if not blocks and outline:
        blocks = [Block(title) for title in outline.path]
    if not blocks:
        raise UnreadableFile("empty document (no text in the DOCX)")
    return blocks


# --- PPTX, XLSX, ODT: read straight from their XML, after the package checks -------------------
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_TITLE_PLACEHOLDERS = ("title", "ctrTitle")


def _paragraphs(shape) -> list[str]:
    lines = []
    for paragraph in shape.iter(f"{_A}p"):
        text = " ".join("".join(t.text or "" for t in paragraph.iter(f"{_A}t")).split())
        if text:
            lines.append(text)
    return lines


def _placeholder(shape) -> str | None:
    ph = shape.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
    return None if ph is None else ph.get("type", "body")


def slide_text(slide) -> tuple[str, list[str]]:
    """Pure: (title, other lines) of one slide's XML tree, shapes in document order."""
    title, lines = "", []
    for shape in slide.iter(f"{_P}sp", f"{_P}graphicFrame"):
        if _placeholder(shape) in _TITLE_PLACEHOLDERS:
            title = " ".join(_paragraphs(shape))
        else:
            lines.extend(_paragraphs(shape))
    return title, lines


def _notes(package, slide_part: str) -> list[str]:
    from ingest.loaders.packaged import read_xml, relationships

    for kind, target in relationships(package, slide_part).values():
        if kind.endswith("/notesSlide") and target in package.NameToInfo:
            notes = read_xml(package, target)
            return [
                line for shape in notes.iter(f"{_P}sp") if _placeholder(shape) == "body" for line in _paragraphs(shape)
            ]
    return []


def load_pptx(path: Path, **_: object) -> list[Block]:
    """Slides in presentation order; the slide number is the page, its title the heading."""
    from ingest.loaders.packaged import open_package, read_xml, relationships

    with open_package(path, "PPTX") as package:
        presentation = read_xml(package, "ppt/presentation.xml")
        rels = relationships(package, "ppt/presentation.xml")
        parts = [rels[s.get(f"{_R}id")][1] for s in presentation.iter(f"{_P}sldId") if s.get(f"{_R}id") in rels]
        blocks = []
        for number, part in enumerate(parts, 1):
            title, lines = slide_text(read_xml(package, part))
            notes = _notes(package, part)
            if notes:
                lines.append("Notes: " + " ".join(notes))
            if lines or title:
                blocks.append(Block("\n".join(lines) or title, page=number, headings=(title,) if title else ()))
    if not blocks:
        raise UnreadableFile("no text on any slide (images only?)")
    return blocks


def _shared_strings(package) -> list[str]:
    from ingest.loaders.packaged import read_xml

    if "xl/sharedStrings.xml" not in package.NameToInfo:
        return []
    return [
        "".join(t.text or "" for t in si.iter(f"{_S}t"))
        for si in read_xml(package, "xl/sharedStrings.xml").iter(f"{_S}si")
    ]


def _cell_column(reference: str | None, fallback: int) -> int:
    letters = "".join(c for c in (reference or "") if c.isalpha())
    if not letters:
        return fallback
    index = 0
    for c in letters.upper():
        index = index * 26 + ord(c) - 64
    return index - 1


def sheet_rows(stream, strings: list[str]):
    """(row number, values) of one worksheet, streamed: memory stays flat on a big sheet."""
    from lxml import etree

    for _, row in etree.iterparse(stream, events=("end",), tag=f"{_S}row", resolve_entities=False, no_network=True):
        values: list[str] = []
        for cell in row.iter(f"{_S}c"):
            kind = cell.get("t")
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in cell.iter(f"{_S}t"))
            else:
                value = cell.findtext(f"{_S}v") or ""
                if kind == "s" and value.isdigit() and int(value) < len(strings):
                    value = strings[int(value)]
                elif kind == "b":
                    value = "TRUE" if value == "1" else "FALSE"
            column = _cell_column(cell.get("r"), len(values))
            values.extend([""] * (column - len(values) + 1))
            values[column] = value
        yield int(row.get("r") or 0), values
        row.clear()
        while row.getprevious() is not None:
            del row.getparent()[0]


def load_xlsx(path: Path, **_: object) -> list[Block]:
    """Every sheet as rows written with their column names; the sheet name is the heading."""
    from ingest.loaders.packaged import open_package, read_xml, relationships
    from ingest.loaders.tables import row_blocks

    blocks: list[Block] = []
    with open_package(path, "XLSX") as package:
        workbook = read_xml(package, "xl/workbook.xml")
        rels = relationships(package, "xl/workbook.xml")
        strings = _shared_strings(package)
        for sheet in workbook.iter(f"{_S}sheet"):
            target = rels.get(sheet.get(f"{_R}id") or "")
            if target is None or target[1] not in package.NameToInfo:
                continue
            with package.open(target[1]) as stream:
                blocks.extend(row_blocks(sheet_rows(stream, strings), headings=(sheet.get("name", ""),)))
    if not blocks:
        raise UnreadableFile("empty workbook (no cells with text)")
    return blocks


_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _odf_text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def odt_blocks(body) -> list[Block]:
    """Pure: headings, paragraphs, list items and tables of an ODF text body, in order."""
    outline = Outline()
    blocks: list[Block] = []

    def walk(element) -> None:
        for child in element:
            tag = child.tag
            if tag == f"{_TEXT}h":
                outline.enter(int(child.get(f"{_TEXT}outline-level") or 1), _odf_text(child))
            elif tag == f"{_TEXT}p":
                text = _odf_text(child)
                if text:
                    blocks.append(Block(text, headings=outline.path))
            elif tag == f"{_TABLE}table":
                rows = []
                for row in child.iter(f"{_TABLE}table-row"):
                    cells = [_odf_text(c) for c in row.iter(f"{_TABLE}table-cell")]
                    if any(cells):
                        rows.append(" | ".join(c for c in cells if c))
                if rows:
                    blocks.append(Block("\n".join(rows), headings=outline.path))
            elif isinstance(tag, str):
                walk(child)

    walk(body)
    return blocks


def load_odt(path: Path, **_: object) -> list[Block]:
    from ingest.loaders.packaged import open_package, read_xml

    with open_package(path, "ODT") as package:
        content = read_xml(package, "content.xml")
    body = content.find(f"{_OFFICE}body/{_OFFICE}text")
    blocks = odt_blocks(body if body is not None else content)
    if not blocks:
        raise UnreadableFile("empty document (no text in the ODT)")
    return blocks

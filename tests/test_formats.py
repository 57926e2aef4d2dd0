"""The loaders for PPTX, XLSX, CSV, ODT, EPUB, EML, MBOX, RST, gzipped HTML and source code,
on real files written by the usual libraries (python-pptx, openpyxl, odfpy, ebooklib, email),
and the decompression-bomb checks."""

from __future__ import annotations

import gzip
import mailbox
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import make_docx, make_pdf

from ingest.errors import UnreadableFile
from ingest.loaders import file_type, load_document, supported
from ingest.loaders.packaged import bomb_reason, read_gzip
from ingest.loaders.tables import column_name, row_text
from ingest.loaders.text import rst_blocks


def make_pptx(path: Path, slides: list[tuple[str, str, str]]) -> Path:
    """Slides are (title, body, notes)."""
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))
    return path


def make_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(str(path))
    return path


def make_odt(path: Path, heading: str, paragraph: str, rows: list[list[str]]) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text=heading))
    document.text.addElement(P(text=paragraph))
    table = Table(name="T")
    table.addElement(TableColumn(numbercolumnsrepeated=len(rows[0])))
    for row in rows:
        tr = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    document.text.addElement(table)
    document.save(str(path))
    return path


def make_epub(path: Path, title: str, chapters: list[tuple[str, str]]) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("rag-test")
    book.set_title(title)
    book.set_language("en")
    items = []
    for n, (heading, text) in enumerate(chapters, 1):
        chapter = epub.EpubHtml(title=heading, file_name=f"chap_{n}.xhtml", lang="en")
        chapter.content = f"<html><body><h1>{heading}</h1><p>{text}</p></body></html>"
        book.add_item(chapter)
        items.append(chapter)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)
    return path


def make_mail(subject: str, sender: str, body: str, attachments: dict[str, bytes] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 03 Mar 2026 09:15:00 +0000"
    message.set_content(body)
    for name, data in (attachments or {}).items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message


def _text(document) -> str:
    return "\n".join(b.text for b in document.blocks)


def test_pptx_slides_are_pages_with_titles_and_notes(tmp_path):
    path = make_pptx(
        tmp_path / "deck.pptx",
        [
            ("Water plan", "Filters are changed every 40 days", ""),
            ("Power", "The generator needs 12 litres a day", "Ask Dana about the spare belt"),
        ],
    )
    blocks = load_document(path).blocks
    assert [(b.page, b.headings) for b in blocks] == [(1, ("Water plan",)), (2, ("Power",))]
    assert "every 40 days" in blocks[0].text and "Water plan" not in blocks[0].text
    assert "Notes: Ask Dana about the spare belt" in blocks[1].text


def test_xlsx_rows_keep_sheet_and_column_names(tmp_path):
    path = make_xlsx(
        tmp_path / "log.xlsx",
        {
            "Stations": [["Station", "Depth m", "Checked"], ["North", 17.5, True], ["South", 9, False]],
            "Staff": [["Name", "Role"], ["Noa", "medic"]],
        },
    )
    blocks = load_document(path).blocks
    assert [b.headings for b in blocks] == [("Stations",), ("Staff",)]
    assert "Row 2: Station: North; Depth m: 17.5; Checked: TRUE" in blocks[0].text
    assert "Row 3: Station: South; Depth m: 9; Checked: FALSE" in blocks[0].text
    assert blocks[1].text == "Row 2: Name: Noa; Role: medic"


def test_csv_with_semicolons_and_pure_row_formatting(tmp_path):
    path = tmp_path / "fuel.csv"
    path.write_text("vehicle;litres;note\ntruck;80;\njeep;45;spare can\n", encoding="utf-8")
    text = _text(load_document(path))
    assert "Row 2: vehicle: truck; litres: 80" in text and "Row 3: vehicle: jeep; litres: 45; note: spare can" in text
    assert column_name(0) == "A" and column_name(27) == "AB"
    assert row_text(5, ["a", ""], ["1", "2"]) == "Row 5: a: 1; B: 2"


def test_odt_headings_paragraphs_and_tables(tmp_path):
    path = make_odt(
        tmp_path / "report.odt", "Survey results", "The well at site four is dry.", [["Site", "Status"], ["4", "dry"]]
    )
    blocks = load_document(path).blocks
    assert blocks[0].text == "The well at site four is dry." and blocks[0].headings == ("Survey results",)
    assert blocks[1].text == "Site | Status\n4 | dry"


def test_epub_chapters_in_spine_order_under_book_and_chapter_titles(tmp_path):
    path = make_epub(
        tmp_path / "guide.epub",
        "Field Guide",
        [
            ("Knots", "The bowline makes a fixed loop."),
            ("Fire", "Keep a bucket of sand beside the stove."),
        ],
    )
    blocks = [b for b in load_document(path).blocks if "bowline" in b.text or "sand" in b.text]
    assert [(b.text, b.headings) for b in blocks] == [
        ("The bowline makes a fixed loop.", ("Field Guide", "Knots")),
        ("Keep a bucket of sand beside the stove.", ("Field Guide", "Fire")),
    ]


def test_eml_heading_carries_subject_sender_date_and_attachments_are_read(tmp_path):
    attachment = make_docx(tmp_path / "a.docx", [("h1", "Budget"), ("p", "Fuel costs 900 shekels a month.")])
    message = make_mail(
        "Supply run", "Avi <avi@example.org>", "The truck leaves at six.", {"budget.docx": attachment.read_bytes()}
    )
    path = tmp_path / "supply.eml"
    path.write_bytes(message.as_bytes())
    blocks = load_document(path).blocks
    heading = "Supply run (from Avi <avi@example.org>, Tue, 03 Mar 2026 09:15:00 +0000)"
    assert blocks[0].text == "The truck leaves at six." and blocks[0].headings == (heading,)
    assert blocks[1].text == "Fuel costs 900 shekels a month."
    assert blocks[1].headings == (heading, "Attachment: budget.docx", "Budget")


def test_mbox_messages_each_under_their_own_heading(tmp_path):
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    box.add(make_mail("Radio check", "Lea <lea@example.org>", "Channel 68 at 19:00."))
    box.add(make_mail("Water", "Omer <omer@example.org>", "Boil water for three minutes.", {"x.bin": b"\x00\x01"}))
    box.close()
    blocks = load_document(path).blocks
    assert [b.text for b in blocks] == ["Channel 68 at 19:00.", "Boil water for three minutes."]
    assert blocks[1].headings[0].startswith("Water (from Omer")


def test_rst_titles_by_adornment_style():
    text = "=====\nGuide\n=====\n\nIntro text.\n\nSetup\n-----\n\nRun it.\n\n.. note:: hidden\n\nUsage\n-----\n\nCall it.\n"
    blocks = rst_blocks(text)
    assert [(b.text, b.headings) for b in blocks] == [
        ("Intro text.", ("Guide",)),
        ("Run it.", ("Guide", "Setup")),
        ("Call it.", ("Guide", "Usage")),
    ]


def test_gzipped_html_and_source_code(tmp_path):
    page = tmp_path / "manual.html.gz"
    page.write_bytes(gzip.compress(b"<h1>Pump</h1><p>Prime the pump before starting.</p>"))
    assert file_type(page) == ".html.gz" and supported(page)
    assert load_document(page).blocks[0].headings == ("Pump",)
    code = tmp_path / "src" / "tools" / "calc.py"
    code.parent.mkdir(parents=True)
    code.write_text("def dose(kg):\n    return kg * 5\n", encoding="utf-8")
    block = load_document(code).blocks[0]
    assert block.headings == ("src/tools/calc.py",) and "kg * 5" in block.text


def test_bomb_checks_refuse_before_inflating(tmp_path):
    zero_bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(zero_bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", b"\0" * (40 * 1024 * 1024))
    with pytest.raises(UnreadableFile, match="decompression bomb: entry word/document.xml inflates"):
        load_document(zero_bomb)
    declared = [zipfile.ZipInfo("a"), zipfile.ZipInfo("b")]
    declared[0].file_size, declared[0].compress_size = 300 * 2**20, 100 * 2**20
    declared[1].file_size, declared[1].compress_size = 300 * 2**20, 100 * 2**20
    assert "over the 512 MB limit" in bomb_reason(declared)
    assert bomb_reason(declared[:1]) is None
    gz = tmp_path / "big.html.gz"
    gz.write_bytes(gzip.compress(b"<p>" + b"a" * 3_000_000 + b"</p>"))
    with pytest.raises(UnreadableFile, match="inflates past 2 MB"):
        read_gzip(gz, max_bytes=2 * 2**20)


def test_damaged_packages_get_one_line_reasons(tmp_path):
    for name in ("random.pptx", "random.xlsx", "random.epub", "random.odt"):
        (tmp_path / name).write_bytes(b"PK\x03\x04 not really a zip")
        with pytest.raises(UnreadableFile, match="not a readable"):
            load_document(tmp_path / name)
    empty = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(empty, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(UnreadableFile, match="entry xl/workbook.xml is missing"):
        load_document(empty)


def test_every_format_is_searchable_after_ingest(tmp_path, embedder):
    from ingest.index import Index
    from ingest.pipeline import sync

    root = tmp_path / "docs"
    root.mkdir()
    make_pptx(root / "deck.pptx", [("Latrines", "Dig latrines 30 metres from any water source", "")])
    make_xlsx(root / "stock.xlsx", {"Stock": [["Item", "Count"], ["Water purification tablets", 1200]]})
    (root / "fuel.csv").write_text("vehicle,litres\nambulance,65\n", encoding="utf-8")
    make_odt(root / "well.odt", "Wells", "The eastern well was chlorinated on Monday.", [["a", "b"]])
    make_epub(root / "knots.epub", "Knots", [("Bowline", "A bowline makes a loop that does not slip.")])
    (root / "mail.eml").write_bytes(
        make_mail("Snake bite", "Medic <m@example.org>", "Keep the bitten limb still and below the heart.").as_bytes()
    )
    (root / "setup.rst").write_text("Antenna\n=======\n\nRaise the antenna mast to six metres.\n", encoding="utf-8")
    make_pdf(root / "plain.pdf", ["Tents must be pitched on high ground."])
    index = Index.create(tmp_path / "ix", "t", embedder_name=embedder.name, dimension=embedder.dimension)
    with index.writer():
        report = sync([root], index, embedder)
    assert report.skipped == [] and report.added == 8
    for query, source in [
        ("how far should latrines be from water", "deck.pptx"),
        ("purification tablets count", "stock.xlsx"),
        ("ambulance litres", "fuel.csv"),
        ("eastern well chlorinated", "well.odt"),
        ("knot loop that does not slip", "knots.epub"),
        ("snake bite limb", "mail.eml"),
        ("antenna mast height", "setup.rst"),
        ("tents pitched high ground", "plain.pdf"),
    ]:
        found = index.catalog.lexical_search(query, 3)
        paths = [index.catalog.get_chunks([i])[i].path for i, _ in found]
        assert paths and paths[0].endswith(source), (query, paths)
    index.close()

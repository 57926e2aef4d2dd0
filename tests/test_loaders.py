import pytest
from conftest import make_docx, make_image_only_pdf, make_pdf

from ingest.errors import UnreadableFile
from ingest.loaders import load_document
from ingest.loaders.text import decode, markdown_blocks


def test_pdf_keeps_page_numbers_and_outline_headings(tmp_path):
    path = make_pdf(
        tmp_path / "manual.pdf",
        ["Intro page about pumps.", "The valve torque is 42 newton metres.", "Appendix text."],
        outline=[("Introduction", 1), ("Maintenance", 2), ("Appendix", 3)],
    )
    blocks = load_document(path).blocks
    assert [b.page for b in blocks] == [1, 2, 3]
    assert "42 newton metres" in blocks[1].text
    assert blocks[1].headings == ("Maintenance",)


def test_encrypted_pdf_needs_its_password(tmp_path):
    path = make_pdf(tmp_path / "secret.pdf", ["The launch code is 1234."], password="pw")
    with pytest.raises(UnreadableFile, match=r"^encrypted PDF, and no password was given$"):
        load_document(path)
    with pytest.raises(UnreadableFile, match="password given does not open it"):
        load_document(path, password="wrong")
    assert "launch code" in load_document(path, password="pw").blocks[0].text


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n1 0 obj << /Type /Catalog", b"\x00\x01garbage" * 100, b""],
    ids=["truncated", "random", "empty"],
)
def test_broken_pdfs_are_reported(tmp_path, content):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match="not a readable PDF|no extractable text"):
        load_document(path)


def test_pdf_without_text_layer_is_reported_as_scanned(tmp_path):
    path = make_image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(UnreadableFile, match=r"no extractable text \(its pages hold no text and no scanned images\)"):
        load_document(path)


def test_markdown_heading_paths_ignore_code_fences():
    text = "---\ntitle: x\n---\n# Guide\nintro\n\n## Setup\nstep one\n\n```\n# not a heading\n```\n\nSub\n---\nunder setext\n\n# Other\nend"
    blocks = markdown_blocks(text)
    assert blocks[0].headings == ("Guide",) and blocks[0].text == "intro"
    assert blocks[1].headings == ("Guide", "Setup")
    assert blocks[2].text == "```\n# not a heading\n```" and blocks[2].headings == ("Guide", "Setup")
    assert ("Guide", "Sub") in [b.headings for b in blocks]
    assert blocks[-1].headings == ("Other",)
    assert not any("title: x" in b.text for b in blocks)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("שלום עולם, מים רתוחים".encode(), "שלום עולם, מים רתוחים"),
        (b"\xef\xbb\xbfcaf\xc3\xa9 with BOM", "café with BOM"),
        ("שלום עולם, מים רתוחים ובטוחים".encode("cp1255"), "שלום עולם, מים רתוחים ובטוחים"),
        ("café, résumé and naïve".encode("latin-1"), "café, résumé and naïve"),
        ("tea".encode("utf-16"), "tea"),
    ],
    ids=["utf8-hebrew", "utf8-bom", "cp1255", "latin1", "utf16"],
)
def test_text_encodings_are_detected(raw, expected):
    assert decode(raw) == expected


def test_binary_disguised_as_text_and_empty_files_are_reported(tmp_path):
    (tmp_path / "data.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.md").write_bytes(b"  \n")
    with pytest.raises(UnreadableFile, match="binary data, not text"):
        load_document(tmp_path / "data.txt")
    with pytest.raises(UnreadableFile, match="empty file"):
        load_document(tmp_path / "empty.md")


def test_html_headings_and_visible_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Site</title><script>var secret='no';</script></head><body>"
        "<h1>Pumps</h1><p>Intro <b>bold</b> text.</p><h2>Valves</h2><div>Torque 42 Nm<br>second line</div>"
        "<style>.x{}</style><ul><li>one</li><li>two</li></ul></body></html>",
        encoding="utf-8",
    )
    blocks = load_document(path).blocks
    texts = [b.text for b in blocks]
    assert "Intro bold text." in texts
    assert any("Torque 42 Nm" in t for t in texts)
    assert not any("secret" in t or ".x{}" in t for t in texts)
    valves = next(b for b in blocks if "Torque" in b.text)
    assert valves.headings == ("Site", "Pumps", "Valves")


def test_docx_headings_and_tables(tmp_path):
    path = make_docx(
        tmp_path / "report.docx",
        [
            ("title", "Annual Report"),
            ("h1", "Budget"),
            ("p", "We spent less."),
            ("table", "Item,Cost;Tents,300"),
            ("h2", "Fuel"),
            ("p", "Gas costs 4 per can."),
        ],
    )
    blocks = load_document(path).blocks
    assert blocks[0].text == "We spent less." and blocks[0].headings == ("Annual Report", "Budget")
    assert blocks[1].text == "Item | Cost\nTents | 300"
    assert blocks[2].headings == ("Annual Report", "Budget", "Fuel")


def test_corrupt_docx_and_unsupported_types(tmp_path):
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "model.stl").write_bytes(b"solid x")
    with pytest.raises(UnreadableFile, match="not a readable DOCX"):
        load_document(tmp_path / "bad.docx")
    with pytest.raises(UnreadableFile, match="not a readable image"):
        load_document(tmp_path / "photo.png")
    with pytest.raises(UnreadableFile, match="unsupported file type '.stl'"):
        load_document(tmp_path / "model.stl")


HEBREW_WITH_MATH = (
    "המשוואה 𝑒 = 𝗆𝖼² מתארת את האנרגיה 😀 של הגוף כולם יודעים\n"
    "הקבוע 𝜋 מופיע בכל מקום שבו יש מעגל ועוד חשבון ארוך\n"
    "סוף הדף הראשון עם מילים רבות וסימנים שונים"
)
ENGLISH_WITH_MATH = "Energy 𝑒 equals mass times light squared 😀 everywhere.\nThe exponent 𝑥² grows."


def test_pdf_characters_beyond_the_bmp_cost_nothing(tmp_path):
    from conftest import make_unicode_pdf

    path = make_unicode_pdf(tmp_path / "math.pdf", [HEBREW_WITH_MATH, ENGLISH_WITH_MATH, "Plain last page."])
    document = load_document(path)
    assert [b.page for b in document.blocks] == [1, 2, 3]
    hebrew, english = document.blocks[0].text, document.blocks[1].text
    assert "האנרגיה 😀 של הגוף" in hebrew, "the Hebrew page is turned into reading order around the emoji"
    assert "𝑒" in hebrew and "𝗆" in hebrew
    assert "Energy 𝑒 equals" in english and "😀" in english
    for block in document.blocks:
        block.text.encode("utf-8")
    assert "lost" not in document.metadata["reading"]


def test_a_page_whose_extractors_raise_costs_that_page_only(tmp_path, monkeypatch):
    from conftest import break_pdf_pages

    import ingest.loaders.pdf as pdf

    path = make_pdf(tmp_path / "manual.pdf", ["Page one text here.", "Page two is cursed.", "Page three text here."])
    break_pdf_pages(monkeypatch, "cursed")
    document = load_document(path)
    assert [b.page for b in document.blocks] == [1, 3]
    assert document.metadata["reading"]["lost"] == [
        {"page": 2, "reason": "PDFium: FPDFText_LoadPage failed; pypdf: broken content stream"}
    ]
    monkeypatch.setattr(pdf, "_page_text", lambda page, repairs: (_ for _ in ()).throw(RuntimeError("no text")))
    with pytest.raises(UnreadableFile, match=r"^no page could be read \(page 1: PDFium: no text; pypdf: broken"):
        load_document(path)


def test_a_page_ocr_cannot_render_costs_that_page_only(tmp_path, monkeypatch):
    from conftest import make_scanned_pdf, text_image

    import ingest.ocr as ocr

    scan = text_image(["The pump is serviced every spring."])
    path = make_scanned_pdf(tmp_path / "scan.pdf", ["A typed first page with enough words to count.", scan, scan])
    real = ocr._scan_page

    def scan_page(document, number, *args):
        if number == 2:
            raise MemoryError("render buffer")
        return real(document, number, *args)

    monkeypatch.setattr(ocr, "_scan_page", scan_page)
    document = load_document(path)
    assert [b.page for b in document.blocks] == [1, 3]
    assert document.metadata["reading"]["lost"] == [
        {"page": 2, "reason": "OCR could not render it (MemoryError: render buffer)"}
    ]

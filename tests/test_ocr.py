"""Scanned pages and photos through real Tesseract, on real rendered pages; PDF text repairs on
real PDFs written by the test (visual-order Hebrew, fake bold, lost spaces)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FONT, make_scanned_pdf, text_image

from ingest.errors import UnreadableFile
from ingest.loaders import load_document
from ingest.ocr import OcrConfig

ENGLISH = ["The pump must be primed before the first start.", "Close valve B7 before opening the drain."]
HEBREW = ["הם מצאו את המפתח בארון הכלים הישן", "לחץ העבודה המרבי הוא שמונה אטמוספרות"]


def words_of(text: str) -> set[str]:
    return {w.strip(".,;:") for w in text.split()}


def test_a_scanned_page_in_a_text_pdf_is_read_by_ocr_and_marked(tmp_path):
    path = make_scanned_pdf(
        tmp_path / "mixed.pdf",
        ["Chapter one is typed text about the generator.", text_image(ENGLISH), "Chapter three is typed text as well."],
    )
    blocks = load_document(path).blocks
    assert [b.page for b in blocks] == [1, 2, 3]
    assert [b.origin for b in blocks] == ["", "ocr", ""]
    assert {"primed", "valve", "B7", "drain"} <= words_of(blocks[1].text), blocks[1].text


def test_a_scanned_hebrew_page_comes_out_in_reading_order(tmp_path):
    path = make_scanned_pdf(tmp_path / "scan.pdf", [text_image(HEBREW, rtl=True)])
    (block,) = load_document(path).blocks
    assert block.origin == "ocr"
    assert "המפתח בארון הכלים" in block.text, block.text
    assert "אטמוספרות" in block.text


def test_a_page_photographed_sideways_is_turned_upright(tmp_path):
    picture = text_image(ENGLISH).rotate(90, expand=True)
    picture.save(tmp_path / "sideways.png")
    (block,) = load_document(tmp_path / "sideways.png").blocks
    assert block.origin == "ocr" and {"primed", "valve", "drain"} <= words_of(block.text), block.text


def test_a_noisy_phone_photo_with_exif_orientation(tmp_path):
    import random

    from PIL import Image, ImageFilter

    page = text_image(ENGLISH, size=40).rotate(1.5, expand=True, fillcolor=240).filter(ImageFilter.GaussianBlur(1.2))
    rng = random.Random(7)
    noisy = page.point(lambda v: v)
    pixels = noisy.load()
    for _ in range(noisy.size[0] * noisy.size[1] // 25):
        x, y = rng.randrange(noisy.size[0]), rng.randrange(noisy.size[1])
        pixels[x, y] = rng.choice((0, 90, 180, 255))
    # stored sideways, with EXIF saying "turn 90 degrees clockwise to show", as phones do
    stored = noisy.rotate(90, expand=True).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "photo.jpg", quality=85, exif=exif)
    (block,) = load_document(tmp_path / "photo.jpg").blocks
    assert {"pump", "primed", "valve", "drain"} <= words_of(block.text), block.text


def test_every_page_of_a_tiff_is_read(tmp_path):
    first, second = text_image(ENGLISH[:1]), text_image(ENGLISH[1:])
    first.save(tmp_path / "fax.tiff", save_all=True, append_images=[second])
    blocks = load_document(tmp_path / "fax.tiff").blocks
    assert [b.page for b in blocks] == [1, 2]
    assert "primed" in blocks[0].text and "drain" in blocks[1].text


def test_without_tesseract_a_scan_is_skipped_with_the_install_command(tmp_path, monkeypatch):
    text_image(ENGLISH).save(tmp_path / "page.png")
    scan = make_scanned_pdf(tmp_path / "scan.pdf", [text_image(ENGLISH)])
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    with pytest.raises(UnreadableFile, match="apt-get install tesseract-ocr tesseract-ocr-heb"):
        load_document(tmp_path / "page.png")
    with pytest.raises(UnreadableFile, match="Tesseract is not installed for OCR: sudo apt-get install tesseract-ocr"):
        load_document(scan)


def test_with_ocr_off_scans_say_how_to_turn_it_on(tmp_path):
    text_image(ENGLISH).save(tmp_path / "page.png")
    scan = make_scanned_pdf(tmp_path / "scan.pdf", [text_image(ENGLISH)])
    for path in (tmp_path / "page.png", scan):
        with pytest.raises(UnreadableFile, match="set ocr = true"):
            load_document(path, ocr=None)


def test_a_language_that_is_not_installed_is_named(tmp_path):
    text_image(ENGLISH).save(tmp_path / "page.png")
    with pytest.raises(UnreadableFile, match="ocr_languages"):
        load_document(tmp_path / "page.png", ocr=OcrConfig(languages="xxx"))


def _hebrew_pdf(path: Path, draw) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=14)
    pdf.add_page()
    draw(pdf)
    pdf.output(str(path))
    return path


def test_a_visual_order_hebrew_pdf_is_read_in_reading_order(tmp_path):
    """Producers that store each line as printed (left to right) give reversed Hebrew."""
    lines = ["הם מצאו את המפתח בארון הכלים הישן (בחדר 12)", "לחץ העבודה המרבי הוא 8 אטמוספרות לפי ISO 4126"]

    def draw(pdf):
        for row, line in enumerate(lines):
            logical = line
            # visual order: the characters as they stand on the line, left to right
            visual = "".join(reversed(logical))
            for latin in ("ISO 4126", "4126", "12", "8"):
                visual = visual.replace(latin[::-1], latin)
            visual = visual.replace("(", "\0").replace(")", "(").replace("\0", ")")
            pdf.text(20, 30 + 12 * row, visual)

    (block,) = load_document(_hebrew_pdf(tmp_path / "visual.pdf", draw)).blocks
    assert "הם מצאו את המפתח בארון הכלים הישן (בחדר 12)" in block.text, block.text
    assert "לחץ העבודה המרבי הוא 8 אטמוספרות לפי ISO 4126" in block.text, block.text


def test_text_drawn_four_times_for_bold_is_read_once(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    pdf.add_page()
    for dx in (0, 0.3, 0.6, 0.9):
        pdf.text(20 + dx, 30, "Emergency shutdown procedure")
    pdf.text(20, 50, "Press the red button twice.")
    pdf.output(str(tmp_path / "bold.pdf"))
    (block,) = load_document(tmp_path / "bold.pdf").blocks
    assert block.text.count("Emergency") == 1, block.text


def test_hebrew_words_drawn_one_by_one_read_in_order(tmp_path):
    """Some producers position each word on its own; the words come out in reading order."""
    words = "התורה הראשונה של המיון המדעי הוצעה על ידי מדען שוודי".split()

    def draw(pdf):
        x = 190.0
        for word in words:  # right to left, each word on its own (as printed), a gap between
            x -= pdf.get_string_width(word)
            pdf.text(x, 30, word[::-1])
            x -= 2.5

    (block,) = load_document(_hebrew_pdf(tmp_path / "words.pdf", draw)).blocks
    assert " ".join(words) in block.text, block.text


def test_gaps_between_character_boxes_become_spaces():
    """LuaTeX writes Hebrew with no space characters at all: the spaces are only gaps between
    the glyphs' boxes (boxes as PDFium reports them for the babel sample, font size 10)."""
    from collections import Counter

    from ingest.loaders.pdf import join_characters

    def run(word: str, left: float) -> list:
        boxes = []
        for char in word:
            boxes.append((char, (left, 300.0, left + 4.5, 306.0), 10.0))
            left += 5.2  # 0.7 pt between letters of a word
        return boxes

    characters = (
        run("ןוימה", 133.5)
        + run("תרות", 163.0)
        + [("\r", (0, 0, 0, 0), 0.0), ("\n", (0, 0, 0, 0), 0.0)]
        + run("אבג", 100.0)
    )
    repairs = Counter()
    assert join_characters(characters, spaced=True, repairs=repairs) == "ןוימה תרות\nאבג"
    assert repairs["spaces_restored"] == 1
    assert join_characters(characters, spaced=False, repairs=Counter()) == "ןוימהתרות\nאבג"


def test_a_pointed_word_split_after_its_vowel_marks_is_joined():
    """A print driver put zero-width spaces after vowel marks ("וְ הָ אָרֶ ץ"); real spaces stay."""
    from collections import Counter

    from ingest.loaders.pdf import join_characters

    text = "וְ הָאָרֶ ץ יָפָה"
    characters = []
    x = 500.0
    for i, char in enumerate(text):
        zero_width = char == " " and i in (2, 9)
        width = 0.0 if zero_width else 3.0
        characters.append((char, (x - width, 560.0, x, 569.0), 12.0))
        x -= width
    repairs = Counter()
    assert join_characters(characters, spaced=False, repairs=repairs) == "וְהָאָרֶץ יָפָה"
    assert repairs["pointed_words_joined"] == 2


def test_ocr_passages_are_marked_in_search_results(tmp_path):
    from click.testing import CliRunner

    from rag.cli import cli

    docs = tmp_path / "docs"
    docs.mkdir()
    make_scanned_pdf(docs / "maintenance.pdf", ["The generator manual starts here.", text_image(ENGLISH)])
    index_dir = tmp_path / "indexes"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(docs), "--index-dir", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "search",
            "Which valve is closed before opening the drain?",
            "--index-dir",
            str(index_dir),
            "--json",
            "-k",
            "1",
        ],
    )
    (hit,) = json.loads(result.stdout)["hits"]
    assert hit["page"] == 2 and hit["ocr"] is True
    result = runner.invoke(
        cli, ["search", "Which valve is closed before opening the drain?", "--index-dir", str(index_dir), "-k", "1"]
    )
    assert "(OCR" in result.output
    status = json.loads(runner.invoke(cli, ["status", "--index-dir", str(index_dir), "--json"]).stdout)
    assert status["reading"]["pages"] == {"pdfium": 1, "ocr": 1}, status["reading"]
    assert "1 by ocr, 1 by pdfium" in runner.invoke(cli, ["status", "--index-dir", str(index_dir)]).output


def test_acronyms_split_at_the_gershayim_are_put_back():
    from ingest.hebrew import fix_acronyms

    line, n = fix_acronyms('לפי ם"רמב, הוא מציע להקים "קרן קיימת חדשה" ( , )ח"קק שתרכוש')
    assert line == 'לפי רמב"ם, הוא מציע להקים "קרן קיימת חדשה" (קק"ח), שתרכוש' and n == 3
    # a prefix before a quoted word, and two-letter abbreviations, are not acronyms to turn
    assert fix_acronyms('לשאלה ל"איזה מהם" ע"י ד"ר כהן') == ('לשאלה ל"איזה מהם" ע"י ד"ר כהן', 0)


def test_a_footnote_marker_after_a_hebrew_word_is_not_text():
    """A raised, smaller number right after a word (PDFium puts it on a line of its own) is a
    footnote marker; the same digits in a formula, or after a space, stay."""
    from collections import Counter

    from ingest.loaders.pdf import join_characters

    def word(text: str, right: float, y: float = 574.0, size: float = 12.0) -> list:
        out = []
        for char in text:
            out.append((char, (right - 5.0, y, right, y + 6.5), size))
            right -= 5.5
        return out

    brk = [("\r", (0, 0, 0, 0), 0.0), ("\n", (0, 0, 0, 0), 0.0)]
    sentence = (
        word("טוקטלי.", 200.0)
        + brk
        + [("9", (157.2, 579.8, 160.2, 584.6), 8.0)]
        + brk
        + [(" ", (154, 574, 156.9, 574), 12.0)]
        + word("הוא", 153.0)
    )
    repairs = Counter()
    assert join_characters(sentence, spaced=False, repairs=repairs) == "טוקטלי. הוא"
    assert repairs["footnote_marks"] == 1
    formula = word("x", 100.0) + [("2", (100.5, 579.8, 103.5, 584.6), 8.0)]
    assert join_characters(formula, spaced=False, repairs=Counter()) == "x2"


def test_a_garbage_text_layer_is_read_by_ocr():
    from ingest.ocr import needs_ocr

    assert needs_ocr("\ufffd\ufffd\ufffd \ue001\ue002\ue003 " * 20 + "Page 3")
    assert needs_ocr("12")
    assert not needs_ocr("The pump must be primed before the first start of the season.")

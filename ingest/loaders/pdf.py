"""PDF: one block per page, page numbers kept, section titles from the outline.

Text comes from PDFium (pypdfium2). Measured against pypdf on the Hebrew PDFs of six producers
and on the English manuals (bench/extract.py, docs/benchmarks.md), PDFium keeps the spaces that
pypdf loses (XeTeX, Google Docs), keeps chunk order inside lines (a print driver), reads text
drawn several times to fake bold once, and is several times faster. What it gets wrong is
repaired here, and each repair is counted (``PdfText.repairs``):

- pages in visual order (Hebrew reversed: the final-letter test) are turned into reading order;
- multi-word Latin runs in Hebrew lines, which PDFium writes in right-to-left word order, are put
  back;
- on Hebrew pages the text is rebuilt from PDFium's characters: zero-width spaces that split a
  pointed word after its vowel marks are dropped, and on pages whose words run together the
  gaps between the characters' boxes become spaces again.

pypdf reads a page that PDFium cannot; ``PdfText.extractors`` says which read each page. Pages
with no text layer are left to OCR (ingest.ocr).
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ingest import hebrew
from ingest.errors import NEEDS_PASSWORD, UnreadableFile
from ingest.ocr import DEFAULT, OcrConfig, is_garbage, needs_ocr, no_text_reason, ocr_pdf_pages
from ingest.types import Block, Document

_SPACE_STARVED_LETTERS = 8.0
"""Mean word length above which a page's words have run together (Hebrew and English prose average ~5)."""
_GAP = 0.18
"""A gap between two characters' boxes wider than this share of the font size is a space."""


@dataclass
class PdfText:
    """The text of each page of one PDF (None: no text layer), which extractor read it, and the
    repairs made."""

    pages: list[str | None]
    extractors: list[str]
    titles: list[tuple[int, tuple[str, ...]]]
    repairs: Counter = field(default_factory=Counter)
    failures: dict[int, str] = field(default_factory=dict)
    """Page number -> why no extractor could read it (an exception, not an empty page)."""


def load_pdf(path: Path, *, password: str | None = None, ocr: OcrConfig | None = DEFAULT, **_: object) -> Document:
    """``ocr``: how pages without a text layer are read (None: they are not). The document's
    ``metadata["reading"]`` counts pages by extractor and the repairs made."""
    read = read_pdf(path, password=password)
    scanned = ocr_pdf_pages(
        path,
        [n for n, text in enumerate(read.pages, 1) if needs_ocr(text)],
        password=password,
        config=ocr,
        garbage=frozenset(n for n, text in enumerate(read.pages, 1) if text and is_garbage(text)),
    )
    starts = [p for p, _ in read.titles]
    lost = {**read.failures, **scanned.failures}
    blocks = []
    for number, text in enumerate(read.pages, 1):
        origin = ""
        if number in scanned.text:
            text, origin = scanned.text[number], "ocr"
        elif text and is_garbage(text):
            continue  # not text, and OCR read nothing either
        if not text:
            continue
        at = bisect.bisect_right(starts, number) - 1
        headings = read.titles[at][1] if at >= 0 else ()
        blocks.append(Block(text, page=number, headings=headings, origin=origin))
    lost = {n: why for n, why in sorted(lost.items()) if n not in scanned.text}
    if not blocks:
        if lost:
            first = next(iter(lost))
            raise UnreadableFile(f"no page could be read (page {first}: {lost[first]})")
        raise UnreadableFile(scanned.error or no_text_reason(ocr, images=scanned.with_images > 0))
    pages = Counter(read.extractors[n - 1] for n, text in enumerate(read.pages, 1) if text and n not in scanned.text)
    pages.update({"ocr": len(scanned.text)} if scanned.text else {})
    reading: dict = {"pages": dict(pages), "repairs": dict(read.repairs)}
    if lost:
        reading["lost"] = [{"page": n, "reason": why} for n, why in lost.items()]
    return Document(str(path), blocks, {"reading": reading})


def read_pdf(path: Path, *, password: str | None = None) -> PdfText:
    """Every page's text, by PDFium with the repairs above; by pypdf where PDFium fails."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            if password:
                raise UnreadableFile("encrypted PDF and the password given does not open it") from None
            raise UnreadableFile(NEEDS_PASSWORD) from None
        return _read_with_pypdf(path, password, str(exc))
    fallback = None  # pypdf, opened for the first page PDFium cannot read
    try:
        result = PdfText([], [], _outline_titles(document))
        for index in range(len(document)):
            try:
                text, extractor = _tidy(_page_text(document[index], result.repairs)) or None, "pdfium"
            except Exception as exc:  # one page PDFium cannot read (or repair): try pypdf on it
                extractor = "pypdf"
                try:
                    fallback = fallback or _open_with_pypdf(path, password)
                    text = _pypdf_text(fallback.pages[index])
                except Exception as second:  # noqa: BLE001 - a page's failure costs that page only
                    text = None
                    result.failures[index + 1] = f"PDFium: {_short(exc)}; pypdf: {_short(second)}"
            result.pages.append(text)
            result.extractors.append(extractor)
        return result
    finally:
        document.close()


def _page_text(page, repairs: Counter) -> str:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        if hebrew.has_hebrew(text):
            text = _rebuild(textpage, spaced=_space_starved(text), repairs=repairs)
    finally:
        textpage.close()
        page.close()
    if not hebrew.has_hebrew(text):
        return text
    visual = hebrew.reads_backwards(text)
    return "\n".join(hebrew.repair_line(line, repairs, visual=visual) for line in text.split("\n"))


def _space_starved(text: str) -> bool:
    words = re.findall(r"\w+", text)
    return bool(words) and sum(map(len, words)) / len(words) > _SPACE_STARVED_LETTERS


def _rebuild(textpage, *, spaced: bool, repairs: Counter) -> str:
    """The page's text from PDFium's characters (see ``join_characters``)."""
    import pypdfium2.raw as raw

    handle = textpage.raw
    characters: list[tuple[str, tuple, float]] = []
    for i in range(textpage.count_chars()):
        char = chr(raw.FPDFText_GetUnicode(handle, i) or 0xFFFD)
        if characters and _halves(characters[-1][0], char):
            # PDFium gives a character beyond U+FFFF (𝑒, an emoji) as its two UTF-16 halves, in
            # visual order on a right-to-left line low half first: one character, one box
            first, box, size = characters.pop()
            characters.append((_joined(first, char), box, size))
        elif char in "\r\n":
            characters.append((char, (0.0, 0.0, 0.0, 0.0), 0.0))
        else:
            characters.append((char, tuple(textpage.get_charbox(i)), raw.FPDFText_GetFontSize(handle, i) or 10.0))
    return join_characters(characters, spaced=spaced, repairs=repairs)


def _halves(first: str, second: str) -> bool:
    """Are ``first`` and ``second`` the two halves of one surrogate pair, in either order?"""
    high = lambda c: len(c) == 1 and "\ud800" <= c <= "\udbff"  # noqa: E731
    low = lambda c: len(c) == 1 and "\udc00" <= c <= "\udfff"  # noqa: E731
    return (high(first) and low(second)) or (low(first) and high(second))


def _joined(first: str, second: str) -> str:
    high, low = (first, second) if first < second else (second, first)
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def join_characters(characters: list[tuple[str, tuple, float]], *, spaced: bool, repairs: Counter) -> str:
    """Pure: text from (character, box (left, bottom, right, top), font size) in PDFium's order.

    A zero-width space between a vowel mark and the next Hebrew letter (PDFium splitting a
    pointed word) is dropped; when ``spaced``, two letters on one line whose boxes stand apart
    by more than ``_GAP`` of the font size get a space between them."""
    out: list[str] = []
    last_box = None  # box of the last letter written, for gaps
    last = None  # (character, box, size) of the last character written that is not a space or break
    before_last = ""  # the character written before that one
    skip_to = -1
    for i, (char, box, size) in enumerate(characters):
        if i < skip_to:
            continue
        if char.isdigit() and last is not None and _ends_a_word(last[0], before_last):
            end = i
            while end < len(characters) and characters[end][0].isdigit():
                end += 1
            if _raised_and_small(characters[i:end], last):  # a footnote marker after a word: not text
                repairs["footnote_marks"] += 1
                while out and out[-1] == "\n":  # PDFium set the raised digits on a line of their own
                    out.pop()
                while end < len(characters) and characters[end][0] in "\r\n":
                    end += 1
                skip_to = end
                continue
        if char in "\r\n":
            if char == "\n":
                out.append("\n")
            last_box = None
            continue
        if char == " ":
            before = characters[i - 1][0] if i else ""
            after = characters[i + 1][0] if i + 1 < len(characters) else ""
            if box[2] - box[0] < 0.02 * size and hebrew.is_mark(before) and hebrew.is_letter(after):
                repairs["pointed_words_joined"] += 1
                continue
            out.append(" ")
            last_box = last = None  # a marker follows its word with no space
            continue
        if hebrew.is_mark(char):
            out.append(char)
            continue
        if spaced and last_box is not None and out and out[-1] not in " \n":
            gap = max(box[0] - last_box[2], last_box[0] - box[2])
            same_line = min(box[3], last_box[3]) > max(box[1], last_box[1])
            if same_line and gap > _GAP * size:
                out.append(" ")
                repairs["spaces_restored"] += 1
        out.append(char)
        last_box = box
        before_last = last[0] if last else ""
        last = (char, box, size)
    return "".join(out)


def _ends_a_word(char: str, before: str) -> bool:
    """Can a footnote marker follow ``char``: the end of a Hebrew word, or punctuation right after one?"""
    in_word = lambda c: hebrew.is_letter(c) or hebrew.is_mark(c)  # noqa: E731
    return in_word(char) or (char in ".,;:\"'״׳" and in_word(before))


def _raised_and_small(digits: list[tuple[str, tuple, float]], before: tuple[str, tuple, float]) -> bool:
    """Are ``digits`` set smaller than the text before them, above its baseline and right beside
    it (a superscript on the same line, not an exponent of a formula set elsewhere)?"""
    _, box, size = before
    first = digits[0][1]
    beside = min(abs(first[0] - box[2]), abs(box[0] - first[2])) < 0.5 * size and first[1] < box[1] + size
    return beside and all(d[2] <= 0.75 * size and d[1][1] > box[1] + 0.25 * size for d in digits)


def _open_with_pypdf(path: Path, password: str | None):
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(password or ""):
        raise UnreadableFile(NEEDS_PASSWORD)
    return reader


def _pypdf_text(page) -> str | None:
    """A page's text by pypdf (None: it has none); raises what pypdf raises."""
    return _tidy(page.extract_text() or "") or None


def _read_with_pypdf(path: Path, password: str | None, pdfium_error: str) -> PdfText:
    """A PDF that PDFium will not open: pypdf, which tolerates some damage PDFium does not."""
    try:
        pages = list(_open_with_pypdf(path, password).pages)
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise UnreadableFile(f"not a readable PDF ({_short(pdfium_error)}; pypdf: {_short(exc)})") from exc
    result = PdfText([], [], [])
    for number, page in enumerate(pages, 1):
        try:
            text = _pypdf_text(page)
        except Exception as exc:  # noqa: BLE001 - one broken page must not cost the others
            text = None
            result.failures[number] = f"PDFium cannot open the file ({_short(pdfium_error)}); pypdf: {_short(exc)}"
        result.pages.append(text)
        result.extractors.append("pypdf")
    return result


def _tidy(text: str) -> str:
    # PDFium writes U+FFFE where a word was hyphenated at a line end, and joins the halves
    lines = [
        line.rstrip()
        for line in text.replace("\x00", "").replace("\ufffe", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return "\n".join(lines).strip()


def _outline_titles(document) -> list[tuple[int, tuple[str, ...]]]:
    """(first page, heading path) for each outline entry, sorted by page."""
    found: list[tuple[int, tuple[str, ...]]] = []
    path: list[str] = []
    try:
        for item in document.get_toc():
            title = (item.get_title() or "").strip()
            del path[item.level :]
            path.append(title)
            dest = item.get_dest()
            page = dest.get_index() if dest is not None else None
            if title and page is not None and page >= 0:
                found.append((page + 1, tuple(p for p in path if p)))
    except Exception:
        return found
    found.sort(key=lambda entry: entry[0])
    return found


def _short(exc: object) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]

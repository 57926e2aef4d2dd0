"""OCR with Tesseract 5: scanned PDF pages and photos of printed pages become text.

Tesseract runs as a program (Debian: ``tesseract-ocr``, ``tesseract-ocr-heb``,
``tesseract-ocr-eng``; ``run.sh`` installs them), one page at a time, on images rendered by
PDFium; no Python wrapper is needed for one command line. Measured here (bench/ocr.py,
docs/benchmarks.md): with OpenMP's default threads a page took 16 s on 2 busy cores, with one
thread 2.7 s, so Tesseract runs single-threaded and the parse workers give the parallelism.

A page that reads badly (low mean word confidence) is checked with Tesseract's orientation
detection and read again turned upright when that reads better.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block, Document

INSTALL = "sudo apt-get install tesseract-ocr tesseract-ocr-heb tesseract-ocr-eng"
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_ORIENTATION_CONFIDENCE = re.compile(r"Orientation confidence:\s*([\d.]+)")
UPRIGHT_CONFIDENCE = 70.0
"""Below this mean word confidence a page is checked for being turned sideways or upside down."""
SMALLEST_SIDE = 120
"""Images narrower or lower than this many pixels (icons, bullets) are not read."""
PAGE_SECONDS = 120
"""Longest one page may take (Tesseract on a 2-core CPU reads a dense page in a few seconds)."""


@dataclass(frozen=True)
class OcrConfig:
    """How scans and photos are read: Tesseract's language codes joined by "+", and the
    resolution pages are rendered at."""

    languages: str = "heb+eng"
    dpi: int = 300


DEFAULT = OcrConfig()


def tesseract() -> str | None:
    return shutil.which("tesseract")


def no_text_reason(config: OcrConfig | None, *, images: bool = True) -> str:
    """Why a document with no text layer yields nothing, and what to do about it; ``images``:
    whether its pages hold images (a scan) rather than nothing or drawings."""
    if not images:
        return "no extractable text (its pages hold no text and no scanned images)"
    if config is None:
        return "no extractable text (a scan? OCR is off: set ocr = true to read it)"
    if tesseract() is None:
        return f"no extractable text (a scan?) and Tesseract is not installed for OCR: {INSTALL}"
    return "no text found, not even by OCR"


def _require() -> str:
    program = tesseract()
    if program is None:
        raise UnreadableFile(f"an image needs OCR, and Tesseract is not installed: {INSTALL}")
    return program


def read_image(image, config: OcrConfig = DEFAULT) -> str:
    """The text of one PIL image: OCR, and again turned upright if it reads badly."""
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as folder:
        page = Path(folder) / "page.png"
        image.save(page, format="PNG")
        text, confidence = _recognise(page, config)
        if confidence >= UPRIGHT_CONFIDENCE:
            return text
        turn = _upright_turn(page)
        if turn:
            turned = Path(folder) / "turned.png"
            image.rotate(-turn, expand=True).save(turned, format="PNG")
            turned_text, turned_confidence = _recognise(turned, config)
            if turned_confidence > confidence:
                return turned_text
        return text


def _run(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        return subprocess.run([_require(), *arguments], capture_output=True, timeout=PAGE_SECONDS, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise UnreadableFile(f"OCR of one page took longer than {PAGE_SECONDS} s") from None


def _recognise(image: Path, config: OcrConfig) -> tuple[str, float]:
    """(text in reading order, mean word confidence 0-100) of the picture in file ``image``."""
    folder = image.parent
    out = f"{image.stem}-out"
    result = _run([image.name, out, "-l", config.languages, "--dpi", str(config.dpi), "txt", "tsv"], folder)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit code {result.returncode}"
        if "Failed loading language" in result.stderr.decode("utf-8", "replace"):
            detail = f"languages {config.languages!r} are not all installed (set ocr_languages, or apt-get install tesseract-ocr-LANG)"
        raise UnreadableFile(f"OCR failed: {detail}")
    text = (folder / f"{out}.txt").read_text(encoding="utf-8", errors="replace")
    confidences = []
    for row in (folder / f"{out}.tsv").read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) == 12 and cells[0] == "5" and cells[11].strip():
            try:
                confidences.append(float(cells[10]))
            except ValueError:
                pass
    text = _BIDI_MARKS.sub("", text).replace("\f", "")
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, (sum(confidences) / len(confidences) if confidences else 0.0)


def _upright_turn(image: Path) -> int:
    """Degrees clockwise that would turn the picture in file ``image`` upright, by Tesseract's
    orientation detection (0: unsure)."""
    result = _run([image.name, "stdout", "--psm", "0"], image.parent)
    report = result.stdout.decode("utf-8", "replace")
    turn = _ROTATE.search(report)
    sure = _ORIENTATION_CONFIDENCE.search(report)
    if result.returncode != 0 or not turn or not sure or float(sure.group(1)) < 1.0:
        return 0
    return int(turn.group(1)) % 360


_GARBAGE = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0e-\x1f]")


def needs_ocr(text: str | None) -> bool:
    """Is a page's text layer missing, too thin to be the page (a scan with a page number), or
    garbage (see ``is_garbage``)?"""
    return len(re.findall(r"\w", text or "")) < 25 or is_garbage(text or "")


def is_garbage(text: str) -> bool:
    """Is a text layer mostly not text (a font without a character map: U+FFFD, private-use or
    control characters)?"""
    visible = len(text) - text.count(" ") - text.count("\n")
    return visible > 0 and len(_GARBAGE.findall(text)) > 0.3 * visible


@dataclass
class ScannedPages:
    """What OCR made of a PDF's pages without text: page number -> text, how many of them show an
    image (a blank or drawn page holds nothing a scan would, and is not read), and the first
    failure (one page's failure costs that page)."""

    text: dict[int, str] = field(default_factory=dict)
    with_images: int = 0
    error: str = ""
    failures: dict[int, str] = field(default_factory=dict)
    """Page number -> why reading it raised (the other pages are read all the same)."""


def ocr_pdf_pages(
    path: Path,
    numbers: list[int],
    *,
    password: str | None,
    config: OcrConfig | None,
    garbage: frozenset[int] = frozenset(),
) -> ScannedPages:
    """OCR of the pages ``numbers`` of a PDF: those that show an image, and those in ``garbage``
    (a text layer that is not text) whatever they show."""
    result = ScannedPages()
    if not numbers:
        return result
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        document = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError:  # read by pypdf instead: no pages to render
        return result
    try:
        for number in numbers:
            try:
                text = _scan_page(document, number, number in garbage, config, result, raw)
            except UnreadableFile as exc:
                result.error = result.error or f"page {number}: {exc}"
                result.failures[number] = f"OCR failed ({exc})"
                continue
            except Exception as exc:  # noqa: BLE001 - a page that cannot be rendered costs that page
                result.failures[number] = f"OCR could not render it ({type(exc).__name__}: {str(exc)[:120]})"
                continue
            if text:
                result.text[number] = text
    finally:
        document.close()
    return result


def _scan_page(document, number: int, garbage: bool, config: OcrConfig | None, result: ScannedPages, raw) -> str:
    """One page's OCR text ("" when it shows no image, or OCR is off or missing)."""
    page = document[number - 1]
    try:
        if not garbage and not any(True for _ in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=3)):
            return ""
        result.with_images += 1
        if config is None or tesseract() is None:
            return ""
        image = page.render(scale=config.dpi / 72, grayscale=True).to_pil()
    finally:
        page.close()
    return read_image(image, config)


def load_image(path: Path, *, ocr: OcrConfig | None = DEFAULT, **_: object) -> Document:
    """A photo or scan (PNG, JPEG, TIFF with any number of pages, WebP): one block per page, by OCR."""
    if ocr is None:
        raise UnreadableFile("an image, and OCR is off (set ocr = true to read it)")
    _require()
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        picture = Image.open(path)
    except (UnidentifiedImageError, OSError) as exc:
        raise UnreadableFile(f"not a readable image ({exc})") from exc
    blocks = []
    with picture:
        if min(picture.size) < SMALLEST_SIDE:
            raise UnreadableFile(
                f"an image of {picture.size[0]}x{picture.size[1]} pixels, too small to hold a page of text"
            )
        frames = getattr(picture, "n_frames", 1)
        for index in range(frames):
            picture.seek(index)
            frame = ImageOps.exif_transpose(picture.copy())  # phone photos: EXIF says which way is up
            text = read_image(frame.convert("L"), ocr)
            if text:
                blocks.append(Block(text, page=index + 1 if frames > 1 else None, origin="ocr"))
    if not blocks:
        raise UnreadableFile("no text found in the image by OCR")
    return Document(str(path), blocks, {"reading": {"pages": {"ocr": len(blocks)}}})

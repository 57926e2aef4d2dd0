"""Shared fixtures: real components, loaded once per session, and builders for real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.offline import enforce_offline

enforce_offline()


def make_pdf(
    path: Path, pages: list[str], *, outline: list[tuple[str, int]] | None = None, password: str | None = None
) -> Path:
    """A real text PDF, one string per page; ``outline`` entries are (title, page)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    titles = dict((page, title) for title, page in (outline or []))
    for number, text in enumerate(pages, 1):
        pdf.add_page()
        if number in titles:
            pdf.start_section(titles[number])
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    if password:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(path))
        writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
        with open(path, "wb") as handle:
            writer.write(handle)
    return path


def make_image_only_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
"""A font with Hebrew letters (Debian: fonts-dejavu-core, which run.sh installs for the tests)."""


def text_image(lines: list[str], *, width: int = 1700, size: int = 34, rtl: bool = False):
    """A real picture of printed lines (grayscale, 200 dpi-like): black text on white.
    Right-to-left lines are laid out by hand (reversed, right-aligned), so the picture does not
    depend on whether Pillow was built with a bidi library."""
    from PIL import Image, ImageDraw, ImageFont

    assert Path(FONT).is_file(), f"{FONT} is missing: apt-get install fonts-dejavu-core"
    font = ImageFont.truetype(FONT, size, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("L", (width, 120 + len(lines) * size * 2), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        y = 60 + row * size * 2
        if rtl:
            shown = line[::-1]
            draw.text((width - 80 - draw.textlength(shown, font=font), y), shown, font=font, fill=0)
        else:
            draw.text((80, y), line, font=font, fill=0)
    return image


def make_scanned_pdf(path: Path, pages: list) -> Path:
    """A PDF whose pages are text (str: a real text layer) or pictures (PIL images: a scan, no text layer)."""
    import io

    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.multi_cell(0, 6, page)
        else:
            buffer = io.BytesIO()
            page.save(buffer, format="PNG")
            pdf.image(buffer, x=0, y=0, w=210)
    pdf.output(str(path))
    return path


def make_docx(path: Path, items: list[tuple[str, str]]) -> Path:
    """Items are (kind, text): kind 'h1'..'h3', 'title', 'p', or 'table' (rows by ';', cells by ',')."""
    import docx

    document = docx.Document()
    for kind, text in items:
        if kind == "title":
            document.add_heading(text, level=0)
        elif kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        elif kind == "table":
            rows = [r.split(",") for r in text.split(";")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


@pytest.fixture(scope="session")
def embedder(model_cache):
    from ingest.minilm import MiniLMEmbedder

    return MiniLMEmbedder(threads=2, cache_dir=model_cache)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_model(model_cache) -> Path:
    """SmolLM2-135M: small and fast; it exercises generation, not answer quality."""
    from rag.models import resolve_model

    return resolve_model("smollm2-135m", model_cache)


@pytest.fixture(scope="session")
def tiny_generator(tiny_model):
    from rag.generator import LlamaCppGenerator

    return LlamaCppGenerator(tiny_model, threads=2, context_tokens=4096)


@pytest.fixture(scope="session", autouse=True)
def isolated_machine(tmp_path_factory):
    """The whole test run, module fixtures included, is isolated from the developer's machine:
    no RAG_* variables, no rag.toml (an empty config folder, a working folder of its own), and a
    cache of its own (assembled models, the int8 embedder, prompt states), so nothing from the
    developer's cache is relied on. RAG_TEST_CACHE names a cache folder to keep between runs
    instead (it saves about a minute)."""
    home = tmp_path_factory.mktemp("machine")
    cache = os.environ.get("RAG_TEST_CACHE") or str(home / "cache")
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("RAG_"):
                patch.delenv(key)
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        patch.setenv("XDG_CACHE_HOME", cache)
        patch.chdir(home)
        yield home


@pytest.fixture(scope="session", autouse=True)
def models_loaded_once(isolated_machine):
    """Every in-process `rag ask`/`chat`/engine of the run shares one loaded copy of each model
    (the 1.5B is 1.1 GB), as `rag serve` shares its models between indexes: rag.api's loader is
    wrapped by a cache keyed by the model and how it is run."""
    import rag.api

    load = rag.api.load_generator
    loaded: dict[tuple, object] = {}

    def load_once(settings, model=None):
        key = (
            model or settings.model,
            settings.model_url,
            settings.effective_threads(),
            settings.context_tokens,
            str(settings.cache_path),
        )
        if key not in loaded:
            loaded[key] = load(settings, model)
        return loaded[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rag.api, "load_generator", load_once)
        yield loaded


@pytest.fixture(autouse=True)
def env_clean(monkeypatch, tmp_path):
    """Each test also works in a folder of its own (a rag.toml or ./indexes it makes stays there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
"""DejaVu Serif has the mathematical italic letters (𝑒 U+1D452) that DejaVu Sans lacks."""


def make_unicode_pdf(path: Path, pages: list[str]) -> Path:
    """A real PDF of lines in DejaVu Sans (Hebrew, emoji, mathematical sans-serif letters) with
    DejaVu Serif for the mathematical italic ones; fpdf2 writes Hebrew lines in visual order, as
    many producers do, so PDFium reads them backwards (and a character beyond U+FFFF as its two
    UTF-16 halves, low half first)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("sans", "", FONT)
    pdf.add_font("serif", "", SERIF)
    pdf.set_font("sans", size=13)
    pdf.set_fallback_fonts(["serif"])
    for text in pages:
        pdf.add_page()
        for line in text.split("\n"):
            pdf.cell(text=line)
            pdf.ln(9)
    pdf.output(str(path))
    return path


def break_pdf_pages(monkeypatch, word: str, error: str = "FPDFText_LoadPage failed") -> None:
    """Make every PDF page that holds ``word`` fail in both extractors, as a damaged page does:
    PDFium raises ``error``, pypdf "broken content stream"."""
    import ingest.loaders.pdf as pdf

    real = pdf._page_text

    def page_text(page, repairs):
        text = real(page, repairs)
        if word in text:
            raise RuntimeError(error)
        return text

    def pypdf_text(page):
        raise ValueError("broken content stream")

    monkeypatch.setattr(pdf, "_page_text", page_text)
    monkeypatch.setattr(pdf, "_pypdf_text", pypdf_text)


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium (tests/browser.py), one per test module."""
    from browser import CHROMIUM, Browser

    if CHROMIUM is None:
        pytest.fail("no chromium: `bash run.sh test` installs Debian's chromium package")
    session = Browser()
    yield session
    session.close()

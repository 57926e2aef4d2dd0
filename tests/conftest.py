"""Shared fixtures: real components, loaded once per session, and builders for real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.offline import enforce_offline

enforce_offline()


def make_pdf(path: Path, pages: list[str], *, outline: list[tuple[str, int]] | None = None, password: str | None = None) -> Path:
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
    from ingest.embedder import MiniLMEmbedder

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


@pytest.fixture
def env_clean(monkeypatch, tmp_path):
    """No RAG_* variables or rag.toml from the developer's machine leak into a test."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path

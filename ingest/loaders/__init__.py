"""The loader registry: a file extension names the function that turns the file into blocks.

A new format is one entry in ``LOADERS``; nothing else branches on extensions.
Loaders are imported only when a file of their kind is met.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block, Document

LOADERS: dict[str, str] = {
    ".pdf": "ingest.loaders.pdf:load_pdf",
    ".txt": "ingest.loaders.text:load_text",
    ".text": "ingest.loaders.text:load_text",
    ".md": "ingest.loaders.text:load_markdown",
    ".markdown": "ingest.loaders.text:load_markdown",
    ".html": "ingest.loaders.web:load_html",
    ".htm": "ingest.loaders.web:load_html",
    ".xhtml": "ingest.loaders.web:load_html",
    ".docx": "ingest.loaders.office:load_docx",
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def load_document(path: Path, *, password: str | None = None) -> Document:
    """Read one file into a Document, or raise UnreadableFile with the reason."""
    target = LOADERS.get(path.suffix.lower())
    if target is None:
        raise UnreadableFile(f"unsupported file type '{path.suffix or path.name}'")
    module_name, function_name = target.split(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    try:
        blocks: list[Block] = loader(path, password=password)
    except UnreadableFile:
        raise
    except (OSError, MemoryError) as exc:
        raise UnreadableFile(f"cannot read the file ({exc.__class__.__name__}: {exc})") from exc
    except Exception as exc:  # a parser bug on one file must not end the run
        raise UnreadableFile(f"the {path.suffix.lower()[1:]} parser failed ({type(exc).__name__}: {exc})") from exc
    return Document(path=str(path), blocks=blocks)

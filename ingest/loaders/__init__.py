"""The loader registry: a file extension names the function that turns the file into blocks.

A new format is one entry in ``LOADERS``; nothing else branches on extensions.
Loaders are imported only when a file of their kind is met. Extensions listed in
``FALLBACK`` have no loader of their own and go to ``unstructured`` (offline).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.ocr import DEFAULT, IMAGE_TYPES, OcrConfig
from ingest.types import Block, Document
from ingest.unicode import clean

_CODE = (
    ".py .pyi .js .mjs .jsx .ts .tsx .java .kt .scala .c .h .cc .cpp .cxx .hpp .cs .go .rs .rb .php .swift "
    ".m .r .jl .lua .pl .sh .bash .zsh .ps1 .sql .css .scss .vue .svelte .ex .exs .erl .hs .ml .clj .dart "
    ".toml .ini .cfg .yaml .yml .json .xml .proto .graphql .tex .el .vim .dockerfile .mk .cmake .gradle"
).split()

LOADERS: dict[str, str] = {
    ".pdf": "ingest.loaders.pdf:load_pdf",
    ".txt": "ingest.loaders.text:load_text",
    ".text": "ingest.loaders.text:load_text",
    ".log": "ingest.loaders.text:load_text",
    ".md": "ingest.loaders.text:load_markdown",
    ".markdown": "ingest.loaders.text:load_markdown",
    ".rst": "ingest.loaders.text:load_rst",
    ".html": "ingest.loaders.web:load_html",
    ".htm": "ingest.loaders.web:load_html",
    ".xhtml": "ingest.loaders.web:load_html",
    ".html.gz": "ingest.loaders.web:load_html_gz",
    ".htm.gz": "ingest.loaders.web:load_html_gz",
    ".docx": "ingest.loaders.office:load_docx",
    ".pptx": "ingest.loaders.office:load_pptx",
    ".xlsx": "ingest.loaders.office:load_xlsx",
    ".xlsm": "ingest.loaders.office:load_xlsx",
    ".odt": "ingest.loaders.office:load_odt",
    ".csv": "ingest.loaders.tables:load_csv",
    ".tsv": "ingest.loaders.tables:load_csv",
    ".epub": "ingest.loaders.ebook:load_epub",
    ".eml": "ingest.loaders.mail:load_eml",
    ".mbox": "ingest.loaders.mail:load_mbox",
    **{ext: "ingest.loaders.text:load_code" for ext in _CODE},
    **{ext: "ingest.ocr:load_image" for ext in IMAGE_TYPES},
}
FALLBACK = frozenset({".msg"})
"""Formats read by ``unstructured`` (installed without network access; see ingest.offline)."""


def file_type(path: Path) -> str:
    """The registry key of a file: its last suffix, or its last two for ``.html.gz``."""
    name = path.name.lower()
    double = "".join(Path(name).suffixes[-2:])
    return double if double in LOADERS else Path(name).suffix


def supported(path: Path) -> bool:
    kind = file_type(path)
    return kind in LOADERS or kind in FALLBACK


def load_document(
    path: Path, *, password: str | None = None, ocr: OcrConfig | None = DEFAULT, depth: int = 0
) -> Document:
    """Read one file into a Document, or raise UnreadableFile with the reason.

    ``ocr``: how scans and photos are read (None: they are not). ``depth`` counts how deep
    inside other documents (mail attachments) this one sits.
    """
    kind = file_type(path)
    target = LOADERS.get(kind) or ("ingest.loaders.fallback:load_unstructured" if kind in FALLBACK else None)
    if target is None:
        raise UnreadableFile(f"unsupported file type '{path.suffix or path.name}'")
    module_name, function_name = target.split(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    try:
        loaded: list[Block] | Document = loader(path, password=password, ocr=ocr, depth=depth)
    except UnreadableFile:
        raise
    except MemoryError:
        raise UnreadableFile("ran out of memory while parsing (the parser's limit is parse_memory_mb)") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read the file ({exc.__class__.__name__}: {exc})") from exc
    except RecursionError:
        raise UnreadableFile("nested too deeply to parse (simplify or convert the file)") from None
    except Exception as exc:  # a parser bug on one file must not end the run
        raise UnreadableFile(f"the {kind[1:]} parser failed ({type(exc).__name__}: {exc})") from exc
    if isinstance(loaded, Document):  # a loader with more to say than its blocks (how it read them)
        return Document(path=str(path), blocks=clean_blocks(loaded.blocks), metadata=loaded.metadata)
    return Document(path=str(path), blocks=clean_blocks(loaded))


def clean_blocks(blocks: list[Block]) -> list[Block]:
    """Every loader's text through the one border (``ingest.unicode.clean``): valid Unicode that
    the chunker, the catalog and the embedders accept, whatever the extractor returned."""
    out = []
    for block in blocks:
        text, headings = clean(block.text), tuple(clean(h) for h in block.headings)
        if (text, headings) != (block.text, block.headings):
            block = Block(text, block.page, headings, block.origin)
        out.append(block)
    return out

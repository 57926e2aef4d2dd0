"""Plain data passed between loading, chunking, embedding and storing."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Block:
    """A run of text with one context: a paragraph, a table row group, a PDF page.

    ``headings`` is the path of section titles above the block, outermost first; ``origin``
    says how the text was read when it is not the file's own text ("ocr": from a scan or photo).
    """

    text: str
    page: int | None = None
    headings: tuple[str, ...] = ()
    origin: str = ""


@dataclass(frozen=True)
class Document:
    path: str
    blocks: list[Block]
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough for the embedder.

    ``start``/``end`` are character offsets into the document's text, which is its
    blocks joined by blank lines (see ``chunker.document_text``).
    """

    text: str
    ordinal: int
    start: int
    end: int
    page: int | None
    headings: tuple[str, ...]
    origin: str = ""
    """"ocr" when the text was read from a scan or photo (see ``Block.origin``)."""

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)

"""Pure: Document -> chunks that fit the embedder, cut at sentence or word boundaries.

Token counts come from a ``count_tokens`` function (the embedder's own tokenizer), so a
chunk's size is measured in the unit that the embedder truncates at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.types import Block, Chunk, Document

CountTokens = Callable[[Sequence[str]], list[int]]
SEPARATOR = "\n\n"
BULLETS = "•▪◦●■□➢►"
_SENTENCE_END = re.compile(rf"(?<=[.!?;:…׃])\s+|\n+|\s*[{BULLETS}]\s*|\s+o\s+(?=[A-Z\u05d0-\u05ea])")
"""A sentence ends at its stop, at a line break, and where a list item starts: a bullet glyph, or
the "o" of a second-level list that a PDF's text layer runs into the line ("… המובנה בשירות o
גיבוי אוטומטי …", "… the service o Backups are …"); the bullet itself belongs to no sentence."""
_NOT_AN_END = re.compile(
    r"(?:(?:\b[A-Z][a-z]+|\b[A-Z]\.)\s?[A-Z]|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|Jr|Sr|Gen|Col|Lt|Capt|Sgt|Rev|Gov|Sen|Rep|Inc|Ltd|Co|Corp|No|Nos|Fig|Figs|"
    r"Vol|vs|etc|al|approx|ca|cf|e\.g|i\.e|pp|p|ch|sec|ed|eds)\.)\.?$",
)
"""The text before a full stop that does not end a sentence: an initial ("John C. Messenger") or
an abbreviation ("St. Johns", "et al."). "Tank B." still ends one."""
_LOWER_START = re.compile(r"[a-z]")
_INITIAL = re.compile(r"\b[A-Z]\.$")
_NEXT_INITIAL = re.compile(r"[A-Z]\.")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int


def document_text(document: Document) -> str:
    return SEPARATOR.join(block.text for block in document.blocks)


def embedding_text(heading: str, text: str) -> str:
    """What the embedder reads for a chunk: its heading path, then its text."""
    return f"{heading}\n{text}" if heading else text


CHUNK_TOKENS = 200
"""The largest chunk, in embedder tokens, heading included (the ``chunk_tokens`` setting's default)."""
OVERLAP_TOKENS = 40


def chunk_document(
    document: Document,
    count_tokens: CountTokens,
    *,
    max_tokens: int = CHUNK_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
) -> list[Chunk]:
    """Split a document into chunks of at most ``max_tokens`` tokens (heading path included).

    Chunks never span two sections (a change of page or heading path); consecutive chunks
    of a section share up to ``overlap_tokens`` tokens of whole sentences.
    """
    text = document_text(document)
    chunks: list[Chunk] = []
    offset = 0
    for section in _sections(document.blocks):
        first = section[0]
        heading = " > ".join(first.headings)
        spans = []
        for block in section:
            spans.append((offset, offset + len(block.text)))
            offset += len(block.text) + len(SEPARATOR)
        heading_tokens = count_tokens([heading])[0] + 1 if heading else 0
        budget = max(16, max_tokens - heading_tokens)
        units = _units(text, spans, count_tokens, budget)
        for start, end in _pack(units, budget, overlap_tokens):
            chunks.append(
                Chunk(
                    text=text[start:end],
                    ordinal=len(chunks),
                    start=start,
                    end=end,
                    page=first.page,
                    headings=first.headings,
                    origin=first.origin,
                )
            )
    return chunks


def _sections(blocks: Sequence[Block]) -> list[list[Block]]:
    sections: list[list[Block]] = []
    for block in blocks:
        if sections and (sections[-1][0].page, sections[-1][0].headings, sections[-1][0].origin) == (
            block.page,
            block.headings,
            block.origin,
        ):
            sections[-1].append(block)
        else:
            sections.append([block])
    return sections


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Pure: (start, end) of each sentence or line of ``text[start:end]``, whitespace between them left out."""
    end = len(text) if end is None else end
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group()[0] != "\n" and full_stop_continues(text, match.start(), match.end(), cursor):
            continue  # "St. Johns", "John C. Messenger", "J. R. R.", "e.g. rain": the sentence goes on
        if match.start() > cursor:
            pieces.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def full_stop_continues(text: str, stop: int, after: int, since: int = 0) -> bool:
    """Pure: does the sentence go on past the full stop that ends at ``stop`` (the next text starts
    at ``after``; the sentence began at ``since``): an abbreviation, an initial, a lower-case word next?"""
    return text[stop - 1] == "." and bool(
        _NOT_AN_END.search(text, max(since, stop - 20), stop)
        or _LOWER_START.match(text, after)
        or (_INITIAL.search(text, max(since, stop - 3), stop) and _NEXT_INITIAL.match(text, after))
    )


def _units(text: str, spans, count_tokens: CountTokens, budget: int) -> list[_Unit]:
    """Sentences (or lines) of the section; any longer than the budget split at words."""
    pieces = [piece for span_start, span_end in spans for piece in sentence_spans(text, span_start, span_end)]
    counts = count_tokens([text[s:e] for s, e in pieces]) if pieces else []
    units: list[_Unit] = []
    for (start, end), tokens in zip(pieces, counts):
        if tokens <= budget:
            units.append(_Unit(start, end, tokens))
        else:
            units.extend(_split_words(text, start, end, count_tokens, budget))
    return units


def _split_words(text: str, start: int, end: int, count_tokens: CountTokens, budget: int) -> list[_Unit]:
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    counts = count_tokens([text[s:e] for s, e in words])
    units: list[_Unit] = []
    group_start, group_end, group_tokens = None, None, 0
    for (s, e), tokens in zip(words, counts):
        if tokens > budget:  # one "word" longer than a chunk (a URL, base64): cut it by characters
            if group_start is not None:
                units.append(_Unit(group_start, group_end, group_tokens))
                group_start, group_tokens = None, 0
            step = max(1, (e - s) * budget // tokens)
            units.extend(_Unit(p, min(p + step, e), budget) for p in range(s, e, step))
            continue
        if group_start is not None and group_tokens + tokens > budget:
            units.append(_Unit(group_start, group_end, group_tokens))
            group_start, group_tokens = None, 0
        if group_start is None:
            group_start = s
        group_end, group_tokens = e, group_tokens + tokens
    if group_start is not None:
        units.append(_Unit(group_start, group_end, group_tokens))
    return units


def _pack(units: list[_Unit], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of units into spans of at most ``budget`` tokens, with sentence overlap."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        total, j = 0, i
        while j < len(units) and total + units[j].tokens <= budget:
            total += units[j].tokens
            j += 1
        j = max(j, i + 1)
        spans.append((units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        back, carried = j, 0
        while back - 1 > i and carried + units[back - 1].tokens <= overlap:
            back -= 1
            carried += units[back].tokens
        i = back
    return spans

"""Pure: an extractive summary of one document: its own key sentences, in document order, each
with the page and section it comes from.

The document (its indexed chunks) is cut into at most ``max_points`` parts of about equal
length along its sections (an outline heading, else a page); each part gives the sentence that
best carries the words the part is about (its terms weighted by how often they occur in the
part and how rare they are in the other parts), so the points cover the whole document
rather than its beginning. Lines that are not prose (a table of contents, a list of numbers,
a heading alone) are passed over. Nothing is paraphrased: every point is a sentence of the
document, checkable at its page.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.lexical import terms
from ingest.sentences import pieces_of
from ingest.types import Chunk

MAX_POINTS = 8
MIN_WORDS, MAX_WORDS = 6, 60
_NOT_PROSE = re.compile(r"(?:\.\s*){4,}|^\W*\d+(?:\.\d+)*\W*$")


@dataclass(frozen=True)
class Point:
    text: str
    chunk: Chunk


def _parts(chunks: Sequence[Chunk], count: int) -> list[list[Chunk]]:
    """The chunks in ``count`` runs of about equal length, cut only where the section changes
    (when the document has that many sections)."""
    sections: list[list[Chunk]] = []
    for chunk in chunks:
        if sections and (sections[-1][0].page, sections[-1][0].heading) == (chunk.page, chunk.heading):
            sections[-1].append(chunk)
        else:
            sections.append([chunk])
    if len(sections) <= count:
        return sections
    total = sum(len(c.text) for c in chunks)
    parts: list[list[Chunk]] = [[]]
    done = 0
    for section in sections:
        size = sum(len(c.text) for c in section)
        if parts[-1] and done >= total * len(parts) / count:
            parts.append([])
        parts[-1].extend(section)
        done += size
    return parts


def _sentences(part: Sequence[Chunk]) -> list[tuple[str, Chunk]]:
    out, seen = [], set()
    for chunk in part:
        for sentence in pieces_of(chunk.text):
            key = " ".join(sentence.split()).lower()
            words = len(sentence.split())
            if key in seen or not MIN_WORDS <= words <= MAX_WORDS or _NOT_PROSE.search(sentence):
                continue
            seen.add(key)
            out.append((sentence, chunk))
    return out


def summary_points(
    chunks: Sequence[Chunk], *, max_points: int = MAX_POINTS, progress: Callable[[int, int], None] | None = None
) -> list[Point]:
    """The document's key sentences (see the module's text); ``progress(done, total)`` per part."""
    chunks = sorted(chunks, key=lambda c: c.ordinal)
    parts = _parts(chunks, max_points)
    part_terms = [Counter(t for c in part for t in terms(c.heading + "\n" + c.text)) for part in parts]
    spread = Counter(t for counts in part_terms for t in counts)
    points = []
    for number, (part, counts) in enumerate(zip(parts, part_terms), 1):
        if progress:
            progress(number, len(parts))
        weight = {t: n * math.log(1 + len(parts) / spread[t]) for t, n in counts.items()}
        best, best_score = None, 0.0
        for sentence, chunk in _sentences(part):
            words = terms(sentence)
            score = sum(weight.get(t, 0.0) for t in set(words)) / math.sqrt(len(words) + 1)
            if score > best_score:
                best, best_score = Point(" ".join(sentence.split()), chunk), score
        if best is not None:
            points.append(best)
    return points

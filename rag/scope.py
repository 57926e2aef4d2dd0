"""Pure: questions about one document. "Summarise injection.txt", "key points of the pump
manual.pdf", "what does radio.md say about channels?": a question that names an indexed file
is answered from that file alone, and a request for a summary gets one (rag.summary).

A file is named by its whole name ("pump-manual.pdf") or by its name without the extension
when that is at least five characters and not a common word ("pump-manual"); matching
ignores case, and "_" "-" and spaces count as the same.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from ingest.paths import file_name

_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|summary|sum up|key points|main points|key facts|main ideas|overview|outline|tl;?dr|gist)\b"
    r"|(?:^|\s)(?:סכם|סכמי|סכמו|סיכום|תקציר|עיקרי|הנקודות העיקריות|תמצית)",
    re.IGNORECASE,
)
_FOLD = re.compile(r"[\s_\-]+")
COMMON_STEMS = frozenset({"index", "notes", "readme", "manual", "guide", "document", "file", "report", "summary"})


def wants_summary(question: str) -> bool:
    """Does the question ask for a summary or the key points (rather than one fact)?"""
    return bool(_SUMMARY.search(question))


def _folded(text: str) -> str:
    return _FOLD.sub(" ", text.lower()).strip()


def named_files(question: str, paths: Iterable[str]) -> list[str]:
    """The indexed files that ``question`` names: those named in full, else the one named by its
    stem alone (none when two stems match equally)."""
    asked = f" {_folded(question)} "
    full: list[str] = []
    stems: dict[str, int] = {}
    for path in paths:
        name = file_name(path)
        stem = os.path.splitext(name)[0]
        if _mentions(asked, name):
            full.append(path)
        elif len(_folded(stem)) >= 5 and _folded(stem) not in COMMON_STEMS and _mentions(asked, stem):
            stems[path] = len(_folded(stem))
    if full:
        return full
    best = sorted(stems.items(), key=lambda item: -item[1])
    if not best or (len(best) > 1 and best[0][1] == best[1][1]):
        return []
    return [best[0][0]]


def _mentions(asked: str, name: str) -> bool:
    return bool(re.search(rf"(?<![\w.]){re.escape(_folded(name))}(?!\w)", asked))

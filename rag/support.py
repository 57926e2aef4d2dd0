"""Pure: is a drafted answer supported by the passages it was drafted from?

A small model asked about something the documents do not say still answers, and the answer
reads well: a version number, a size, an option name that no passage holds, followed by a
citation ("The Qt terminal first appeared in gnuplot 5.4 [2]"). ``unsupported_specifics``
finds the answer's specific tokens (numbers, versions, option flags, identifiers, file names,
long capitalised constants) that appear in no passage and not in the question; an answer
with one is retracted.

Chosen on manuals-qa (bench/answer.py, docs/benchmarks.md): this rule retracted 6 of the 15
unanswerable questions' drafts and one correct answer of 60. Two more rules were measured and
dropped: "the answer only restates the question" and "most of its words are in no passage"
retracted no unanswerable draft that this rule missed, and 5 to 9 answerable ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_SPECIFIC = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]*"  # option flags: -p, --persist
    r"|\b\d+(?:[.,:]\d+)*\b"  # numbers, versions, times
    r"|[\w.-]*[_./$][\w.-]*\w"  # identifiers and file names: set_size, .gnuplot, $HOME, a/b
    r"|\b[A-Za-z]+-\d[\w.-]*"  # names with a number: AES-256, UTF-8
    r"|\b[A-Z][A-Z0-9]*(?:[0-9][A-Z0-9]*|[A-Z]{5,})\b"  # constants: GNUTERM, SQLITE3 (not UTC, POSIX, ID: common words)
    r"|\b[a-z]+[A-Z]\w*\b"  # camelCase
)
_MARKER = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
_SQUASH = re.compile(r"[\W_]+", re.UNICODE)
_SMALL_NUMBERS = {str(n) for n in range(0, 11)}


def _squash(text: str) -> str:
    """Lower case, compatibility forms folded (ligatures), everything but letters and digits dropped."""
    return _SQUASH.sub("", unicodedata.normalize("NFKC", text).lower())


def specifics(text: str) -> list[str]:
    """The specific tokens of ``text`` (numbers, flags, identifiers, acronyms, code), citation
    markers excluded; one-digit numbers are left out (they are mostly list positions)."""
    text = _MARKER.sub(" ", text)
    found = []
    for match in _SPECIFIC.finditer(text):
        token = match.group().strip("`'\".,;:")
        if token and token not in _SMALL_NUMBERS and _squash(token):
            found.append(token)
    return list(dict.fromkeys(found))


def unsupported_specifics(answer: str, passages: str, question: str) -> list[str]:
    """Specific tokens of ``answer`` found in neither ``passages`` nor ``question``."""
    haystack = _squash(passages) + " " + _squash(question)
    return [t for t in specifics(answer) if _squash(t) not in haystack]


@dataclass(frozen=True)
class SupportCheck:
    """The verdict on one drafted answer."""

    supported: bool
    reason: str = ""
    unsupported: list[str] = field(default_factory=list)


def check_answer(answer: str, passages: str, question: str) -> SupportCheck:
    """Is ``answer`` backed by ``passages``? (See the module docstring.)"""
    missing = unsupported_specifics(answer, passages, question)
    if missing:
        return SupportCheck(
            False, f"{', '.join(missing[:3])} appear{'s' if len(missing) == 1 else ''} in no passage", missing
        )
    return SupportCheck(True)

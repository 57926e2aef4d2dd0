"""Pure: is a drafted answer supported by the passages it was drafted from?

A small model asked about something the documents do not say still answers, and the answer
reads well: a version number, a size, an option name that no passage holds, followed by a
citation ("The Qt terminal first appeared in gnuplot 5.4 [2]"). ``unsupported_specifics``
finds the answer's specific tokens (numbers, versions, option flags, identifiers, file names,
long capitalised constants) that appear in no passage and not in the question; an answer
with one is retracted.

Chosen on manuals-qa (bench/answer.py, docs/benchmarks.md): this rule retracted 6 of the 15
unanswerable questions' drafts and one correct answer of 60. ``unanchored_numbers`` then caught
the numbers a passage holds but says about something else (3 more of the 15, no answerable one). Two more rules were measured and
dropped: "the answer only restates the question" and "most of its words are in no passage"
retracted no unanswerable draft that this rule missed, and 5 to 9 answerable ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingest.chunker import sentence_spans
from ingest.lexical import terms
from rag.citations import MARKER

_SPECIFIC = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]*"  # option flags: -p, --persist
    r"|\b\d+(?:[.,:]\d+)*\b"  # numbers, versions, times
    r"|[\w.-]*[_./$][\w.-]*\w"  # identifiers and file names: set_size, .gnuplot, $HOME, a/b
    r"|\b[A-Za-z]+-\d[\w.-]*"  # names with a number: AES-256, UTF-8
    r"|\b[A-Z][A-Z0-9]*(?:[0-9][A-Z0-9]*|[A-Z]{5,})\b"  # constants: GNUTERM, SQLITE3 (not UTC, POSIX, ID: common words)
    r"|\b[a-z]+[A-Z]\w*\b"  # camelCase
)
_SQUASH = re.compile(r"[\W_]+", re.UNICODE)
_SMALL_NUMBERS = {str(n) for n in range(0, 11)}


def _squash(text: str) -> str:
    """Lower case, compatibility forms folded (ligatures), everything but letters and digits dropped."""
    return _SQUASH.sub("", unicodedata.normalize("NFKC", text).lower())


def specifics(text: str) -> list[str]:
    """The specific tokens of ``text`` (numbers, flags, identifiers, acronyms, code), citation
    markers excluded; one-digit numbers are left out (they are mostly list positions)."""
    text = MARKER.sub(" ", text)
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


_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|big|large|often)|maximum|minimum|largest|smallest|most|least|limit|default"
    r"|(?:which|what)(?: \w+)? (?:version|release|port)|in which(?: \w+)? (?:release|version))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d[\d.,:]*|[A-Za-z]+-\d[\d.]*")
ANCHOR_SHARE = 0.1
"""A question word found in at most this share of the passages' sentences (or in two) is distinctive."""
ANCHOR_WINDOW = 1
"""A number counts as said about the question within this many sentences of a distinctive word."""


def unanchored_numbers(answer: str, passages: str, question: str) -> list[str]:
    """For a question that asks for a number, a version, a limit or a default: the numbers and
    versions of ``answer`` that the passages hold, but never within ``ANCHOR_WINDOW`` sentences
    of one of the question's distinctive words (in at most ``ANCHOR_SHARE`` of the passages'
    sentences, or two). Such a number comes from elsewhere on the page (a page number in a table of
    contents, another feature's version) and answers a question the passages do not."""
    if not _ASKS_NUMBER.search(question):
        return []
    sentences = [passages[a:b] for a, b in sentence_spans(passages)]
    words = [set(terms(sentence)) for sentence in sentences]
    wanted = set(terms(question))
    limit = max(2, ANCHOR_SHARE * len(words))
    anchors = {w for w in wanted if sum(w in found for found in words) <= limit}
    squashed = [_squash(sentence) for sentence in sentences]
    found = []
    for token in specifics(answer):
        key = _squash(token)
        if not _NUMBER.fullmatch(token) or key in _squash(question):
            continue
        places = [i for i, text in enumerate(squashed) if key in text]
        near = (set().union(*words[max(0, i - ANCHOR_WINDOW) : i + ANCHOR_WINDOW + 1]) for i in places)
        own = anchors - set(terms(token))  # "Bash-5.2" is not about bash because it says "Bash"
        if places and not any(group & own for group in near):
            found.append(token)
    return found


def check_answer(answer: str, passages: str, question: str) -> SupportCheck:
    """Is ``answer`` backed by ``passages``? (See the module docstring.)"""
    missing = unsupported_specifics(answer, passages, question)
    if missing:
        return SupportCheck(
            False, f"{', '.join(missing[:3])} appear{'s' if len(missing) == 1 else ''} in no passage", missing
        )
    elsewhere = unanchored_numbers(answer, passages, question)
    if elsewhere:
        return SupportCheck(False, f"the passages give {', '.join(elsewhere[:3])} only about something else", elsewhere)
    return SupportCheck(True)

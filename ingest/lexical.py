"""Pure: text -> search terms for the lexical (BM25) index, for English, Hebrew and mixed text.

Hebrew: niqqud and cantillation marks removed, final letters folded to their base form,
and the one-letter prefixes (ו ה ב כ ל מ ש, and their combinations) stripped as extra
variants so that "בבית" finds "בית". English: lower case, stop words dropped, Snowball stems.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ingest import hebrew

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

ENGLISH_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with you your yours yourself yourselves""".split()
)


_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def latin_letter_share(text: str) -> tuple[int, int]:
    """(letters, ASCII/Latin-1 letters) of a text: a cheap sign of how much of it is English."""
    letters = _LETTER.findall(text)
    return len(letters), sum(1 for ch in letters if ch < "\u0250")


def normalize(text: str) -> str:
    """NFKC, lower case, Hebrew marks removed, final letters folded."""
    text = unicodedata.normalize("NFKC", text)
    return hebrew.fold_finals(hebrew.strip_marks(text).lower())


@functools.lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer
    except ImportError:  # stemming is an improvement, not a requirement
        return None
    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Index terms of a text, in order; Hebrew words contribute their prefix-stripped variants."""
    out: list[str] = []
    latin: list[tuple[int, str]] = []
    for token in _TOKEN.findall(normalize(text)):
        if hebrew.WORD.match(token):
            if token not in hebrew.STOP_WORDS:
                out.extend(hebrew.variants(token))
        elif token not in ENGLISH_STOP_WORDS:
            latin.append((len(out), token))
            out.append(token)
    stemmer = _stemmer()
    if stemmer is not None and latin:
        for (at, _), stem in zip(latin, stemmer.stemWords([t for _, t in latin])):
            out[at] = stem
    return out


def match_expression(words: list[str]) -> str | None:
    """An FTS5 MATCH expression: any of the terms (BM25 ranks by how many and how rare)."""
    if not words:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in words)

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

OTHER_FUNCTION_WORDS = (
    frozenset(
        """il lo gli della delle dello degli che per non una sono nel nella con del alla anche come più
    les des est une dans pour qui pas sur sont avec aux du ce cette mais leur été
    los las el una por con para del es lo como más pero sus fue está
    der die das und ist nicht mit sich auf ein eine dem den des zu von auch wird sind
    os um uma não com para mais dos das foi são pela pelo
    het een van en niet zijn voor met ook wordt maar""".split()
    )
    - ENGLISH_STOP_WORDS
)
"""Common function words of Italian, French, Spanish, German, Portuguese and Dutch that are not
English words: Latin-script text that is not English shows them in most sentences."""


def latin_letter_share(text: str) -> tuple[int, int]:
    """(letters, ASCII/Latin-1 letters) of a text: a cheap sign of how much of it is English."""
    letters = _LETTER.findall(text)
    return len(letters), sum(1 for ch in letters if ch < "\u0250")


def other_language_share(text: str) -> tuple[int, int]:
    """(words, words that are another Latin-script language's function words): a cheap sign that a
    text in Latin letters is not English (about 0.2 of Italian or French prose, near 0 of English
    or code)."""
    words = _TOKEN.findall(text.lower())
    return len(words), sum(1 for w in words if w in OTHER_FUNCTION_WORDS)


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

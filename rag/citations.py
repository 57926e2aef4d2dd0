"""Pure: make citation markers point at passages that were given and that support the claim.

Works on a stream: ``feed`` returns the text that is safe to show so far, holding back a
possibly unfinished marker such as ``[1`` until it is complete. Markers naming a passage
that was not given are removed and counted. With ``passages`` (number -> text), a marker
whose passage shares few of the sentence's words is moved to the passage that clearly
supports the sentence: small models often get the number wrong and the fact right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.lexical import terms

MARKER = re.compile(r"(?<!\w)\[(\s*[1-9]\d*(?:\s*[,;]\s*[1-9]\d*)*\s*)\]")
"""A citation marker: [2], [1, 3]. Passages are numbered from 1, so [0] is text, and so are
brackets glued to a word (an index: NAME[1], a[2]). Asked which element of bash's coprocess
array holds its output, the 1.5B answered "the array element [0] holds ...", and the [0] was
removed as a marker naming no passage."""
_OPEN_TAIL = re.compile(r"\[[\d\s,;]*$")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+")
KEEP_SUPPORT = 0.5
SWITCH_MARGIN = 0.25


def support(claim_terms: set[str], passage_terms: set[str]) -> float:
    """Share of the claim's terms found in the passage."""
    return len(claim_terms & passage_terms) / len(claim_terms) if claim_terms else 0.0


def correct(claim: str, cited: list[int], passages: dict[int, set[str]]) -> list[int]:
    """The cited numbers, with any that barely support ``claim`` replaced by the best supporter."""
    claim_terms = set(terms(claim))
    if not claim_terms or not passages:
        return cited
    scores = {n: support(claim_terms, t) for n, t in passages.items()}
    best = max(scores, key=lambda n: scores[n])
    fixed: list[int] = []
    for n in cited:
        if scores.get(n, 0.0) < KEEP_SUPPORT and scores[best] >= max(KEEP_SUPPORT, scores.get(n, 0.0) + SWITCH_MARGIN):
            n = best
        if n not in fixed:
            fixed.append(n)
    return fixed


def _last_claim(text: str, min_terms: int = 4) -> str:
    """The sentence a marker ends, with the sentences before it when it is too short to judge
    alone ("This is stated in passage [3].")."""
    sentences = [s for s in _SENTENCES.split(text.strip()) if s.strip()]
    claim = ""
    while sentences and len(terms(claim)) < min_terms:
        claim = (sentences.pop() + " " + claim).strip()
    return claim


@dataclass
class CitationFilter:
    valid: set[int]
    passages: dict[int, str] | None = None
    cited: list[int] = field(default_factory=list)
    removed: int = 0
    corrected: int = 0
    _held: str = ""
    _last: str = ""
    _since: str = ""
    _claim: str = ""
    _terms: dict[int, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._terms = {n: set(terms(text)) for n, text in (self.passages or {}).items()}

    def _rewrite(self, text: str) -> str:
        out: list[str] = []
        cursor = 0
        # the character shown just before ``text`` decides whether a bracket there is glued to a word
        lead = self._last[-1:]
        for match in MARKER.finditer(lead + text):
            start, end = match.start() - len(lead), match.end() - len(lead)
            if start < 0:
                continue
            out.append(text[cursor:start])
            self._since += text[cursor:start]
            out.append(self._check(match.group(1)))
            cursor = end
        out.append(text[cursor:])
        self._since += text[cursor:]
        shown = "".join(out)
        self._last = (self._last + shown)[-1:]
        return shown

    def _check(self, marker: str) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", marker)]
        kept = [n for n in numbers if n in self.valid]
        self.removed += len(numbers) - len(kept)
        claim = _last_claim(self._since)
        if claim:  # "[1][2]" after one sentence: both markers judge that sentence
            self._claim = claim
        self._since = ""
        if kept and self._terms:
            fixed = correct(self._claim, kept, self._terms)
            self.corrected += sum(1 for a, b in zip(kept, fixed) if a != b) + len(kept) - len(fixed)
            kept = fixed
        for n in kept:
            if n not in self.cited:
                self.cited.append(n)
        return "".join(f"[{n}]" for n in kept)

    def feed(self, text: str) -> str:
        text = self._held + text
        tail = _OPEN_TAIL.search(text)
        if tail and len(text) - tail.start() < 24:
            self._held, text = text[tail.start() :], text[: tail.start()]
        else:
            self._held = ""
        return self._rewrite(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._rewrite(text)


def clean_citations(text: str, valid: set[int], passages: dict[int, str] | None = None) -> tuple[str, list[int], int]:
    """Whole-text form: (text with markers checked, cited numbers, markers removed)."""
    f = CitationFilter(valid, passages)
    out = f.feed(text) + f.flush()
    return out, f.cited, f.removed

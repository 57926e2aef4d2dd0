"""Pure: fit the retrieved passages into a token budget, keeping the sentences that matter.

Prompt evaluation dominates the time to first token on a CPU (the default model reads about
40 prompt tokens a second on a 2-core AVX2 machine), so every context token costs, and the
budget pays for each passage's label ("[2] Boiling: ") as well as its text. Passages that
fit the budget whole go in whole. Otherwise each passage is cut into sentences, every
sentence is scored by the question words it holds (each word weighted by how rare it is
among the candidate sentences). The strong matches go in first, then the sentence just
before each (it often holds the subject that the match refers to), then whatever else
fits from the passages already opened, best first. A sentence that two passages share
(overlapping chunks, a neighbour fetched twice) goes in once. What is kept stays in
document order; gaps are marked with " … ". Passages left empty are dropped and the rest
renumbered, so the citation numbers the model sees stay 1..n.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from ingest.hebrew import crosses_script, has_hebrew
from ingest.lexical import terms
from ingest.sentences import pieces_of
from rag.prompt import Passage

CountTokens = Callable[[str], int]
Similarity = Callable[[list[str]], Sequence[float]]
DENSE_SHARE = 0.5
GAP = " … "
STRONG = 0.5
"""A sentence scoring at least this share of the best score is a strong match."""


@dataclass(frozen=True)
class _Piece:
    passage: int
    position: int
    text: str
    count: CountTokens = field(compare=False, repr=False)
    words: frozenset[str] = frozenset()

    @cached_property
    def tokens(self) -> int:
        """Counted when the budget asks, not when the sentence is scored: the evidence sentence
        is chosen without the tokenizer, so it waits for nothing the model needs."""
        return self.count(self.text)


def _weights(pieces: Sequence[_Piece]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for piece in pieces:
        for word in piece.words:
            counts[word] = counts.get(word, 0) + 1
    return {word: math.log(1 + len(pieces) / n) for word, n in counts.items()}


def _scaled(values: Sequence[float]) -> list[float]:
    high = max(values, default=0.0)
    low = min(values, default=0.0)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


HEBREW_BUDGET_SCALE = 1.67
"""Qwen's tokenizer spends 2.4 tokens on a Hebrew word and 1.3 on an English one, so a Hebrew
question gets 1.67 times the budget to hold as much text (HeQ: 0.282 at 100, 0.359 at 150)."""


def budget_for(question: str, budget: int) -> int:
    """The context budget for ``question``: larger for Hebrew, so that it holds as much text.

    Measured on HeQ (50 questions, multilingual index, the 1.5B): answer accuracy 0.282 at a
    budget of 100, 0.359 at 150.
    """
    return round(budget * HEBREW_BUDGET_SCALE) if budget > 0 and has_hebrew(question) else budget


@dataclass(frozen=True)
class Scored:
    """The sentences of the retrieved passages, each scored against the question."""

    pieces: list[_Piece]
    score: dict[tuple[int, int], float]
    cosine: dict[tuple[int, int], float] = field(default_factory=dict)
    """Each sentence's cosine to the question, where the embedder gave one."""

    def best(self) -> _Piece | None:
        """The sentence that matches the question best (the earlier one on a tie)."""
        return max(
            self.pieces, key=lambda p: (self.score[(p.passage, p.position)], -p.passage, -p.position), default=None
        )


def score_sentences(
    question: str, passages: Sequence[Passage], count_tokens: CountTokens, similarity: Similarity | None = None
) -> Scored:
    """Every sentence scored by the question words it holds (each weighted by how rare it is
    among the candidate sentences) and, with ``similarity`` (texts -> cosine to the question,
    from the embedder), by meaning, which finds paraphrases and misspelt names."""
    wanted = set(terms(question))
    pieces = [
        _Piece(i, j, text, count_tokens, frozenset(terms(text)))
        for i, passage in enumerate(passages)
        for j, text in enumerate(pieces_of(passage.text))
    ]
    weights = _weights(pieces)
    lexical = _scaled([sum(weights[w] for w in p.words & wanted) for p in pieces])
    cosines = [float(c) for c in similarity([p.text for p in pieces])] if similarity and pieces else []
    dense = _scaled(cosines) if cosines else [0.0] * len(pieces)
    if cosines:  # a sentence in the other script than the question holds none of its words: meaning alone
        lexical = [dn if crosses_script(question, p.text) else lx for p, lx, dn in zip(pieces, lexical, dense)]
    share = DENSE_SHARE if similarity else 0.0
    score = {(p.passage, p.position): (1 - share) * lx + share * dn for p, lx, dn in zip(pieces, lexical, dense)}
    return Scored(pieces, score, {(p.passage, p.position): c for p, c in zip(pieces, cosines)})


def select_context(
    question: str,
    passages: Sequence[Passage],
    count_tokens: CountTokens,
    budget: int,
    similarity: Similarity | None = None,
    scored: Scored | None = None,
) -> list[Passage]:
    """The passages cut down to at most ``budget`` prompt tokens (see the module docstring).

    The budget pays for each place's label as well as the text. Once the strong matches and
    the sentences before them are in, only the passages already opened are filled further:
    a stray sentence from another passage would cost its label too and rarely holds the
    answer (measured by bench/context.py: the same answers kept with 13% fewer tokens).
    ``scored``: the sentences already scored by ``score_sentences`` (else scored here).
    """
    label_tokens = {p.place(): count_tokens(replace(p, n=1).label()) for p in passages}
    whole = sum(count_tokens(p.text) for p in passages) + sum(label_tokens.values())
    if budget <= 0 or whole <= budget:
        return list(passages)
    scored = scored or score_sentences(question, passages, count_tokens, similarity)
    pieces, score = scored.pieces, scored.score
    by_key = {(p.passage, p.position): p for p in pieces}
    order = sorted(pieces, key=lambda p: (-score[(p.passage, p.position)], p.passage, p.position))

    chosen: set[tuple[int, int]] = set()
    said: set[str] = set()
    opened: set[tuple] = set()
    left = budget

    def take(key: tuple[int, int]) -> None:
        nonlocal left
        piece = by_key.get(key)
        if piece is None or key in chosen or piece.text in said:
            return
        where = passages[piece.passage].place()
        cost = piece.tokens + (0 if where in opened else label_tokens[where])
        if cost <= left:
            chosen.add(key)
            said.add(piece.text)
            opened.add(where)
            left -= cost

    best = max(score.values(), default=0.0)
    strong = [p for p in order if score[(p.passage, p.position)] >= STRONG * best > 0]
    for piece in strong:  # the best matches first,
        take((piece.passage, piece.position))
    for piece in strong:  # then the sentence before each, which often names what "it" is,
        if (piece.passage, piece.position) in chosen:
            take((piece.passage, piece.position - 1))
    for piece in order:  # then whatever else fits from the places already opened, best first
        if not opened or passages[piece.passage].place() in opened:
            take((piece.passage, piece.position))
    return _assemble(passages, pieces, chosen)


def fit_context(
    question: str,
    passages: Sequence[Passage],
    count_tokens: CountTokens,
    budget: int,
    similarity: Similarity | None = None,
    scored: Scored | None = None,
) -> list[Passage]:
    """What `rag ask` puts in the prompt: the passages cut to the question's budget, with the
    ones that cite the same place under one number."""
    chosen = select_context(question, passages, count_tokens, budget_for(question, budget), similarity, scored)
    return merge_same_place(chosen)


def merge_same_place(passages: Sequence[Passage]) -> list[Passage]:
    """Passages that cite the same place (file, page and section) joined under one number.

    Their citations would read the same anyway, and each label costs the prompt several
    tokens ("[3] Field First Aid > Snake bites: " is 11). The place keeps the position of its
    best-ranked passage; its parts are joined in document order, not rank order, so that a
    list or a procedure split over two chunks reads in order ("1. … 2. … 3."). The numbers
    are 1..n again.
    """
    groups: dict[tuple, list[Passage]] = {}
    for passage in passages:
        groups.setdefault(passage.place(), []).append(passage)
    merged = []
    for parts in groups.values():
        parts = sorted(parts, key=lambda p: p.ordinal)  # stable: equal ordinals keep rank order
        text = GAP.join([parts[0].text.rstrip()] + [p.text.strip() for p in parts[1:]])
        merged.append(replace(parts[0], text=text))
    return [replace(p, n=n) for n, p in enumerate(merged, 1)]


def _assemble(passages: Sequence[Passage], pieces: Sequence[_Piece], chosen: set) -> list[Passage]:
    out: list[Passage] = []
    for i, passage in enumerate(passages):
        kept = [p for p in pieces if p.passage == i and (p.passage, p.position) in chosen]
        if not kept:
            continue
        text = kept[0].text
        for before, piece in zip(kept, kept[1:]):
            text += (" " if piece.position == before.position + 1 else GAP) + piece.text
        out.append(replace(passage, n=len(out) + 1, text=text))
    return out

"""ask(): retrieve -> decide whether the documents can answer -> prompt -> generate -> cite."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.lexical import terms
from rag.citations import KEEP_SUPPORT, CitationFilter, support
from rag.context import fit_context
from rag.generator import Generator
from rag.prompt import Passage, build_messages, declines, has_hebrew
from rag.retriever import Hit, Retriever
from rag.settings import Settings


def not_found_message(question: str) -> str:
    if has_hebrew(question):
        return "המסמכים אינם מכילים תשובה לשאלה זו."
    return "The documents do not contain an answer to this question."


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    passages: list[Passage]
    cited: list[int] = field(default_factory=list)
    removed_citations: int = 0
    corrected_citations: int = 0
    uncited: bool = False
    supported_by: list[int] = field(default_factory=list)
    """For an answer that cites nothing: the passages that contain most of its words."""
    abstain_reason: str | None = None
    timings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "sources": [
                {"n": p.n, "source": p.source, "page": p.page, "heading": p.heading, "text": p.text, "cited": p.n in self.cited}
                for p in self.passages
            ],
            "cited": self.cited,
            "removed_citations": self.removed_citations,
            "corrected_citations": self.corrected_citations,
            "uncited": self.uncited,
            "supported_by": self.supported_by,
            "timings": self.timings,
        }


def supporting_passages(answer: str, passages: list[Passage]) -> list[int]:
    """The passage that holds most of an uncited answer's words, if it holds at least half."""
    claim = set(terms(answer))
    scored = [(support(claim, set(terms(p.text + " " + p.heading))), p.n) for p in passages]
    best = max(scored, default=(0.0, 0))
    return [best[1]] if best[0] >= KEEP_SUPPORT else []


def sentence_similarity(embedder, query_vector):
    """texts -> cosine similarity of each to the question's vector, by the index's embedder."""
    if embedder is None or query_vector is None:
        return None
    return lambda texts: (embedder.embed_documents(texts) @ query_vector).tolist()


def count_text(generator: Generator, text: str) -> int:
    return generator.count_tokens([{"role": "user", "content": text}]) - 8


def _loaded(generator):
    """A generator, or the result of calling a loader that makes one."""
    return generator() if callable(generator) and not hasattr(generator, "stream") else generator


def passages_from(hits: list[Hit]) -> list[Passage]:
    return [Passage(n, h.source, h.page, h.heading, h.text) for n, h in enumerate(hits, 1)]


class Engine:
    def __init__(
        self,
        retriever: Retriever,
        generator: Generator | Callable[[], Generator],
        *,
        strong_generator: Generator | Callable[[], Generator] | None = None,
        top_k: int = Settings.top_k,
        min_relevance: float | None = None,
        max_answer_tokens: int = Settings.max_answer_tokens,
        context_budget: int = Settings.context_budget,
        context_tokens: int = Settings.context_tokens,
    ):
        self.retriever = retriever
        self._generator = generator
        self._strong = strong_generator
        self.top_k = top_k
        if min_relevance is None:  # the embedder's calibrated floor; no dense scores, no floor
            min_relevance = retriever.embedder.relevance_floor if retriever.embedder else 0.0
        self.min_relevance = min_relevance
        """Best dense similarity below which the documents do not answer."""
        self.max_answer_tokens = max_answer_tokens
        self.context_budget = context_budget
        self.context_tokens = context_tokens

    @property
    def generator(self) -> Generator:
        """The generator for English questions, loaded on first use (an abstention needs no model)."""
        self._generator = _loaded(self._generator)
        return self._generator

    @property
    def strong_generator(self) -> Generator:
        """The generator for Hebrew questions and for rewriting follow-ups (by default the same)."""
        if self._strong is None:
            return self.generator
        self._strong = _loaded(self._strong)
        return self._strong

    def generator_for(self, question: str) -> Generator:
        return self.strong_generator if has_hebrew(question) else self.generator

    def ask(self, question: str, *, on_text: Callable[[str], None] | None = None, where: str | None = None) -> Answer:
        emit = on_text or (lambda text: None)
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, self.top_k, where=where)
        timings = {"retrieve_ms": round((time.perf_counter() - started) * 1000, 1)}
        passages = passages_from(retrieval.hits)

        if passages and retrieval.best_dense >= self.min_relevance:
            passages = passages_from(self.retriever.with_neighbours(question, retrieval.hits))
        if not passages or retrieval.best_dense < self.min_relevance:
            message = not_found_message(question)
            emit(message)
            return Answer(question, message, True, passages, abstain_reason="no relevant passage", timings=timings)

        generator = self.generator_for(question)
        passages = fit_context(
            question,
            passages,
            lambda text: count_text(generator, text),
            self.context_budget,
            sentence_similarity(self.retriever.embedder, retrieval.query_vector),
        )
        messages = build_messages(question, passages)
        prompt_tokens = generator.count_tokens(messages)
        while len(passages) > 1 and prompt_tokens + self.max_answer_tokens > self.context_tokens:
            passages = passages[:-1]
            messages = build_messages(question, passages)
            prompt_tokens = generator.count_tokens(messages)
        timings["prompt_tokens"] = prompt_tokens

        citations = CitationFilter({p.n for p in passages}, {p.n: p.text for p in passages})
        shown: list[str] = []
        first_token_at = None
        tokens = 0
        for piece in generator.stream(messages, max_tokens=self.max_answer_tokens):
            tokens += 1
            if first_token_at is None:
                first_token_at = time.perf_counter()
                piece = piece.lstrip()
            text = citations.feed(piece)
            if text:
                shown.append(text)
                emit(text)
        finished = time.perf_counter()
        tail = citations.flush()
        if tail:
            shown.append(tail)
            emit(tail)

        first = first_token_at or finished
        timings["ttft_ms"] = round((first - started) * 1000, 1)
        timings["tokens_per_s"] = round((tokens - 1) / (finished - first), 1) if tokens > 1 and finished > first else None
        timings["total_ms"] = round((finished - started) * 1000, 1)

        text = "".join(shown).strip()
        if not text or declines(text):
            return Answer(
                question, text or not_found_message(question), True, passages,
                cited=citations.cited, abstain_reason="the model found no answer in the passages", timings=timings,
            )
        return Answer(
            question,
            text,
            False,
            passages,
            cited=citations.cited,
            removed_citations=citations.removed,
            corrected_citations=citations.corrected,
            uncited=not citations.cited,
            supported_by=[] if citations.cited else supporting_passages(text, passages),
            timings=timings,
        )

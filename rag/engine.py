"""ask(): retrieve -> evidence -> answerability -> generate -> cite -> check the answer's support.

The best supporting sentence (``Evidence``) is found before the model starts, so a person
sees the documents' own words at once. The model is then asked, for the cost of a few tokens,
whether the passages state the answer (``Generator.yes_probability``); below
``min_answerable`` rag abstains without writing. Otherwise the answer streams, and one that the
passages do not back (``rag.support``) is retracted, keeping the evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.hebrew import has_hebrew
from ingest.lexical import terms
from ingest.paths import file_id, file_name, readable
from ingest.unicode import clean
from rag.citations import KEEP_SUPPORT, CitationFilter, support
from rag.context import fit_context, score_sentences
from rag.generator import GREEDY, Generator, Sampling
from rag.prompt import Passage, build_messages, check_messages, declines
from rag.retriever import Hit, Retriever
from rag.settings import Settings
from rag.support import check_answer

NO_RELEVANT_PASSAGE = "no relevant passage"
MODEL_DECLINED = "the model found no answer in the passages"
UNSUPPORTED = "the drafted answer is not supported by the passages"
NOT_STATED = "the passages do not state the answer"


def not_found_message(question: str) -> str:
    if has_hebrew(question):
        return "המסמכים אינם מכילים תשובה לשאלה זו."
    return "The documents do not contain an answer to this question."


def retraction_message(question: str, reason: str) -> str:
    """What replaces a drafted answer that the passages do not support."""
    if has_hebrew(question):
        return f"(התשובה שנוסחה נמחקה: אין לה תימוכין בקטעים — {reason}.) {not_found_message(question)}"
    return f"(Retracted: the drafted answer is not supported by the passages — {reason}.) {not_found_message(question)}"


@dataclass(frozen=True)
class Evidence:
    """The retrieved sentence that best matches the question, and where it is."""

    text: str
    source: str
    page: int | None
    heading: str
    origin: str = ""
    chunk: int = 0
    """The number of the chunk its passage starts at (what the document's page marks)."""

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "source": readable(self.source),
            "file": file_id(self.source),
            "page": self.page,
            "heading": self.heading,
            "chunk": self.chunk,
            "ocr": self.origin == "ocr",
        }


@dataclass(frozen=True)
class AnswerOptions:
    """What a client may ask of one answer (the OpenAI API's fields): the longest answer, how
    tokens are drawn, and its own instructions for the reply (kept beneath rag's rules)."""

    max_tokens: int | None = None
    sampling: Sampling = GREEDY
    instructions: str = ""


DEFAULT_OPTIONS = AnswerOptions()


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
    evidence: Evidence | None = None
    draft: str | None = None
    """A retracted answer as the model wrote it."""
    pending_vectors: int = 0
    """Chunks of the index still waiting for their vectors when it was asked (found by their words only)."""

    def shown_sources(self) -> list[int]:
        """The passages a reader is pointed to beside a shown answer: those it cites; when it
        cites none, the one that holds most of its words; failing that, the evidence sentence's
        passage (else the best one). None for an abstention: there is nothing to check."""
        if self.abstained or not self.passages:
            return []
        if self.cited:
            return list(self.cited)
        if self.supported_by:
            return list(self.supported_by)
        if self.evidence is not None:
            for p in self.passages:
                if (p.source, p.ordinal) == (self.evidence.source, self.evidence.chunk):
                    return [p.n]
        return [self.passages[0].n]

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "sources": [
                {
                    "n": p.n,
                    "source": readable(p.source),
                    "file": file_id(p.source),
                    "page": p.page,
                    "heading": p.heading,
                    "chunk": p.ordinal,
                    "text": p.text,
                    "cited": p.n in self.cited,
                    "supporting": p.n in self.shown_sources() and p.n not in self.cited,
                    "ocr": p.origin == "ocr",
                }
                for p in self.passages
            ],
            "shown_sources": self.shown_sources(),
            "cited": self.cited,
            "removed_citations": self.removed_citations,
            "corrected_citations": self.corrected_citations,
            "uncited": self.uncited,
            "supported_by": self.supported_by,
            "evidence": self.evidence.as_dict() if self.evidence else None,
            "draft": self.draft,
            "pending_vectors": self.pending_vectors,
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
    return [Passage(n, h.source, h.page, h.heading, h.text, h.origin, h.ordinal) for n, h in enumerate(hits, 1)]


@dataclass
class Prepared:
    """A question made ready for the model: its passages cut to the budget, the evidence
    sentence, the messages (None: nothing relevant) and the model that will answer."""

    question: str
    passages: list[Passage]
    evidence: Evidence | None
    messages: list[dict] | None
    generator: Generator | None
    timings: dict
    started: float
    pending: int = 0


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
        min_answerable: float = Settings.min_answerable,
        check_support: bool = True,
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
        self.min_answerable = min_answerable
        """Below this probability that the passages answer (the model's own yes/no), abstain; 0: no check."""
        self.check_support = check_support
        """Retract a drafted answer that the passages do not back (``rag.support``)."""

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

    def prepare(self, question: str, *, where: str | None = None, instructions: str = "") -> Prepared:
        """Retrieve, find the evidence sentence and fit the context: everything before the model
        writes. ``Prepared.messages`` is None when nothing relevant was found."""
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, self.top_k, where=where)
        timings = {"retrieve_ms": round((time.perf_counter() - started) * 1000, 1)}
        # a passage still waiting for its vector has no similarity to judge by: no floor then
        if not retrieval.hits or (retrieval.best_dense < self.min_relevance and not retrieval.waiting_hits):
            return Prepared(
                question, passages_from(retrieval.hits), None, None, None, timings, started, retrieval.pending
            )

        passages = passages_from(self.retriever.with_neighbours(question, retrieval.hits))
        generator = self.generator_for(question)
        count = lambda text: count_text(generator, text)  # noqa: E731
        similarity = sentence_similarity(self.retriever.embedder, retrieval.query_vector)
        scored = score_sentences(question, passages, count, similarity)
        best = scored.best()
        evidence = None
        if best is not None:
            place = passages[best.passage]
            evidence = Evidence(best.text, place.source, place.page, place.heading, place.origin, place.ordinal)
        timings["evidence_ms"] = round((time.perf_counter() - started) * 1000, 1)
        passages = fit_context(question, passages, count, self.context_budget, similarity, scored)
        messages = build_messages(question, passages, instructions)
        prompt_tokens = generator.count_tokens(messages)
        while len(passages) > 1 and prompt_tokens + self.max_answer_tokens > self.context_tokens:
            passages = passages[:-1]
            messages = build_messages(question, passages, instructions)
            prompt_tokens = generator.count_tokens(messages)
        timings["prompt_tokens"] = prompt_tokens
        return Prepared(question, passages, evidence, messages, generator, timings, started, retrieval.pending)

    def answerable(self, prepared: Prepared) -> float:
        """The model's probability that the passages answer the question (1.0 when the check is off)."""
        if self.min_answerable <= 0 or prepared.messages is None:
            return 1.0
        return prepared.generator.yes_probability(check_messages(prepared.question, prepared.passages))

    def unsupported(self, prepared: Prepared, draft: str) -> str:
        """Why the passages do not back ``draft`` ("" when they do): a specific token that no
        passage holds (``rag.support``).

        Measured and dropped (manuals-qa, bench/answer.py): asking the model whether the passages
        state its own draft. P(yes) was 0.82-0.85 for the unanswerable questions' drafts and
        0.75-0.91 for the answerable ones, right or wrong: no threshold separates them."""
        if not self.check_support:
            return ""
        # all the model was shown, and the files' names (not their folders), which answers may mention
        seen = "\n".join(f"{p.label()}{p.heading}\n{p.text}\n{file_name(p.source)}" for p in prepared.passages)
        check = check_answer(draft, seen, prepared.question)
        return "" if check.supported else check.reason

    def ask(
        self,
        question: str,
        *,
        on_text: Callable[[str], None] | None = None,
        on_evidence: Callable[[Evidence], None] | None = None,
        where: str | None = None,
        options: AnswerOptions = DEFAULT_OPTIONS,
    ) -> Answer:
        """Answer ``question``; ``on_evidence`` gets the best supporting sentence before the
        model starts, ``on_text`` the answer as it streams."""
        emit = on_text or (lambda text: None)
        prepared = self.prepare(clean(question), where=where, instructions=options.instructions)
        answer = self._answer(prepared, emit, on_evidence, options)
        answer.pending_vectors = prepared.pending
        return answer

    def _answer(
        self,
        prepared: Prepared,
        emit: Callable[[str], None],
        on_evidence: Callable[[Evidence], None] | None,
        options: AnswerOptions = DEFAULT_OPTIONS,
    ) -> Answer:
        question = prepared.question
        passages, evidence, timings = prepared.passages, prepared.evidence, prepared.timings
        if prepared.messages is None:
            message = not_found_message(question)
            emit(message)
            return Answer(question, message, True, passages, abstain_reason=NO_RELEVANT_PASSAGE, timings=timings)
        if evidence is not None and on_evidence:
            on_evidence(evidence)

        p_yes = self.answerable(prepared)
        timings["answerable"] = round(p_yes, 4)
        if p_yes < self.min_answerable:
            message = not_found_message(question)
            emit(message)
            timings["total_ms"] = round((time.perf_counter() - prepared.started) * 1000, 1)
            return Answer(
                question, message, True, passages, abstain_reason=NOT_STATED, timings=timings, evidence=evidence
            )

        generator = prepared.generator
        citations = CitationFilter({p.n for p in passages}, {p.n: p.text for p in passages})
        shown: list[str] = []
        first_token_at = None
        tokens = 0
        room = self.context_tokens - prepared.timings.get("prompt_tokens", 0) - 8  # what the context window leaves
        max_tokens = max(1, min(options.max_tokens or self.max_answer_tokens, room))
        for piece in generator.stream(prepared.messages, max_tokens=max_tokens, sampling=options.sampling):
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
        timings["ttft_ms"] = round((first - prepared.started) * 1000, 1)
        timings["tokens_per_s"] = (
            round((tokens - 1) / (finished - first), 1) if tokens > 1 and finished > first else None
        )
        timings["total_ms"] = round((finished - prepared.started) * 1000, 1)
        timings["completion_tokens"] = tokens
        timings["finish"] = "length" if tokens >= max_tokens else "stop"

        text = "".join(shown).strip()
        if not text or declines(text):
            return Answer(
                question,
                text or not_found_message(question),
                True,
                passages,
                cited=citations.cited,
                abstain_reason=MODEL_DECLINED,
                timings=timings,
                evidence=evidence,
            )
        reason = self.unsupported(prepared, text)
        if reason:
            message = retraction_message(question, reason)
            emit("\n\n" + message)
            timings["total_ms"] = round((time.perf_counter() - prepared.started) * 1000, 1)
            return Answer(
                question,
                message,
                True,
                passages,
                abstain_reason=f"{UNSUPPORTED}: {reason}",
                timings=timings,
                evidence=evidence,
                draft=text,
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
            evidence=evidence,
        )

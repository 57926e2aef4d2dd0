"""ask(): retrieve -> evidence -> answerability -> generate -> cite -> check the answer's support.

The best supporting sentence (``Evidence``) is found before the model starts, so a person
sees the documents' own words at once. The model is then asked, for the cost of a few tokens,
whether the passages state the answer (``Generator.yes_probability``); below
``min_answerable`` rag abstains without writing. Otherwise the answer streams, and one that the
passages do not back (``rag.support``) is retracted, keeping the evidence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.hebrew import crosses_script, has_hebrew
from ingest.lexical import terms
from ingest.paths import file_id, file_name, readable
from ingest.unicode import clean
from rag.citations import KEEP_SUPPORT, CitationFilter, support
from rag.context import fit_context, score_sentences
from rag.errors import Cancelled
from rag.generator import GREEDY, Generator, Sampling
from rag.prompt import Passage, across_request, build_messages, check_messages, declines, statement_messages
from rag.retriever import Hit, Retriever
from rag.scope import named_files, wants_summary
from rag.settings import Settings
from rag.summary import summary_points
from rag.support import check_answer, off_question, pointed_sentence, quoted_sentence, with_antecedent
from rag.verify import (
    DEFAULT_VERIFIER,
    SentenceSplitter,
    Verifier,
    cited_in,
    evidence_signals,
    plain,
    sentence_signals,
    supporting_passage,
)

NO_RELEVANT_PASSAGE = "no relevant passage"
MODEL_DECLINED = "the model found no answer in the passages"
UNSUPPORTED = "the drafted answer is not supported by the passages"
NOT_STATED = "the passages do not state the answer"
COPY_TOKENS = 96
"""The longest reply the model writes across languages (``Engine._quote_across``)."""


def not_found_message(question: str) -> str:
    if has_hebrew(question):
        return "המסמכים אינם מכילים תשובה לשאלה זו."
    return "The documents do not contain an answer to this question."


def extractive_answer(question: str, sentence: str, n: int) -> str:
    """The documents' own sentence as the answer, quoted and cited (no drafted sentence passed),
    introduced in the question's language, and naming the sentence's when it is the other one."""
    crossed = crosses_script(question, sentence)
    if has_hebrew(question):
        return f"במסמכים כתוב{', באנגלית' if crossed else ''}: „{sentence}” [{n}]"
    return f"Your documents say{', in Hebrew' if crossed else ''}: “{sentence}” [{n}]"


def evidence_passage(evidence: Evidence | None, passages: list[Passage]) -> int | None:
    """The number of the passage that holds the evidence sentence."""
    if evidence is None:
        return None
    for p in passages:
        if p.source == evidence.source and evidence.text in " ".join(p.text.split()):
            return p.n
    return next((p.n for p in passages if (p.source, p.ordinal) == (evidence.source, evidence.chunk)), None)


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
    """What the model wrote, when some of it was withheld (never shown)."""
    extractive: bool = False
    """The answer is the documents' own sentence, quoted: no drafted sentence passed the verifier."""
    quote: str = ""
    """For an extractive answer, the sentence quoted: the evidence sentence, or the one the
    model's withheld draft pointed at (rag.support.quoted_sentence)."""
    sentences: list[dict] = field(default_factory=list)
    """Each drafted sentence the verifier judged: text, P(right), shown, and why when withheld."""
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
            "extractive": self.extractive,
            "sentences": self.sentences,
            "pending_vectors": self.pending_vectors,
            "timings": self.timings,
        }


def supporting_passages(answer: str, passages: list[Passage]) -> list[int]:
    """The passage that holds most of an uncited answer's words, if it holds at least half."""
    claim = set(terms(answer))
    scored = [(support(claim, set(terms(p.text + " " + p.heading))), p.n) for p in passages]
    best = max(scored, default=(0.0, 0))
    return [best[1]] if best[0] >= KEEP_SUPPORT else []


def sentence_similarity(embedder, query_vector, stored=None):
    """texts -> cosine similarity of each to the question's vector, by the index's embedder.
    ``stored``: texts -> {text: vector} of those ingest already embedded (``Index.sentence_vectors``);
    only the others are embedded now."""
    if embedder is None or query_vector is None:
        return None

    def similarity(texts):
        import numpy as np

        found = stored(texts) if stored else {}
        todo = [text for text in dict.fromkeys(texts) if text not in found]
        if todo:
            found.update(zip(todo, embedder.embed_documents(todo)))
        return (np.stack([found[text] for text in texts]) @ query_vector).tolist()

    return similarity


def count_text(generator: Generator, text: str) -> int:
    return generator.count_tokens([{"role": "user", "content": text}]) - 8


def evaluated_tokens(generator) -> int | None:
    """The tokens the model has evaluated so far, where it counts them (llama.cpp does)."""
    count = getattr(generator, "evaluated_tokens", None)
    return count() if count else None


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
    evidence_similarity: float = 0.0
    """Cosine of the evidence sentence and the question, by the index's embedder."""
    stopped: Callable[[], bool] = lambda: False
    """True once the answer is no longer wanted (see ``Engine.ask``)."""
    across: bool = False
    """The best passage is written in the other script than the question (an English question, a
    Hebrew file): the answer is the passages' sentence the model points at (``Engine._quote_across``)."""


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
        verifier: Verifier = DEFAULT_VERIFIER,
        hebrew_verifier: Verifier | None = None,
        start_model_early: bool = False,
    ):
        self.retriever = retriever
        self.start_model_early = start_model_early
        """Start loading the model as a question arrives, not once its passages are found: for a
        model that loads in the background (``ModelWorker``), so nothing waits for it."""
        self._generator = generator
        self._strong = strong_generator
        self.top_k = top_k
        if min_relevance is None:  # the embedder's calibrated floor; no dense scores, no floor
            min_relevance = retriever.embedder.relevance_floor if retriever.embedder else 0.0
        self.min_relevance = min_relevance
        """Best dense similarity below which the documents do not answer."""
        self.cross_relevance = getattr(retriever.embedder, "cross_relevance_floor", None)
        """The same for passages in the other script than the question (None: not searched across)."""
        self.max_answer_tokens = max_answer_tokens
        self.context_budget = context_budget
        self.context_tokens = context_tokens
        self.min_answerable = min_answerable
        """Below this probability that the passages answer (the model's own yes/no), nothing is drafted."""
        self.verifier = verifier
        """Judges each drafted sentence before it is shown (rag.verify)."""
        self.hebrew_verifier = hebrew_verifier or verifier
        """The same for a Hebrew question (fit on Hebrew answers: the model checks Hebrew worse)."""

    def verifier_for(self, question: str) -> Verifier:
        return self.hebrew_verifier if has_hebrew(question) else self.verifier

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

    def prepare(
        self,
        question: str,
        *,
        where: str | None = None,
        files: Sequence[str] | None = None,
        instructions: str = "",
        on_evidence: Callable[[Evidence], None] | None = None,
    ) -> Prepared:
        """Retrieve, find the evidence sentence and fit the context: everything before the model
        writes. ``Prepared.messages`` is None when nothing relevant was found. ``on_evidence``
        gets the evidence sentence as soon as it is chosen, before any token is counted: it
        needs neither the model nor its tokenizer."""
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, self.top_k, where=where, files=files)
        timings = {"retrieve_ms": round((time.perf_counter() - started) * 1000, 1)}
        # a passage still waiting for its vector has no similarity to judge by: no floor then
        relevant = retrieval.best_dense >= self.min_relevance or (
            self.cross_relevance is not None and retrieval.best_across >= self.cross_relevance
        )
        if not retrieval.hits or (not relevant and not retrieval.waiting_hits):
            return Prepared(
                question, passages_from(retrieval.hits), None, None, None, timings, started, retrieval.pending
            )

        passages = passages_from(self.retriever.with_neighbours(question, retrieval.hits))
        generator = self.generator_for(question)
        count = lambda text: count_text(generator, text)  # noqa: E731
        similarity = sentence_similarity(
            self.retriever.embedder, retrieval.query_vector, self.retriever.index.sentence_vectors
        )
        scored = score_sentences(question, passages, count, similarity)
        best = scored.best()
        evidence, evidence_similarity = None, 0.0
        if best is not None:
            place = passages[best.passage]
            evidence = Evidence(best.text, place.source, place.page, place.heading, place.origin, place.ordinal)
            evidence_similarity = scored.cosine.get((best.passage, best.position), 0.0)
        timings["evidence_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if evidence is not None and on_evidence:
            on_evidence(evidence)
        passages = fit_context(question, passages, count, self.context_budget, similarity, scored)
        across = self.cross_relevance is not None and crosses_script(question, passages[0].text)
        messages = build_messages(question, passages, instructions, across=across)
        prompt_tokens = generator.count_tokens(messages)
        while len(passages) > 1 and prompt_tokens + self.max_answer_tokens > self.context_tokens:
            passages = passages[:-1]
            messages = build_messages(question, passages, instructions, across=across)
            prompt_tokens = generator.count_tokens(messages)
        timings["prompt_tokens"] = prompt_tokens
        return Prepared(
            question,
            passages,
            evidence,
            messages,
            generator,
            timings,
            started,
            retrieval.pending,
            evidence_similarity,
            across=across,
        )

    def answerable(self, prepared: Prepared) -> float:
        """The model's probability that the passages answer the question."""
        if prepared.messages is None:
            return 0.0
        return prepared.generator.yes_probability(
            check_messages(prepared.question, prepared.passages, across=prepared.across)
        )

    def ask(
        self,
        question: str,
        *,
        on_text: Callable[[str], None] | None = None,
        on_evidence: Callable[[Evidence], None] | None = None,
        where: str | None = None,
        files: Sequence[str] | None = None,
        options: AnswerOptions = DEFAULT_OPTIONS,
        stopped: Callable[[], bool] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer ``question``; ``on_evidence`` gets the best supporting sentence before the
        model starts, ``on_text`` the answer as it streams. When ``stopped()`` turns true (the
        reader pressed Stop, the client left), the model stops at once and ``Cancelled`` is raised.

        ``files`` (indexed paths), or a file the question names ("summarise notes.md", "what does
        radio.md say about …"), limits the answer to those files; asked for a summary or the key
        points of one, the answer is its extractive summary (rag.summary)."""
        stopped = stopped or (lambda: False)
        question = clean(question)

        def emit(text: str) -> None:
            if stopped():
                raise Cancelled()
            if on_text:
                on_text(text)

        if not files and not where:
            files = named_files(question, self.retriever.index.catalog.files()) or None
        if files and len(files) == 1 and wants_summary(question):
            return self.summarise(question, files[0], emit, on_progress)
        if self.start_model_early:
            self.generator_for(question)  # it loads in its own process while the passages are found
        prepared = self.prepare(
            question, where=where, files=files, instructions=options.instructions, on_evidence=on_evidence
        )
        prepared.stopped = stopped
        if stopped():
            raise Cancelled()
        stop_model = getattr(prepared.generator, "stop_when", None)
        with stop_model(stopped) if stop_model else contextlib.nullcontext():
            answer = self._answer(prepared, emit, options)
        answer.pending_vectors = prepared.pending
        return answer

    def summarise(
        self, question: str, path: str, emit: Callable[[str], None], on_progress: Callable[[str], None] | None = None
    ) -> Answer:
        """The extractive summary of the indexed file ``path``: its key sentences, each cited
        to its page (rag.summary); no model is needed, nothing is paraphrased."""
        started = time.perf_counter()
        name = file_name(path)
        chunks = self.retriever.index.catalog.chunks_of(path)
        tell = (lambda done, total: on_progress(f"reading {name}: part {done} of {total}")) if on_progress else None
        points = summary_points(chunks, progress=tell)
        passages = [
            Passage(n, path, point.chunk.page, point.chunk.heading, point.text, point.chunk.origin, point.chunk.ordinal)
            for n, point in enumerate(points, 1)
        ]
        timings = {"summary_ms": round((time.perf_counter() - started) * 1000, 1), "completion_tokens": 0}
        if not points:
            message = not_found_message(question)
            emit(message)
            return Answer(question, message, True, [], abstain_reason=NO_RELEVANT_PASSAGE, timings=timings)
        title = f"עיקרי {name}:" if has_hebrew(question) else f"Key points of {name}:"
        emit(title)
        for passage in passages:
            emit(f"\n- {passage.text} [{passage.n}]")
        text = title + "".join(f"\n- {p.text} [{p.n}]" for p in passages)
        return Answer(question, text, False, passages, cited=[p.n for p in passages], extractive=True, timings=timings)

    def _answer(
        self,
        prepared: Prepared,
        emit: Callable[[str], None],
        options: AnswerOptions = DEFAULT_OPTIONS,
    ) -> Answer:
        """Evidence first; then the draft a sentence at a time, each shown only once it passes the
        verifier (rag.verify); the first that fails ends the draft. Nothing shown is taken back.
        When no sentence passes, the documents' own sentence, quoted and cited, if the verifier
        trusts the evidence; else a plain statement that the documents do not say, beside the
        closest passage."""
        question = prepared.question
        passages, evidence, timings = prepared.passages, prepared.evidence, prepared.timings
        if prepared.messages is None:
            message = not_found_message(question)
            emit(message)
            return Answer(question, message, True, passages, abstain_reason=NO_RELEVANT_PASSAGE, timings=timings)
        since = lambda: round((time.perf_counter() - prepared.started) * 1000, 1)  # noqa: E731
        before = evaluated_tokens(prepared.generator)  # a model still loading is waited for here
        timings["model_ready_ms"] = since()
        p_yes = self.answerable(prepared)
        timings["answerable"] = round(p_yes, 4)
        timings["answerable_ms"] = since()
        if prepared.across:
            timings["across"] = True
            answer = self._quote_across(prepared, p_yes, emit, options)
            answer.timings, answer.evidence = timings, evidence
            after = evaluated_tokens(prepared.generator)
            if before is not None and after is not None:
                timings["prompt_tokens_read"] = max(0, after - before - timings["completion_tokens"])
            timings["total_ms"] = round((time.perf_counter() - prepared.started) * 1000, 1)
            return answer
        draft = Draft(self, prepared, options, p_yes) if p_yes >= self.min_answerable else None
        shown = draft.run(emit) if draft else []
        timings.update(draft.timings() if draft else {"completion_tokens": 0})
        after = evaluated_tokens(prepared.generator)
        if before is not None and after is not None:  # all passes added: checks, draft, resumptions
            timings["prompt_tokens_read"] = max(0, after - before - timings["completion_tokens"])
        if shown:
            text = "".join(shown).strip()
            cited = [n for n in dict.fromkeys(n for s in shown for n in cited_in(s)) if n in {p.n for p in passages}]
            answer = Answer(
                question,
                text,
                False,
                passages,
                cited=cited,
                removed_citations=draft.citations.removed,
                corrected_citations=draft.citations.corrected,
                uncited=not cited,
                supported_by=[] if cited else supporting_passages(text, passages),
            )
        else:
            answer = self._without_draft(prepared, p_yes, draft, emit)
        answer.timings, answer.evidence = timings, evidence
        answer.sentences = draft.judged if draft else []
        answer.draft = draft.text if draft and draft.withheld else None
        timings["total_ms"] = round((time.perf_counter() - prepared.started) * 1000, 1)
        return answer

    def _quote_across(self, prepared: Prepared, p_yes: float, emit, options: AnswerOptions) -> Answer:
        """The best passage is in the other language. The 1.5B translates wrongly, and what it
        drafts across languages no check here can judge (an English answer to a Hebrew question
        passed the English checks 5 times in bench/answer.py --set cross, right once). It can
        point at the sentence that answers, though: its reply, in the passages' words, is matched
        to the passages' own sentence (``pointed_sentence``), which is shown, quoted in its
        language and introduced in the question's; else nothing is."""
        question, passages, timings = prepared.question, prepared.passages, prepared.timings
        reply, found = "", None
        if p_yes >= self.min_answerable:
            began = time.perf_counter()
            pieces = prepared.generator.stream(
                prepared.messages, max_tokens=COPY_TOKENS, sampling=dataclasses.replace(options.sampling, stop=("\n",))
            )
            for piece in pieces:
                if prepared.stopped():
                    pieces.close()
                    raise Cancelled()
                timings.setdefault("first_token_ms", round((time.perf_counter() - prepared.started) * 1000, 1))
                reply += piece
            timings["pointer_ms"] = round((time.perf_counter() - began) * 1000, 1)
            found = pointed_sentence(reply, passages, echo=across_request(question))
        timings["completion_tokens"] = count_text(prepared.generator, reply) if reply else 0
        if found and not off_question(found[0], question):
            quote, n = found
            quote = with_antecedent(quote, next(p.text for p in passages if p.n == n))
            text = extractive_answer(question, quote, n)
            emit(text)
            timings["ttft_ms"] = round((time.perf_counter() - prepared.started) * 1000, 1)
            return Answer(question, text, False, passages, cited=[n], extractive=True, quote=quote, draft=reply)
        message = not_found_message(question)
        emit(message)
        reason = (
            NOT_STATED if p_yes < self.min_answerable else f"{UNSUPPORTED}: its reply points at no sentence of them"
        )
        return Answer(question, message, True, passages, abstain_reason=reason, draft=reply or None)

    def _without_draft(self, prepared: Prepared, p_yes: float, draft: Draft | None, emit) -> Answer:
        """No drafted sentence is shown: the evidence as an extractive answer, if trusted; else
        the plain statement that the documents do not say."""
        question, passages, evidence = prepared.question, prepared.passages, prepared.evidence
        place = evidence_passage(evidence, passages)
        if evidence is not None and place is not None:
            signals = evidence_signals(
                question, evidence.text, answerable=p_yes, similarity=prepared.evidence_similarity, top=place == 1
            )
            verifier = self.verifier_for(question)
            p_evidence = verifier.p_evidence_right(signals)
            prepared.timings["evidence_p"] = round(p_evidence, 4)
            if p_evidence >= verifier.evidence_threshold:
                # the passages answer: quote the sentence the model's withheld draft points at
                pointed = (
                    draft
                    and not draft.declined
                    and quoted_sentence(plain(draft.text), question, passages, evidence.text)
                )
                quote, n = pointed or (evidence.text, place)
                quote = with_antecedent(quote, next(p.text for p in passages if p.n == n))
                text = extractive_answer(question, quote, n)
                emit(text)
                return Answer(question, text, False, passages, cited=[n], extractive=True, quote=quote)
        if draft is None:
            reason = NOT_STATED
        elif draft.declined:
            reason = MODEL_DECLINED
        elif draft.withheld:
            reason = f"{UNSUPPORTED}: {draft.withheld[0]['why']}"
        else:
            reason = MODEL_DECLINED
        message = not_found_message(question)
        emit(message)
        return Answer(question, message, True, passages, abstain_reason=reason)


def seen_text(passages: list[Passage]) -> str:
    """All the model was shown, and the files' names (not their folders), which answers may mention."""
    return "\n".join(f"{p.label()}{p.heading}\n{p.text}\n{file_name(p.source)}" for p in passages)


class Draft:
    """One answer's draft, written and judged a sentence at a time (``run``).

    The model's pieces pass the citation filter and the sentence splitter; each complete
    sentence is judged by the verifier before it is shown, and the first that fails ends the
    draft (what follows it usually leans on it). When the verifier asks the model, and the
    model shares one context between writing and checking (llama.cpp in-process), the stream
    is stopped at each sentence and resumed after the check from the text written so far."""

    def __init__(self, engine: Engine, prepared: Prepared, options: AnswerOptions, answerable: float):
        self.engine, self.prepared, self.options, self.answerable = engine, prepared, options, answerable
        passages = prepared.passages
        self.citations = CitationFilter({p.n for p in passages}, {p.n: p.text for p in passages})
        """Fed each sentence as it is judged: what it shows is what the model wrote, markers checked."""
        self._seen = seen_text(passages)
        room = engine.context_tokens - prepared.timings.get("prompt_tokens", 0) - 8  # what the context window leaves
        self.max_tokens = max(1, min(options.max_tokens or engine.max_answer_tokens, room))
        self.judged: list[dict] = []
        self.withheld: list[dict] = []
        self.declined = False
        self.cut = False
        """The model's answer was cut at the token limit (not ended by the model, nor by the verifier)."""
        self.text = ""
        """What the model wrote, up to the sentence that ended the draft."""
        self.tokens = 0
        self.checks_s = 0.0
        """Time spent in the model's sentence checks."""
        self.first_token_at: float | None = None
        self.first_shown_at: float | None = None
        self.finished_at: float | None = None

    def run(self, emit: Callable[[str], None]) -> list[str]:
        """The sentences shown, each emitted once it passed; nothing emitted is taken back."""
        verifier = self.engine.verifier_for(self.prepared.question)
        pause = verifier.asks_the_model and getattr(self.prepared.generator, "continues", False)
        shown: list[str] = []
        sentences = self._sentences(pause)
        try:
            for written, last in sentences:
                raw = self.citations.feed(written) + (self.citations.flush() if last else "")
                sentence = raw.strip()
                if not sentence:
                    continue
                self.text = ("".join(shown) + raw).strip()
                if not shown and declines(sentence):
                    self.declined = True
                    break
                p, why = self._judge(sentence, len(shown))
                verdict = {"text": sentence, "p": round(p, 4), "shown": p >= verifier.sentence_threshold}
                self.judged.append(verdict)
                if not verdict["shown"]:
                    self.withheld.append({**verdict, "why": why})
                    break
                piece = raw if shown else raw.lstrip()
                emit(piece)
                shown.append(piece)
                self.first_shown_at = self.first_shown_at or time.perf_counter()
        finally:
            sentences.close()
            self.finished_at = time.perf_counter()
        return shown

    def _sentences(self, pause: bool):
        """(sentence as the model wrote it, with the white space before it; whether it is the
        last). Joined, the sentences yielded so far are exactly what the model wrote, which is
        where a stopped stream goes on from."""
        prepared, written = self.prepared, ""
        left = self.max_tokens
        while left > 0:
            splitter = SentenceSplitter()
            stream = prepared.generator.stream(
                prepared.messages,
                max_tokens=left,
                sampling=self.options.sampling,
                **({"prefix": written} if written else {}),
            )
            stopped, used = None, self.tokens
            try:
                for piece in stream:
                    if prepared.stopped():
                        raise Cancelled()
                    self.tokens += 1
                    if self.first_token_at is None:
                        self.first_token_at = time.perf_counter()
                    complete = splitter.feed(piece)
                    if pause and complete:  # the model is needed for the check: go on from here afterwards
                        stopped = complete[0]
                        break
                    for raw in complete:
                        yield raw, False
                        written += raw
            finally:
                stream.close()  # before the check asks the model anything
            if stopped is not None:
                yield stopped, False
                written += stopped
            else:
                self.cut = self.tokens - used >= left
                rest = splitter.flush()
                yield rest, True
                return
            # what was read past the sentence's end is written again: only the text kept counts
            left = self.max_tokens - count_text(prepared.generator, written)
        self.cut = True
        yield "", True

    def _judge(self, sentence: str, position: int) -> tuple[float, str]:
        """P(right) of a drafted sentence, and why it would be withheld."""
        engine, prepared = self.engine, self.prepared
        entailed = 0.0
        verifier = engine.verifier_for(prepared.question)
        if verifier.asks_the_model:
            n = supporting_passage(sentence, prepared.passages)
            began = time.perf_counter()
            entailed = prepared.generator.yes_probability(
                statement_messages(prepared.question, prepared.passages, plain(sentence), n, self.options.instructions)
            )
            self.checks_s += time.perf_counter() - began
        signals = sentence_signals(
            sentence,
            question=prepared.question,
            passages=prepared.passages,
            evidence=prepared.evidence.text if prepared.evidence else "",
            answerable=self.answerable,
            entailed=entailed,
            position=position,
            seen=self._seen,
        )
        p = verifier.p_right(signals)
        check = check_answer(plain(sentence), self._seen, prepared.question)
        why = (
            check.reason
            if not check.supported
            else f"the check gives it {p:.2f}, below {verifier.sentence_threshold:.2f}"
        )
        return p, why

    def timings(self) -> dict:
        started, end = self.prepared.started, self.finished_at or time.perf_counter()
        first = self.first_shown_at
        out = {
            "first_token_ms": round(((self.first_token_at or end) - started) * 1000, 1),
            "ttft_ms": round((first - started) * 1000, 1) if first else None,
            "completion_tokens": self.tokens,
            "finish": "length" if self.cut else "stop",
            "checks_ms": round(self.checks_s * 1000, 1),
        }
        if self.first_token_at and self.tokens > 1 and end > self.first_token_at:
            out["tokens_per_s"] = round((self.tokens - 1) / (end - self.first_token_at), 1)
        return out

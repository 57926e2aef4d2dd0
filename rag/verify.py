"""A drafted sentence judged before anyone sees it: the signals, their calibrated combination,
and the sentences of a stream.

The model writes its answer a piece at a time; ``SentenceSplitter`` hands over each sentence
once it is complete (a citation marker after its full stop included). Each is judged by
``Verifier.p_right`` from signals that need no more model time but one yes/no question:

- ``answerable``: the model's P(the passages state the answer), asked before it wrote;
- ``entailed``: the model's P(the passage it cites, or the one that holds most of its words,
  states this sentence), over the passages already in its cache;
- ``unsupported`` / ``unanchored``: a number, flag or identifier that no passage holds, or a
  number the passages give only about something else (rag.support);
- ``support``: share of the sentence's words in that passage; ``evidence``: share in the
  evidence sentence (the documents' own best sentence for the question); ``question``: share
  of the question's words in that passage;
- ``cited``: whether it cites a passage; ``later``: not the answer's first sentence.

The weights are a logistic regression fit on manuals-qa's drafted sentences, labelled by
whether they state a gold answer, with leave-questions-out cross-validation choosing the
regularisation and the threshold (bench/verifier.py; the curve is in docs/benchmarks.md).
The evidence sentence, shown as an extractive answer when no drafted sentence passes, has a
model of its own with the same fitting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ingest.chunker import full_stop_continues
from ingest.lexical import terms
from rag.citations import MARKER
from rag.support import off_question, unanchored_numbers, unfounded_words, unsupported_specifics

_BOUNDARY = re.compile(r"[.!?…׃](?:\s*\[[\d\s,;]+\])*(?=\s)|\n")
"""Where a sentence may end: a full stop (with any citation markers right after it), or a line break."""


class SentenceSplitter:
    """Pure: text pieces in, complete sentences out. A sentence is complete when its end is
    followed by the start of another (so "minutes. [1]" keeps its marker); ``flush`` gives the
    rest. Each sentence comes as written, with the white space before it: joined, they are the
    text fed (a stream stopped after a sentence goes on from exactly that text)."""

    def __init__(self) -> None:
        self.buffer = ""

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        out: list[str] = []
        cursor = 0
        for match in _BOUNDARY.finditer(self.buffer):
            end = match.end()
            rest = self.buffer[end:]
            if not rest.strip():
                break  # nothing after it yet: a marker or more words may still come
            if rest.lstrip().startswith("[") and match.group() != "\n":
                continue  # "minutes. [1": the marker belongs to this sentence; wait for it
            after = end + len(rest) - len(rest.lstrip())
            if match.group() != "\n" and full_stop_continues(self.buffer, match.start() + 1, after, cursor):
                continue
            if self.buffer[cursor:end].strip():
                out.append(self.buffer[cursor:end])
                cursor = end
        self.buffer = self.buffer[cursor:]
        return out

    def flush(self) -> str:
        rest, self.buffer = self.buffer, ""
        return rest if rest.strip() else ""


def cited_in(sentence: str) -> list[int]:
    return [int(n) for marker in MARKER.findall(sentence) for n in re.split(r"[,;]", marker)]


def plain(sentence: str) -> str:
    """The sentence without its citation markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", sentence)).strip()


def share(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


@dataclass(frozen=True)
class Signals:
    answerable: float
    entailed: float
    unsupported: int
    unanchored: int
    support: float
    evidence: float
    question: float
    cited: bool
    later: bool
    off_question: bool = False
    """It restates the question, or gives no number where a number is asked (rag.support.off_question)."""
    unfounded: int = 0
    """Words it adds to the question that the passages do not say about it (rag.support.unfounded_words)."""


def sentence_signals(
    sentence: str,
    *,
    question: str,
    passages: Sequence,
    evidence: str,
    answerable: float,
    entailed: float,
    position: int,
    seen: str,
) -> Signals:
    """Pure: the cheap signals of one drafted sentence (``seen``: all the model was shown)."""
    text = plain(sentence)
    words = set(terms(text))
    by_number = {p.n: p for p in passages}
    cited = [n for n in cited_in(sentence) if n in by_number]
    texts = {p.n: set(terms(p.heading + " " + p.text)) for p in passages}
    place = max(cited or texts, key=lambda n: share(words, texts[n]), default=None)
    passage_words = texts.get(place, set())
    return Signals(
        answerable=answerable,
        entailed=entailed,
        unsupported=len(unsupported_specifics(text, seen, question)),
        unanchored=len(unanchored_numbers(text, seen, question)),
        support=share(words, passage_words),
        evidence=share(words, set(terms(evidence))),
        question=share(set(terms(question)), passage_words),
        cited=bool(cited),
        later=position > 0,
        off_question=bool(off_question(text, question)),
        unfounded=len(unfounded_words(text, seen, question)),
    )


def supporting_passage(sentence: str, passages: Sequence) -> int | None:
    """The passage a sentence is checked against: the one it cites that holds most of its
    words, else the one of all that does."""
    words = set(terms(plain(sentence)))
    cited = [p for p in passages if p.n in cited_in(sentence)] or list(passages)
    best = max(cited, key=lambda p: share(words, set(terms(p.heading + " " + p.text))), default=None)
    return best.n if best else None


@dataclass(frozen=True)
class EvidenceSignals:
    answerable: float
    similarity: float
    question: float
    top: bool
    """Whether the evidence sentence is in the first passage."""
    off_question: bool = False


def evidence_signals(
    question: str, evidence: str, *, answerable: float, similarity: float, top: bool
) -> EvidenceSignals:
    return EvidenceSignals(
        answerable,
        similarity,
        share(set(terms(question)), set(terms(evidence))),
        top,
        bool(off_question(evidence, question)),
    )


def _logistic(weights: dict[str, float], values: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(w * float(values[k]) for k, w in weights.items() if k != "bias")
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Verifier:
    """The calibrated models and the thresholds a reader would pick (bench/verifier.py)."""

    sentence_weights: dict[str, float]
    evidence_weights: dict[str, float]
    sentence_threshold: float
    evidence_threshold: float
    founded_only: bool = False
    """Withhold a sentence with a word the passages do not say about the question (``unfounded``)."""

    def p_right(self, signals: Signals) -> float:
        """P(the sentence states the answer rightly). A number, flag or identifier that no passage
        holds makes it 0: on manuals-qa the fitted model already withheld each such sentence
        (7 of the 10 in three sets were wrong), and the rule keeps that when a model's own
        statement check is weaker (an endpoint's, say). So does a sentence that cannot answer
        the question whatever the passages say (``off_question``)."""
        if signals.unsupported or signals.off_question or (self.founded_only and signals.unfounded):
            return 0.0
        return _logistic(self.sentence_weights, {k: float(v) for k, v in asdict(signals).items()})

    def p_evidence_right(self, signals: EvidenceSignals) -> float:
        """P(the evidence sentence, quoted, answers); 0 for one that cannot, whatever it says."""
        if signals.off_question:
            return 0.0
        return _logistic(self.evidence_weights, {k: float(v) for k, v in asdict(signals).items()})

    @property
    def asks_the_model(self) -> bool:
        """Whether a sentence's check needs the model's yes/no (the ``entailed`` signal)."""
        return abs(self.sentence_weights.get("entailed", 0.0)) > 0


SHOW_ALL = Verifier({"bias": 30.0}, {"bias": -30.0}, 0.0, 1.0)
"""No gating: every drafted sentence shown, the evidence never shown as an answer (for measuring)."""

EVIDENCE_WEIGHTS = {"bias": -8.4327, "answerable": 1.8421, "similarity": 5.6831, "question": 5.1693, "top": -0.3809}
"""The evidence sentence's model, fit on manuals-qa and HeQ together (its signals mean the same in
both languages; each alone is calibrated to its own base rate: 0.20 of manuals-qa's evidence
sentences answer, 0.51 of HeQ's), checked on XQuAD-en and the Hebrew PDFs."""

DEFAULT_VERIFIER = Verifier(
    sentence_weights={
        "bias": -7.3994,
        "answerable": 1.9647,
        "entailed": 5.5041,
        "support": 2.6444,
        "later": -1.2416,
        "unanchored": -3.7206,
    },
    evidence_weights=EVIDENCE_WEIGHTS,
    sentence_threshold=0.55,
    evidence_threshold=0.45,
)
"""For English questions. The sentence model is fit on manuals-qa's 193 drafted sentences judged
by reading (bench/reviewed/manuals.jsonl), 2026-12-02; the thresholds are the trade-off's point
with the most right answers among those showing at most 0.10 of all questions a wrong answer
(`bench/verifier.py fit --train manuals --evidence-train manuals heq --check xquad`; the curve
and the checks are in docs/benchmarks.md)."""

HEBREW_VERIFIER = Verifier(
    sentence_weights={
        "bias": -1.9057,
        "answerable": 0.9428,
        "entailed": -0.9351,
        "support": 2.181,
        "later": -1.9283,
        "unanchored": 0.0,
    },
    evidence_weights={"bias": -10.2706, "answerable": 1.7257, "similarity": 7.6811, "question": 5.9542, "top": -0.4137},
    sentence_threshold=0.6,
    evidence_threshold=0.55,
    founded_only=True,
)
"""For Hebrew questions: fit on HeQ's 104 drafted sentences judged by reading (the 1.5B's check
of a Hebrew sentence carries no signal there: its weight comes out negative), so a Hebrew answer
is mostly the documents' own sentence, quoted. `bench/verifier.py fit --train heq
--evidence-train manuals heq --check hebrew-pdf`."""

"""Dense + lexical search over one index, fused by weighted reciprocal rank.

Dense search finds paraphrases; BM25 finds rare words, names and numbers that a small
embedder blurs. Each list contributes weight / (rrf_k + rank) to a passage's score.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ingest.catalog import StoredChunk
from ingest.embedder import Embedder
from ingest.hebrew import crosses_script, script
from ingest.index import Index
from ingest.lexical import terms
from ingest.unicode import clean

EDGE = 0.2
ADAPTATION = 0.75
"""How far an adaptive fusion moves from the configured mix toward the one the peaks suggest.
With the 0.7/0.3 mix: the rule leave-one-collection-out chose on every one of 13 collections of
eight kinds (bench/fusion.py, docs/benchmarks.md); 0.5/0.5 halfway had been chosen on five."""


def edge_side(text: str, query_terms: set[str]) -> int:
    """Pure: -1 if the query's terms cluster in the first fifth of ``text``, +1 if in the last
    fifth, else 0. A match at an edge often continues in the neighbouring chunk."""
    if not query_terms or not text:
        return 0
    cut = max(1, int(len(text) * EDGE))
    head = sum(1 for t in terms(text[:cut]) if t in query_terms)
    tail = sum(1 for t in terms(text[-cut:]) if t in query_terms)
    middle = sum(1 for t in terms(text[cut:-cut]) if t in query_terms)
    if max(head, tail) <= middle:
        return 0
    return 1 if tail > head else -1


def join_spans(first: StoredChunk, second: StoredChunk) -> str:
    """Pure: the text of two consecutive chunks of one file, their overlap written once."""
    overlap = first.end - second.start
    return first.text + (second.text[overlap:] if overlap > 0 else "\n" + second.text)


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="lexical")


@dataclass(frozen=True)
class Hit:
    id: str
    source: str
    page: int | None
    heading: str
    text: str
    ordinal: int
    score: float
    dense: float | None
    lexical: float | None
    origin: str = ""
    """"ocr": the text was read from a scan or photo."""


@dataclass(frozen=True)
class Fusion:
    """How the two rankings combine.

    ``adaptive`` (the default): as ``convex``, but each query's weights follow how clearly each
    list picks its best (``peak``, ``query_weights``): a query whose BM25 list has one
    outstanding match (an option name, an identifier) leans on BM25, and a paraphrase that
    BM25 scatters leans on the embedder.
    ``convex``: each list's scores are scaled to 0..1 between its best score and its score at
    rank ``candidates`` (lower ones clip to 0), then added with their weights.
    ``rrf``: each list adds weight / (rrf_k + rank). Chosen by leave-one-collection-out over
    13 collections (bench/fusion.py, see docs/benchmarks.md).
    """

    dense_weight: float = 0.7
    lexical_weight: float = 0.3
    rrf_k: int = 60
    candidates: int = 100
    method: str = "adaptive"
    adaptation: float = ADAPTATION
    """How far ``adaptive`` moves toward the peaks' share (see ``ADAPTATION``)."""
    lexical_floor: float = 0.0
    """``adaptive`` only: a BM25 list whose peak is below this (no match stands out: the words
    are common, or not the documents' language) leaves the query to the dense list alone."""


def _min_max(ranked: list[tuple[str, float]], depth: int) -> dict[str, float]:
    if not ranked:
        return {}
    high = ranked[0][1]
    low = ranked[min(depth, len(ranked)) - 1][1]
    span = high - low
    return {chunk_id: max(0.0, (score - low) / span) if span > 0 else 1.0 for chunk_id, score in ranked}


def peak(ranked: list[tuple[str, float]], depth: int) -> float:
    """Pure: how far a list's best score stands above its first ``depth`` scores, in standard
    deviations; 0 for a list too short or too flat to say."""
    values = [score for _, score in ranked[:depth]]
    if len(values) < 3:
        return 0.0
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return (values[0] - mean) / spread if spread > 0 else 0.0


def query_weights(
    dense: list[tuple[str, float]], lexical: list[tuple[str, float]], fusion: Fusion
) -> tuple[float, float]:
    """Pure: the (dense, lexical) weights for one query. ``adaptive`` moves the configured dense
    share ``ADAPTATION`` of the way toward the peaks' share, peak(dense) / (peak(dense) +
    peak(lexical)), so each list keeps at least (1 - ADAPTATION) of its configured share; when either list has no
    peak to read (fewer than 3 matches, all equal), and for the other methods, the configured
    weights stand."""
    base_dense, base_lexical = max(0.0, fusion.dense_weight), max(0.0, fusion.lexical_weight)
    if fusion.method != "adaptive" or base_dense == 0 or base_lexical == 0:
        return base_dense, base_lexical
    d, lx = peak(dense, fusion.candidates), peak(lexical, fusion.candidates)
    if fusion.lexical_floor > 0 and d > 0 and lx < fusion.lexical_floor:
        return base_dense + base_lexical, 0.0
    if d <= 0 or lx <= 0:
        return base_dense, base_lexical
    total = base_dense + base_lexical
    share = base_dense / total + fusion.adaptation * (d / (d + lx) - base_dense / total)
    return share * total, (1 - share) * total


def fuse(
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    fusion: Fusion,
    unembedded: frozenset[str] | set[str] = frozenset(),
    unreadable: frozenset[str] | set[str] = frozenset(),
) -> list[tuple[str, float]]:
    """Pure: combine two ranked (id, score) lists into one, best first.

    ``unembedded``: chunks that have no vector yet (ingest's stage 2 has not reached them), so
    the dense list cannot hold them; each takes its lexical value for the dense one too, so a
    chunk is not ranked down for waiting (bench/pending.py).
    ``unreadable``: chunks written in the other script than the query (a Hebrew file for an
    English question), which no query word can match; each not in the lexical list takes its
    dense value for the lexical one too, so a chunk is not ranked down for its language."""
    scores: dict[str, float] = {}
    weights = query_weights(dense, lexical, fusion)
    for weight, ranked in zip(weights, (dense, lexical)):
        if weight <= 0:
            continue
        if fusion.method != "rrf":
            for chunk_id, value in _min_max(ranked, fusion.candidates).items():
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * value
        else:
            for rank, (chunk_id, _) in enumerate(ranked):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (fusion.rrf_k + rank + 1)
    if unembedded and dense and weights[0] > 0:
        if fusion.method != "rrf":
            stand_in = {i: weights[0] * v for i, v in _min_max(lexical, fusion.candidates).items()}
        else:
            stand_in = {i: weights[0] / (fusion.rrf_k + rank + 1) for rank, (i, _) in enumerate(lexical)}
        for chunk_id in unembedded & stand_in.keys():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + stand_in[chunk_id]
    if unreadable and dense and weights[1] > 0:
        if fusion.method != "rrf":
            stand_in = {i: weights[1] * v for i, v in _min_max(dense, fusion.candidates).items()}
        else:
            stand_in = {i: weights[1] / (fusion.rrf_k + rank + 1) for rank, (i, _) in enumerate(dense)}
        for chunk_id in (set(unreadable) - {i for i, _ in lexical}) & stand_in.keys():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + stand_in[chunk_id]
    return sorted(scores.items(), key=lambda item: -item[1])


class Reranker(Protocol):
    """Reorders the first passages of a search. None ships: no cross-encoder is available as a
    package; a reranker plugs in here (``Retriever(..., reranker=...)``)."""

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    best_dense: float
    """The highest cosine similarity among all dense candidates: how close anything came."""
    query_vector: object = None
    """The question's embedding (None without dense search), for scoring sentences later."""
    pending: int = 0
    """Chunks of the index still waiting for their vectors (searched by their words only)."""
    waiting_hits: int = 0
    """How many of ``hits`` are such chunks: their similarity to the question is not known."""
    best_across: float = 0.0
    """The highest cosine among dense candidates written in the other script than the question."""


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder | None,
        fusion: Fusion | None = None,
        *,
        reranker: Reranker | None = None,
        rerank_depth: int = 20,
    ):
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self.reranker = reranker
        self.rerank_depth = rerank_depth

    def search(self, query: str, k: int = 5, *, where: str | None = None) -> list[Hit]:
        return self.retrieve(query, k, where=where).hits

    def candidates(self, query: str, n: int):
        """The two ranked lists before fusion, (dense by cosine, lexical by BM25), ``n`` each, and
        the query's vector (None without an embedder); both lists are searched whatever the
        fusion weights (an evaluation compares them)."""
        return self._candidates(query, n, both=True)

    def pending(self) -> int:
        """Chunks of the index still waiting for their vectors (ingest's stage 2)."""
        return self.index.catalog.pending_count()

    def _candidates(self, query: str, n: int, *, both: bool = False):
        query = clean(query)  # a question typed in a terminal that is not UTF-8 holds lone surrogates
        lexical_job = None
        if both or self.fusion.lexical_weight > 0:  # SQLite works without the GIL: overlap it with the embedder
            lexical_job = _pool().submit(self.index.catalog.lexical_search, query, n)
        dense: list[tuple[str, float]] = []
        vector = None
        if self.embedder is not None and (both or self.fusion.dense_weight > 0):
            vector = self.embedder.embed_query(query)
            dense = self.index.store.query(vector, n)
        return dense, lexical_job.result() if lexical_job else [], vector

    def _candidates_in(self, query: str, paths: Sequence[str], n: int):
        """The two ranked lists over the chunks of ``paths`` alone, every chunk scored (a
        question about one document: its chunks need not rank among the whole index's best)."""
        query = clean(query)
        catalog = self.index.catalog
        ids = [i for path in paths for i in catalog.chunk_ids(path)]
        lexical = catalog.lexical_search(query, n, paths=paths)
        dense: list[tuple[str, float]] = []
        vector = None
        if self.embedder is not None and ids:
            vector = self.embedder.embed_query(query)
            waiting = catalog.pending_among(ids)
            have = [i for i in ids if i not in waiting]
            if have:
                scores = self.index.store.vectors(have) @ vector
                order = sorted(range(len(have)), key=lambda i: -float(scores[i]))[:n]
                dense = [(have[i], float(scores[i])) for i in order]
        return dense, lexical, vector

    def retrieve(
        self, query: str, k: int = 5, *, where: str | None = None, files: Sequence[str] | None = None
    ) -> Retrieval:
        """The best ``k`` passages: of the whole index, of the files whose path matches the glob
        ``where``, or of the indexed files ``files`` (paths) alone."""
        n = max(self.fusion.candidates, k * 4) * (4 if where else 1)
        dense, lexical, vector = self._candidates_in(query, files, n) if files else self._candidates(query, n)
        pending = self.pending()
        unembedded = self.index.catalog.pending_among([i for i, _ in lexical]) if pending else set()
        unreadable = self.unreadable(query, dense)
        depth = max(k, self.rerank_depth) if self.reranker else k
        hits = self.hits(fuse(dense, lexical, self.fusion, unembedded, unreadable), dense, lexical, depth, where=where)
        if self.reranker:
            hits = self.reranker.rerank(query, hits)[:k]
        best = max((score for _, score in dense), default=0.0)
        across = max((score for i, score in dense if i in unreadable), default=0.0)
        return Retrieval(hits, best, vector, pending, sum(h.id in unembedded for h in hits), across)

    def unreadable(self, query: str, dense: list[tuple[str, float]]) -> set[str]:
        """The dense candidates written in the other script than ``query`` (see ``fuse``); none
        for an embedder that does not relate languages (reading them cost an English index a
        quarter of a warm search)."""
        if not dense or not script(query) or getattr(self.embedder, "cross_relevance_floor", None) is None:
            return set()
        stored = self.index.catalog.get_chunks([i for i, _ in dense])
        return {i for i, chunk in stored.items() if crosses_script(query, chunk.text)}

    def hits(self, fused, dense, lexical, k: int, *, where: str | None = None) -> list[Hit]:
        """The first ``k`` distinct passages of a fused ranking, read from the catalog."""
        dense_scores, lexical_scores = dict(dense), dict(lexical)
        hits: list[Hit] = []
        seen_texts: set[str] = set()
        step = max(4 * k, 20)  # read texts a slice at a time: most searches need only the first
        stored: dict = {}
        for at, (chunk_id, score) in enumerate(fused):
            if at % step == 0:
                stored = self.index.catalog.get_chunks([i for i, _ in fused[at : at + step]])
            chunk = stored.get(chunk_id)
            if chunk is None:  # vectors of a file version the catalog no longer has
                continue
            if where and not fnmatch.fnmatch(chunk.path, where) and not fnmatch.fnmatch(chunk.path, f"*/{where}"):
                continue
            fingerprint = hashlib.sha1(" ".join(chunk.text.split()).lower().encode()).hexdigest()
            if fingerprint in seen_texts:  # the same passage in two files: show it once
                continue
            seen_texts.add(fingerprint)
            hits.append(
                Hit(
                    id=chunk_id,
                    source=chunk.path,
                    page=chunk.page,
                    heading=chunk.heading,
                    text=chunk.text,
                    ordinal=chunk.ordinal,
                    score=score,
                    dense=dense_scores.get(chunk_id),
                    lexical=lexical_scores.get(chunk_id),
                    origin=chunk.origin,
                )
            )
            if len(hits) == k:
                break
        return hits

    def with_neighbours(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Each hit whose match sits at a chunk edge, extended by the neighbouring chunk."""
        wanted = set(terms(query))
        extended = []
        for hit in hits:
            side = edge_side(hit.text, wanted)
            chunk = self.index.catalog.get_chunks([hit.id]).get(hit.id) if side else None
            other = self.index.catalog.neighbour(chunk, side) if chunk else None
            if other is not None and other.page == chunk.page:
                text = join_spans(chunk, other) if side > 0 else join_spans(other, chunk)
                hit = dataclasses.replace(hit, text=text, ordinal=min(chunk.ordinal, other.ordinal))
            extended.append(hit)
        return extended

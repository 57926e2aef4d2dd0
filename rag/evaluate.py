"""`rag eval`: measure retrieval (BEIR) and question answering (SQuAD v1.1 / v2) on any data set.

Each data set is written out as one Markdown file per document (title as heading) and indexed
through the normal ingest path, so the numbers describe what users get. Dense, lexical and
hybrid rankings are all computed from the same candidate lists, so one run reports the three.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import statistics
import string
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.hebrew import MAX_PREFIXES, PREFIXES, has_hebrew
from rag.engine import NO_RELEVANT_PASSAGE
from rag.errors import RagError
from rag.retriever import Fusion, Retriever, fuse

MODES = {
    "dense": lambda f: Fusion(1.0, 0.0, f.rrf_k, f.candidates, f.method),
    "lexical": lambda f: Fusion(0.0, 1.0, f.rrf_k, f.candidates, f.method),
    "hybrid": lambda f: f,
}
DENSE_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 0.9, 1.0)
"""The ``dense_weight`` values `rag eval folder` tries on the user's questions."""
SUGGEST_MIN_QUESTIONS = 20
SUGGEST_MARGIN = 0.01
SUGGEST_Z = 2.5
"""A weight is suggested only from this many questions, when its MRR@10 beats the current mix's
by this margin and by ``SUGGEST_Z`` standard errors of the per-question difference: with tens of
questions a smaller difference is mostly which questions were asked (bench/fusion_features.py:
simulated on 13 collections, the advice cost more than 0.005 in at most 1% of draws and gained
up to 0.018 on average with 150 questions; docs/benchmarks.md)."""


def eval_index_name(source: Path, embedder: str) -> str:
    """The index `rag eval` builds for a data set (a folder or a file in one): eval-<set>-<embedder>."""
    name = source.parent.name if source.is_file() else source.name
    return f"eval-{name}-{embedder}"


# --- metrics (pure) ---------------------------------------------------------------------------
def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"״", "׳", "־", "–", "—", "“", "”", "‘", "’", "«", "»"}


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (lower case, no punctuation, articles or extra spaces), Hebrew marks removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u0591-\u05C7]", "", text)
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


_HEBREW_PREFIX = f"[{PREFIXES}]{{0,{MAX_PREFIXES}}}"


def contains_answer(text: str, answers: Iterable[str], *, hebrew_prefixes: bool = False) -> bool:
    """Is a gold answer in ``text`` as whole words? With ``hebrew_prefixes``, a Hebrew gold
    answer may also follow one of the one-letter prefixes (ו ה ב כ ל מ ש) that Hebrew writes
    onto the word: an answer "בפקיעין" ("in Peki'in") contains the gold span "פקיעין"."""
    haystack = f" {normalize_answer(text)} "
    for answer in answers:
        gold = normalize_answer(answer)
        if not gold:
            continue
        if f" {gold} " in haystack:
            return True
        if hebrew_prefixes and has_hebrew(gold[0]) and re.search(f" {_HEBREW_PREFIX}{re.escape(gold)} ", haystack):
            return True
    return False


# --- data sets ----------------------------------------------------------------------------------
def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]", "_", text)[:80]


def _write_if_changed(path: Path, text: str) -> None:
    """Keep files (and their times) untouched when unchanged, so a re-run re-indexes nothing."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def workspace(cache_dir: Path, source: Path) -> Path:
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:10]
    folder = cache_dir / "eval" / f"{_safe_name(source.stem if source.is_file() else source.name)}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class BeirSet:
    documents: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    doc_of_file: dict[str, str]


def load_beir(folder: Path, out: Path, split: str = "test") -> BeirSet:
    for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / name).is_file():
            raise RagError(f"{folder} is not a BEIR folder: {name} is missing")
    documents = out / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    doc_of_file: dict[str, str] = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            if not line.strip():
                continue
            doc = json.loads(line)
            path = documents / f"{_safe_name(doc['_id'])}.md"
            title = " ".join((doc.get("title") or "").split())
            _write_if_changed(path, (f"# {title}\n\n" if title else "") + doc["text"].strip() + "\n")
            doc_of_file[str(path.resolve())] = doc["_id"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / f"qrels/{split}.tsv", encoding="utf-8") as handle:
        for row in handle:
            parts = row.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0] == "query-id":
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                q = json.loads(line)
                if q["_id"] in qrels:
                    queries[q["_id"]] = q["text"]
    return BeirSet(documents, queries, qrels, doc_of_file)


@dataclass
class QaItem:
    id: str
    question: str
    answers: list[str]
    impossible: bool
    source: str | None = None
    """The file that answers it (a name or a path ending), for page-level retrieval scores."""
    page: int | None = None


def load_qa_jsonl(file: Path) -> list[QaItem]:
    """Questions over a folder of documents, one JSON object a line:
    ``{"id"?, "question", "answers"?, "source"?, "page"?, "kind"?}``; a line with no ``source``
    (or ``"kind": "unanswerable"``) is a question the documents do not answer."""
    items: list[QaItem] = []
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RagError(f"cannot read {file}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = row["question"]
        except (ValueError, KeyError, TypeError):
            raise RagError(f'{file}, line {n}: not a JSON object with a "question"') from None
        where = row.get("source") or row.get("pdf")  # "pdf": the name ../shared/data/hebrew-pdf uses
        impossible = row.get("kind") == "unanswerable" or not where
        page = row.get("page")
        if page is not None and not isinstance(page, int):
            raise RagError(f'{file}, line {n}: "page" must be a whole number (the PDF\'s page, 1 for the first)')
        items.append(
            QaItem(str(row.get("id", n)), question, list(row.get("answers") or []), impossible, where or None, page)
        )
    return items


def load_squad(file: Path, out: Path) -> tuple[Path, list[QaItem]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise RagError(f"{file} is not a SQuAD-format JSON file ({exc})") from None
    documents = out / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    items: list[QaItem] = []
    for a, article in enumerate(data):
        title = " ".join(str(article.get("title", "")).split())
        for p, paragraph in enumerate(article["paragraphs"]):
            path = documents / f"{a:04d}-{p:03d}.md"
            _write_if_changed(path, (f"# {title}\n\n" if title else "") + paragraph["context"].strip() + "\n")
            for qa in paragraph["qas"]:
                answers = [x["text"] for x in qa.get("answers", [])]
                impossible = bool(qa.get("is_impossible")) or not answers
                items.append(QaItem(str(qa["id"]), qa["question"], answers, impossible))
    return documents, items


# --- runners ------------------------------------------------------------------------------------
def _timed_candidates(retriever: Retriever, query: str, n: int) -> tuple[list, list, float]:
    started = time.perf_counter()
    dense, lexical, _ = retriever.candidates(query, n)
    return dense, lexical, (time.perf_counter() - started) * 1000


def evaluate_beir(
    retriever: Retriever, data: BeirSet, *, progress: Callable[[str, int, int], None] | None = None
) -> dict:
    path_of = retriever.index.catalog.chunk_paths()
    per_mode: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    latencies = []
    for done, (qid, query) in enumerate(data.queries.items(), 1):
        if progress:
            progress("queries", done, len(data.queries))
        dense, lexical, ms = _timed_candidates(retriever, query, 300)
        latencies.append(ms)
        for mode, make in MODES.items():
            ranked: list[str] = []
            for chunk_id, _ in fuse(dense, lexical, make(retriever.fusion)):
                doc = data.doc_of_file.get(path_of.get(chunk_id, ""))
                if doc is not None and doc not in ranked:
                    ranked.append(doc)
            rels = data.qrels[qid]
            scores = per_mode[mode]
            for name, value in (
                ("ndcg@10", ndcg_at(ranked, rels, 10)),
                ("recall@10", recall_at(ranked, rels, 10)),
                ("recall@100", recall_at(ranked, rels, 100)),
                ("mrr@10", mrr_at(ranked, rels, 10)),
            ):
                scores.setdefault(name, []).append(value)
    modes = {m: {k: round(statistics.fmean(v), 4) for k, v in s.items()} for m, s in per_mode.items()}
    return {
        **modes["hybrid"],
        "queries": len(data.queries),
        "search_ms_mean": round(statistics.fmean(latencies), 1),
        "search_ms_p50": round(statistics.median(latencies), 1),
        "modes": modes,
    }


def _first_hits(
    retriever: Retriever,
    items: Sequence[QaItem],
    is_hit: Callable,
    *,
    depth: int,
    progress: Callable[[str, int, int], None] | None,
    modes: dict[str, Callable[[Fusion], Fusion]] = MODES,
) -> tuple[list[dict[str, int | None]], list[float]]:
    """For each item and each search mode, the rank (0-based) of the first of ``depth`` hits for
    which ``is_hit(hit, item)``, or None; and each search's time in ms."""
    firsts, latencies = [], []
    for done, item in enumerate(items, 1):
        if progress:
            progress("queries", done, len(items))
        dense, lexical, ms = _timed_candidates(retriever, item.question, 100)
        latencies.append(ms)
        ranks = {}
        for mode, make in modes.items():
            top = retriever.hits(fuse(dense, lexical, make(retriever.fusion)), dense, lexical, depth)
            ranks[mode] = next((i for i, h in enumerate(top) if is_hit(h, item)), None)
        firsts.append(ranks)
    return firsts, latencies


def _mean_ms(latencies: list[float]) -> float | None:
    return round(statistics.fmean(latencies), 1) if latencies else None


def evaluate_qa_retrieval(
    retriever: Retriever, items: Sequence[QaItem], *, progress: Callable[[str, int, int], None] | None = None
) -> dict:
    """recall@1/5/10 for dense, lexical and hybrid search, where a hit is a passage holding a gold answer."""
    answerable = [item for item in items if not item.impossible]
    cuts = (1, 5, 10)
    firsts, latencies = _first_hits(
        retriever,
        answerable,
        lambda hit, item: contains_answer(hit.text, item.answers),
        depth=max(cuts),
        progress=progress,
    )
    n = max(1, len(answerable))
    modes = {
        m: {f"recall@{k}": round(sum(r[m] is not None and r[m] < k for r in firsts) / n, 4) for k in cuts}
        for m in MODES
    }
    return {
        **modes["hybrid"],
        "questions": len(answerable),
        "unanswerable": len(items) - len(answerable),
        "search_ms_mean": _mean_ms(latencies),
        "modes": modes,
    }


def is_the_place(source: str, page: int | None, item: QaItem) -> bool:
    """Pure: is a hit from ``source`` (and ``page``) where ``item`` says its answer is? The item's
    source may be a file name or the end of a path; its page, when given, must match too."""
    wanted = item.source.replace("\\", "/").strip("/")
    path = source.replace("\\", "/")
    in_file = path == wanted or path.endswith("/" + wanted)
    return in_file and (item.page is None or page == item.page)


def evaluate_folder_retrieval(
    retriever: Retriever, items: Sequence[QaItem], *, progress: Callable[[str, int, int], None] | None = None
) -> dict:
    """hit@1, hit@5 and MRR@10 for dense, lexical and hybrid search, where a hit is a passage from
    the file (and page) that the question names; and the questions hybrid search missed at 5."""
    located = [item for item in items if not item.impossible and item.source]
    current = retriever.fusion.dense_weight

    def mode_of(weight: float) -> str:  # 0, 1 and the current mix are modes already searched
        return {0.0: "lexical", 1.0: "dense", current: "hybrid"}.get(weight, f"dense_weight {weight}")

    weighted = {
        mode_of(w): (lambda f, w=w: dataclasses.replace(f, dense_weight=w, lexical_weight=1 - w))
        for w in DENSE_WEIGHTS
        if mode_of(w) not in MODES
    }
    firsts, latencies = _first_hits(
        retriever,
        located,
        lambda hit, item: is_the_place(hit.source, hit.page, item),
        depth=10,
        progress=progress,
        modes={**MODES, **weighted},
    )
    n = max(1, len(located))
    reciprocal = {m: [0.0 if r[m] is None else 1 / (r[m] + 1) for r in firsts] for m in [*MODES, *weighted]}
    modes = {
        m: {
            "hit@1": round(sum(r[m] == 0 for r in firsts) / n, 4),
            "hit@5": round(sum(r[m] is not None and r[m] < 5 for r in firsts) / n, 4),
            "mrr@10": round(sum(reciprocal[m]) / n, 4),
        }
        for m in MODES
    }
    by_weight = {w: reciprocal[mode_of(w)] for w in DENSE_WEIGHTS}
    suggestion = suggested_weight(by_weight, reciprocal["hybrid"], current)
    missed = [
        {"id": item.id, "question": item.question, "source": item.source, "page": item.page}
        for item, r in zip(located, firsts)
        if r["hybrid"] is None or r["hybrid"] >= 5
    ]
    return {
        **modes["hybrid"],
        "questions": len(located),
        "not_located": len(items) - len(located),
        "search_ms_mean": _mean_ms(latencies),
        "modes": modes,
        "favours": favoured_mode(modes),
        "mrr@10_by_dense_weight": {w: round(sum(v) / n, 4) for w, v in by_weight.items()},
        "suggested_dense_weight": suggestion[0],
        "dense_weight_advice": suggestion[1],
        "missed_at_5": missed,
    }


def suggested_weight(
    by_weight: dict[float, list[float]], current: list[float], weight: float
) -> tuple[float | None, str]:
    """Pure: (the ``dense_weight`` to put in rag.toml, or None to keep ``weight``; the advice in
    one line). ``by_weight``: each weight's per-question score (reciprocal rank); ``current``:
    the current mix's, same questions. Another weight is suggested only when it beats the
    current mix clearly (``SUGGEST_MARGIN``, ``SUGGEST_Z`` standard errors)."""
    n = len(current)
    keep = f"keep dense_weight = {weight}"
    if n < SUGGEST_MIN_QUESTIONS or not by_weight:
        return None, f"{keep}: {SUGGEST_MIN_QUESTIONS} questions or more are needed to suggest another mix"
    mean = {w: statistics.fmean(v) for w, v in by_weight.items()}
    best = max(mean, key=lambda w: (round(mean[w], 9), -abs(w - weight)))
    differences = [a - b for a, b in zip(by_weight[best], current)]
    gain = statistics.fmean(differences)
    error = statistics.stdev(differences) / math.sqrt(n)
    if best == weight or gain <= 0:
        return None, f"{keep}: no other mix does better on your {n} questions"
    if gain < max(SUGGEST_MARGIN, SUGGEST_Z * error):
        return None, (
            f"{keep}: {best}'s lead (MRR@10 {gain:+.4f}) is within the noise of {n} questions; more questions would tell"
        )
    alone = {1.0: " (embedding search alone)", 0.0: " (BM25 alone)"}.get(best, "")
    return best, (
        f"dense_weight = {best}{alone}: MRR@10 {mean[best]:.4f} on your {n} questions against "
        f"{statistics.fmean(current):.4f} with {weight}; put it in rag.toml, or set RAG_DENSE_WEIGHT={best}"
    )


def favoured_mode(modes: dict[str, dict[str, float]], tolerance: float = 0.005) -> str:
    """Pure: which search the questions favour, by MRR@10: hybrid (what `rag ask` uses) unless
    dense or lexical alone is better by more than ``tolerance``; said in one line."""
    best = max(modes, key=lambda m: modes[m]["mrr@10"])
    if best == "hybrid" or modes[best]["mrr@10"] - modes["hybrid"]["mrr@10"] <= tolerance:
        return f"hybrid (MRR@10 {modes['hybrid']['mrr@10']}; dense {modes['dense']['mrr@10']}, lexical {modes['lexical']['mrr@10']})"
    return (
        f"{best} alone: MRR@10 {modes[best]['mrr@10']} against hybrid's {modes['hybrid']['mrr@10']}; "
        f"your questions {'share the documents’ words' if best == 'lexical' else 'paraphrase the documents'}"
    )


def sample(items: Sequence[QaItem], limit: int | None) -> list[QaItem]:
    """A deterministic spread of ``limit`` items (every n-th), keeping the set's mix of articles."""
    if not limit or limit >= len(items):
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def evaluate_answers(engine, items: Sequence[QaItem], *, progress=None) -> dict:
    correct = answered_ok = abstained_right = abstained_wrong = 0
    answerable = [i for i in items if not i.impossible]
    impossible = [i for i in items if i.impossible]
    ttfts, totals, rows = [], [], []
    for done, item in enumerate(items, 1):
        if progress:
            progress("answers", done, len(items))
        answer = engine.ask(item.question)
        if answer.timings.get("ttft_ms") is not None and answer.abstain_reason != NO_RELEVANT_PASSAGE:
            ttfts.append(answer.timings["ttft_ms"])
            totals.append(answer.timings.get("total_ms", 0))
        right = not answer.abstained and contains_answer(answer.answer, item.answers, hebrew_prefixes=True)
        if item.impossible:
            abstained_right += answer.abstained
        else:
            abstained_wrong += answer.abstained
            correct += right
            answered_ok += right and bool(answer.cited)
        rows.append(
            {
                "id": item.id,
                "question": item.question,
                "gold": item.answers[:3],
                "unanswerable": item.impossible,
                "answer": answer.answer,
                "abstained": answer.abstained,
                "correct": right and not item.impossible,
            }
        )
    return {
        "answer_accuracy": round(correct / len(answerable), 4) if answerable else None,
        "answered_with_citation": round(answered_ok / len(answerable), 4) if answerable else None,
        "abstention_unanswerable": round(abstained_right / len(impossible), 4) if impossible else None,
        "abstention_answerable": round(abstained_wrong / len(answerable), 4) if answerable else None,
        "answered_questions": len(answerable),
        "unanswerable_questions": len(impossible),
        "ttft_ms_median": round(statistics.median(ttfts), 1) if ttfts else None,
        "total_ms_median": round(statistics.median(totals), 1) if totals else None,
        "answers": rows,
    }

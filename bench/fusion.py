"""Fusion rules chosen to generalise: every rule on every development collection, same run, and
the choice of rule made by leave-one-collection-out.

Collections: the five development sets (SciFact, XQuAD-en, HeQ, manuals-qa, hebrew-pdf) and eight
more of other kinds in BEIR layout, rebuilt by bench/fetch_beir.py (argument retrieval, code
search, nutrition/medical, financial Q&A, forum duplicates, COVID papers, Japanese and Italian
Wikipedia QA; bench/beir_sources.md says where each came from). DBpedia-entity and MS MARCO are
not among them: they are kept back for checking.

Each query's two candidate lists (100 each, as `rag ask` fetches them) are computed once; every
rule is then scored on the same lists. Metrics: nDCG@10 over documents for the BEIR collections;
MRR@10 over passages for the rest, where a hit holds a gold answer (XQuAD-en, HeQ) or comes
from the file and page the question names (manuals-qa, hebrew-pdf). Each collection's index
gets the embedder `rag ingest` would choose from its documents (a user's default).

Leave-one-collection-out: for each collection in turn, the rule (family and parameters) with
the best mean regret against the better single list (hybrid - max(dense, lexical)) over the
other collections is chosen, then measured on the one left out. The check: on every
collection the chosen hybrid >= max(dense, lexical) - 0.005, and its mean above today's
adaptive rule's.

    .venv/bin/python bench/fetch_beir.py          # once: the eight collections
    .venv/bin/python bench/fusion.py
    .venv/bin/python bench/fusion.py --sets manuals-qa hebrew-pdf --json out.json

The candidate lists are cached under ~/.cache/rag-bench/fusion (--fresh searches again).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.api import open_retriever, opened_index, run_ingest
from rag.evaluate import (
    contains_answer,
    eval_index_name,
    is_the_place,
    load_beir,
    load_qa_jsonl,
    load_squad,
    ndcg_at,
    workspace,
)
from rag.retriever import Fusion, fuse
from rag.settings import load_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CANDIDATES = 100
TOLERANCE = 0.005
BEIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-bench" / "beir"
CACHE = BEIR.parent / "fusion"
SINGLE = {"dense": Fusion(1.0, 0.0, method="convex"), "lexical": Fusion(0.0, 1.0, method="convex")}
TODAY = Fusion(0.5, 0.5, method="adaptive", adaptation=0.5)
"""The rule `rag` shipped before this suite: adaptive, 0.5/0.5, halfway toward the peaks' share
(the default is now the one this benchmark chose: adaptive 0.7 a=0.75)."""


def candidate_rules() -> dict[str, Fusion]:
    """Every rule the leave-one-collection-out choice picks from."""
    rules: dict[str, Fusion] = {}
    for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        rules[f"convex {w}"] = Fusion(w, 1 - w, method="convex")
        for k in (10, 30, 60):
            rules[f"rrf k={k} {w}"] = Fusion(w, 1 - w, rrf_k=k, method="rrf")
        for a in (0.25, 0.5, 0.75, 1.0):
            rules[f"adaptive {w} a={a}"] = Fusion(w, 1 - w, method="adaptive", adaptation=a)
            for floor in (1.0, 2.0, 3.0):
                rules[f"adaptive {w} a={a} dense-if-lexical-peak<{floor}"] = Fusion(
                    w, 1 - w, method="adaptive", adaptation=a, lexical_floor=floor
                )
    return rules


@dataclass
class Query:
    """One query's two candidate lists and what counts as a hit, as plain data (cached between runs)."""

    dense: list[tuple[str, float]]
    lexical: list[tuple[str, float]]
    doc_of: dict[str, str]
    """Candidate chunk id -> the document it belongs to (nDCG) or itself when relevant (MRR)."""
    gains: dict[str, int]
    metric: str  # "ndcg" or "mrr"
    text: str = ""
    cross_dense: dict[str, float] | None = None
    """Cosine of each lexical candidate the dense list lacks (for rules that read both scores)."""
    cross_lexical: dict[str, float] | None = None
    """BM25 of each dense candidate the lexical list lacks (0: none of the query's terms)."""

    def score(self, ranked: list[str]) -> float:
        if self.metric == "mrr":
            return next((1 / (i + 1) for i, c in enumerate(ranked[:10]) if c in self.gains), 0.0)
        docs: list[str] = []
        for chunk_id in ranked:
            doc = self.doc_of.get(chunk_id)
            if doc is not None and doc not in docs:
                docs.append(doc)
        return ndcg_at(docs, self.gains, 10)


def scifact() -> tuple[str, list[Query]]:
    folder = DATA / "scifact"
    settings = load_settings({"index": eval_index_name(folder, "minilm-int8"), "embedder": "minilm-int8"})
    data = load_beir(folder, workspace(settings.cache_path, folder))
    run_ingest(settings, [str(data.documents)])
    return "nDCG@10", _beir_queries(settings, data)


def squad(relative: str, embedder: str) -> tuple[str, list[Query]]:
    file = DATA / relative
    settings = load_settings({"index": eval_index_name(file, embedder), "embedder": embedder})
    documents, items = load_squad(file, workspace(settings.cache_path, file))
    run_ingest(settings, [str(documents)])
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        return "MRR@10", [
            _query(retriever, item.question, lambda chunk, item=item: contains_answer(chunk.text, item.answers))
            for item in items
            if not item.impossible
        ]


def folder_set(name: str) -> tuple[str, list[Query]]:
    file = DATA / name / "qa.jsonl"
    settings = load_settings({})  # the embedder chosen from the documents, as `rag eval folder` does
    settings.index = eval_index_name(file, settings.embedder)
    run_ingest(settings, [str(file.parent / ("corpus" if name == "manuals-qa" else "pdfs"))])
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        return "MRR@10", [
            _query(retriever, item.question, lambda chunk, item=item: is_the_place(chunk.path, chunk.page, item))
            for item in load_qa_jsonl(file)
            if not item.impossible and item.source
        ]


def _lists(retriever, question: str):
    """The two candidate lists and each one's score for the other's candidates."""
    dense, lexical, vector = retriever.candidates(question, CANDIDATES)
    in_dense, in_lexical = dict(dense), dict(lexical)
    missing = [c for c, _ in lexical if c not in in_dense]
    cross_dense = {}
    if missing and vector is not None:
        cross_dense = dict(zip(missing, (retriever.index.store.vectors(missing) @ vector).tolist()))
    unscored = [c for c, _ in dense if c not in in_lexical]
    cross_lexical = dict.fromkeys(unscored, 0.0)
    if unscored:
        cross_lexical.update(retriever.index.catalog.lexical_search(question, len(unscored), ids=unscored))
    return dense, lexical, cross_dense, cross_lexical


def _query(retriever, question: str, relevant: Callable) -> Query:
    dense, lexical, cross_dense, cross_lexical = _lists(retriever, question)
    ids = list(dict.fromkeys(c for c, _ in dense + lexical))
    chunks = retriever.index.catalog.get_chunks(ids)
    hits = {c: 1 for c in ids if c in chunks and relevant(chunks[c])}
    return Query(dense, lexical, {c: c for c in hits}, hits, "mrr", question, cross_dense, cross_lexical)


def beir(name: str) -> tuple[str, list[Query]]:
    """A collection in BEIR layout under ``BEIR`` (bench/fetch_beir.py), indexed with the embedder
    `rag ingest` chooses from its documents."""
    folder = BEIR / name
    if not (folder / "corpus.jsonl").exists():
        sys.exit(f"{folder} is missing: run .venv/bin/python bench/fetch_beir.py first")
    settings = load_settings({})
    settings.index = eval_index_name(folder, "auto")
    data = load_beir(folder, workspace(settings.cache_path, folder))
    run_ingest(settings, [str(data.documents)])
    return "nDCG@10", _beir_queries(settings, data)


def _beir_queries(settings, data) -> list[Query]:
    queries = []
    with opened_index(settings) as index:
        retriever, path_of = open_retriever(settings, index), index.catalog.chunk_paths()

        for qid, query in data.queries.items():
            dense, lexical, cross_dense, cross_lexical = _lists(retriever, query)
            doc_of = {}
            for chunk_id, _ in dense + lexical:
                doc = data.doc_of_file.get(path_of.get(chunk_id, ""))
                if doc is not None:
                    doc_of[chunk_id] = doc
            queries.append(
                Query(dense, lexical, doc_of, dict(data.qrels[qid]), "ndcg", query, cross_dense, cross_lexical)
            )
    return queries


DEVELOPMENT = {
    "scifact": scifact,
    "xquad-en": lambda: squad("xquad-en/xquad.en.json", "minilm-int8"),
    "heq": lambda: squad("heq-val/val_v1.1.json", "multilingual"),
    "manuals-qa": lambda: folder_set("manuals-qa"),
    "hebrew-pdf": lambda: folder_set("hebrew-pdf"),
}
WIDER = ["arguana", "cosqa", "nfcorpus", "fiqa-mini", "semeval-cqa", "trec-covid-mini", "jsquad", "squad-it"]
SETS = {**DEVELOPMENT, **{name: (lambda name=name: beir(name)) for name in WIDER}}


def mean_score(queries: list[Query], fusion: Fusion) -> float:
    return statistics.fmean(q.score([c for c, _ in fuse(q.dense, q.lexical, fusion)]) for q in queries)


def searched(name: str, fresh: bool) -> tuple[str, list[Query]]:
    """A collection's metric and queries, from the cache unless ``fresh`` (the lists depend only on
    the index and the question, not on the rule)."""
    cached = CACHE / f"{name}-v2.pkl"
    if cached.exists() and not fresh:
        return pickle.loads(cached.read_bytes())
    result = SETS[name]()
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pickle.dumps(result))
    return result


def leave_one_out(table: dict[str, dict[str, float]], rules: list[str]) -> dict[str, tuple[str, float]]:
    """For each collection: the rule with the best mean regret over the others, and its score there."""
    regret = {
        name: {rule: row[rule] - max(row["dense"], row["lexical"]) for rule in rules} for name, row in table.items()
    }
    chosen = {}
    for held_out in table:
        others = [n for n in table if n != held_out]
        best = max(rules, key=lambda rule: (statistics.fmean(regret[n][rule] for n in others), rule == "today"))
        chosen[held_out] = (best, table[held_out][best])
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--json", dest="json_out", default=None)
    parser.add_argument("--fresh", action="store_true", help="search again instead of reading the cached lists")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: this benchmark reads the shared data sets")
    rules = {**SINGLE, "today": TODAY, **candidate_rules()}
    table: dict[str, dict[str, float]] = {}
    for name in args.sets:
        print(f"{name}: searching", file=sys.stderr, flush=True)
        metric, queries = searched(name, args.fresh)
        table[name] = {"metric": metric, "queries": len(queries)}
        for rule, fusion in rules.items():
            table[name][rule] = mean_score(queries, fusion)
    candidates = ["today", *candidate_rules()]
    chosen = leave_one_out(table, candidates)
    print(
        "| collection (metric, queries) | dense | lexical | today's adaptive | chosen without it (rule) | chosen ≥ better − 0.005 |"
    )
    print("|---|---|---|---|---|---|")
    for name, row in table.items():
        rule, value = chosen[name]
        ok = value >= max(row["dense"], row["lexical"]) - TOLERANCE
        print(
            f"| {name} ({row['metric']}, {row['queries']}) | {row['dense']:.4f} | {row['lexical']:.4f} | "
            f"{row['today']:.4f} | {value:.4f} ({rule}) | {'yes' if ok else 'NO'} |"
        )
    means = {k: statistics.fmean(row[k] for row in table.values()) for k in ("dense", "lexical", "today")}
    loco = statistics.fmean(v for _, v in chosen.values())
    print(f"| mean | {means['dense']:.4f} | {means['lexical']:.4f} | {means['today']:.4f} | {loco:.4f} | |")
    overall = max(
        candidates, key=lambda r: statistics.fmean(row[r] - max(row["dense"], row["lexical"]) for row in table.values())
    )
    print(f"\nthe rule with the best mean regret on all collections: {overall}")
    for name, row in table.items():
        print(
            f"  {name}: {row[overall]:.4f} (today {row['today']:.4f}, better single {max(row['dense'], row['lexical']):.4f})"
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"sets": table, "chosen": chosen}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Fusion rules on every development set, same run: dense, lexical, the fixed 0.5/0.5 mix and
the adaptive rule (the default), with the rule's check: on each set hybrid must reach the
better of dense and lexical minus 0.005.

Each query's two candidate lists (100 each, as `rag ask` fetches them) are computed once; every
rule is then scored on the same lists. Metrics: SciFact nDCG@10 over documents; MRR@10 over
passages for the rest, where a hit holds a gold answer (XQuAD-en, HeQ) or comes from the file
and page the question names (manuals-qa, hebrew-pdf). Indexes are the ones `rag eval` builds
(SciFact's first build embeds 5,183 abstracts: about 15 minutes on 2 cores).

    .venv/bin/python bench/fusion.py
    .venv/bin/python bench/fusion.py --sets manuals hebrew-pdf --json out.json
"""

from __future__ import annotations

import argparse
import json
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
RULES = {
    "dense": Fusion(1.0, 0.0, method="convex"),
    "lexical": Fusion(0.0, 1.0, method="convex"),
    "fixed 0.5/0.5": Fusion(0.5, 0.5, method="convex"),
    "adaptive": Fusion(),
}


@dataclass
class Query:
    dense: list[tuple[str, float]]
    lexical: list[tuple[str, float]]
    score: Callable[[list[str]], float]
    """Ranked chunk ids -> the set's metric for this query."""


def mrr(relevant: set[str]) -> Callable[[list[str]], float]:
    return lambda ranked: next((1 / (i + 1) for i, c in enumerate(ranked[:10]) if c in relevant), 0.0)


def scifact() -> tuple[str, list[Query]]:
    folder = DATA / "scifact"
    settings = load_settings({"index": eval_index_name(folder, "minilm-int8"), "embedder": "minilm-int8"})
    data = load_beir(folder, workspace(settings.cache_path, folder))
    run_ingest(settings, [str(data.documents)])
    queries = []
    with opened_index(settings) as index:
        retriever, path_of = open_retriever(settings, index), index.catalog.chunk_paths()

        def ndcg(qrels: dict[str, int]) -> Callable[[list[str]], float]:
            def score(ranked: list[str]) -> float:
                docs: list[str] = []
                for chunk_id in ranked:
                    doc = data.doc_of_file.get(path_of.get(chunk_id, ""))
                    if doc is not None and doc not in docs:
                        docs.append(doc)
                return ndcg_at(docs, qrels, 10)

            return score

        for qid, query in data.queries.items():
            dense, lexical = retriever.candidates(query, CANDIDATES)
            queries.append(Query(dense, lexical, ndcg(data.qrels[qid])))
    return "nDCG@10", queries


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


def _query(retriever, question: str, relevant: Callable) -> Query:
    dense, lexical = retriever.candidates(question, CANDIDATES)
    ids = list(dict.fromkeys(c for c, _ in dense + lexical))
    chunks = retriever.index.catalog.get_chunks(ids)
    return Query(dense, lexical, mrr({c for c in ids if c in chunks and relevant(chunks[c])}))


SETS = {
    "scifact": scifact,
    "xquad-en": lambda: squad("xquad-en/xquad.en.json", "minilm-int8"),
    "heq": lambda: squad("heq-val/val_v1.1.json", "multilingual"),
    "manuals-qa": lambda: folder_set("manuals-qa"),
    "hebrew-pdf": lambda: folder_set("hebrew-pdf"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: this benchmark reads the shared data sets")
    table: dict[str, dict[str, float]] = {}
    for name in args.sets:
        print(f"{name}: searching", file=sys.stderr, flush=True)
        metric, queries = SETS[name]()
        table[name] = {"metric": metric, "queries": len(queries)}
        for rule, fusion in RULES.items():
            table[name][rule] = statistics.fmean(
                q.score([c for c, _ in fuse(q.dense, q.lexical, fusion)]) for q in queries
            )
    print("| set (metric, queries) | " + " | ".join(RULES) + " | adaptive ≥ better half − 0.005 |")
    print("|---|" + "---|" * (len(RULES) + 1))
    for name, row in table.items():
        ok = row["adaptive"] >= max(row["dense"], row["lexical"]) - TOLERANCE
        print(
            f"| {name} ({row['metric']}, {row['queries']}) | "
            + " | ".join(f"{row[r]:.4f}" for r in RULES)
            + f" | {'yes' if ok else 'NO'} |"
        )
    means = {r: statistics.fmean(row[r] for row in table.values()) for r in RULES}
    print("| mean | " + " | ".join(f"{means[r]:.4f}" for r in RULES) + " | |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"sets": table, "mean": means}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

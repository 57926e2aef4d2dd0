"""Sweep fusion settings on the evaluation sets and print one table, to choose the defaults.

Candidate lists (dense and lexical, 300 each) are computed once per query; every fusion
setting is then scored on the same lists. Uses the indexes that `rag eval` builds.

    .venv/bin/python bench/fusion.py            # SciFact test + XQuAD-en, MiniLM
    .venv/bin/python bench/fusion.py --embedder multilingual --heq
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from rag.api import open_index, open_retriever, run_ingest  # noqa: E402
from rag.evaluate import contains_answer, eval_index_name, load_beir, load_squad, ndcg_at, workspace  # noqa: E402
from rag.retriever import Fusion, fuse  # noqa: E402
from rag.settings import load_settings  # noqa: E402

SETTINGS = [Fusion(1, 0, 60, method="rrf"), Fusion(0, 1, 60, method="rrf")] + [
    Fusion(1, w, k, method="rrf") for k in (10, 60) for w in (0.5, 1.0, 1.5, 2.0, 3.0)
] + [Fusion(a, round(1 - a, 2), method="convex") for a in (0.3, 0.4, 0.5, 0.6, 0.7)] + [
    Fusion(0.5, 0.5, candidates=depth, method="convex") for depth in (30, 50, 200)
]


def label(f: Fusion) -> str:
    if f.lexical_weight == 0:
        return "dense only"
    if f.dense_weight == 0:
        return "lexical only"
    if f.method == "convex":
        return f"convex dense {f.dense_weight} / lexical {f.lexical_weight}, depth {f.candidates}"
    return f"rrf k={f.rrf_k} lexical weight {f.lexical_weight}"


def beir_scores(settings, folder: Path) -> list[float]:
    data = load_beir(folder, workspace(settings.cache_path, folder))
    run_ingest(settings, [str(data.documents)])
    index = open_index(settings)
    retriever = open_retriever(settings, index)
    path_of = index.catalog.chunk_paths()
    totals = [[] for _ in SETTINGS]
    for qid, query in data.queries.items():
        dense, lexical = retriever.candidates(query, 300)
        for i, fusion in enumerate(SETTINGS):
            ranked: list[str] = []
            for chunk_id, _ in fuse(dense, lexical, fusion):
                doc = data.doc_of_file.get(path_of.get(chunk_id, ""))
                if doc is not None and doc not in ranked:
                    ranked.append(doc)
                if len(ranked) == 10:
                    break
            totals[i].append(ndcg_at(ranked, data.qrels[qid], 10))
    index.close()
    return [statistics.fmean(t) for t in totals]


def qa_scores(settings, file: Path, cut: int) -> list[float]:
    documents, items = load_squad(file, workspace(settings.cache_path, file))
    run_ingest(settings, [str(documents)])
    index = open_index(settings)
    retriever = open_retriever(settings, index)
    totals = [0] * len(SETTINGS)
    answerable = [i for i in items if not i.impossible]
    for item in answerable:
        dense, lexical = retriever.candidates(item.question, 100)
        for i, fusion in enumerate(SETTINGS):
            top = retriever.hits(fuse(dense, lexical, fusion), dense, lexical, cut)
            totals[i] += any(contains_answer(h.text, item.answers) for h in top)
    index.close()
    return [t / len(answerable) for t in totals]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--heq", action="store_true", help="also HeQ recall@5")
    args = parser.parse_args()
    columns: dict[str, list[float]] = {}
    folder = DATA / "scifact"
    settings = load_settings({"embedder": args.embedder, "index": eval_index_name(folder, args.embedder)})
    columns["SciFact nDCG@10"] = beir_scores(settings, folder)
    file = DATA / "xquad-en" / "xquad.en.json"
    settings = load_settings({"embedder": args.embedder, "index": eval_index_name(file, args.embedder)})
    columns["XQuAD recall@1"] = qa_scores(settings, file, 1)
    if args.heq:
        file = DATA / "heq-val" / "val_v1.1.json"
        settings = load_settings({"embedder": args.embedder, "index": eval_index_name(file, args.embedder)})
        columns["HeQ recall@5"] = qa_scores(settings, file, 5)
    print(f"| fusion ({args.embedder}) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for i, fusion in enumerate(SETTINGS):
        print(f"| {label(fusion)} | " + " | ".join(f"{values[i]:.4f}" for values in columns.values()) + " |")


if __name__ == "__main__":
    main()

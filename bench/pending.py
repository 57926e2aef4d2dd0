"""Retrieval while an ingest's second stage is unfinished: what a user gets from `rag search`
and `rag ask` while vectors are still being written.

A copy of each evaluation index has the vectors of a share of its chunks deleted and those
chunks marked as waiting (exactly what a run killed between the stages leaves), then every
question is searched through the real retriever: the dense list comes from the vectors that
remain, BM25 from every chunk. Two ways to fuse are scored on the same lists: a waiting chunk
with no dense score (it can reach at most the lexical weight), and a waiting chunk whose
lexical value stands in for its missing dense one (the default, ``rag.retriever.fuse``).
SciFact: nDCG@10 over documents; manuals-qa and hebrew-pdf: MRR@10 of the file and page the
question names.

    .venv/bin/python bench/pending.py
    .venv/bin/python bench/pending.py --sets manuals-qa --shares 0 0.5 0.9 1
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ingest.index import Index
from rag.api import open_retriever, opened_index, run_ingest
from rag.evaluate import eval_index_name, is_the_place, load_beir, load_qa_jsonl, ndcg_at, workspace
from rag.retriever import Fusion, fuse
from rag.settings import Settings, load_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CANDIDATES = 100

Question = tuple[str, Callable[[Index, list[str]], float]]
"""A question and its metric: (index, ranked chunk ids) -> score."""


def scifact() -> tuple[Settings, list[Question]]:
    folder = DATA / "scifact"
    settings = load_settings({"index": eval_index_name(folder, "minilm-int8"), "embedder": "minilm-int8"})
    data = load_beir(folder, workspace(settings.cache_path, folder))
    run_ingest(settings, [str(data.documents)])

    def ndcg(qrels: dict[str, int]):
        def score(index: Index, ranked: list[str]) -> float:
            paths = index.catalog.get_chunks(ranked[:100])
            docs: list[str] = []
            for chunk_id in ranked:
                chunk = paths.get(chunk_id)
                doc = data.doc_of_file.get(chunk.path) if chunk else None
                if doc is not None and doc not in docs:
                    docs.append(doc)
            return ndcg_at(docs, qrels, 10)

        return score

    return settings, [(query, ndcg(data.qrels[qid])) for qid, query in data.queries.items()]


def folder_set(name: str, documents: str) -> tuple[Settings, list[Question]]:
    file = DATA / name / "qa.jsonl"
    settings = load_settings({})  # the embedder chosen from the documents, as `rag eval folder` does
    settings.index = eval_index_name(file, settings.embedder)
    run_ingest(settings, [str(file.parent / documents)])

    def mrr(item):
        def score(index: Index, ranked: list[str]) -> float:
            chunks = index.catalog.get_chunks(ranked[:10])
            for rank, chunk_id in enumerate(ranked[:10], 1):
                chunk = chunks.get(chunk_id)
                if chunk and is_the_place(chunk.path, chunk.page, item):
                    return 1 / rank
            return 0.0

        return score

    items = [i for i in load_qa_jsonl(file) if not i.impossible and i.source]
    return settings, [(item.question, mrr(item)) for item in items]


SETS = {
    "scifact": ("nDCG@10", scifact),
    "manuals-qa": ("MRR@10", lambda: folder_set("manuals-qa", "corpus")),
    "hebrew-pdf": ("MRR@10", lambda: folder_set("hebrew-pdf", "pdfs")),
}


def withhold(index: Index, share: float, seed: int = 7) -> int:
    """Delete the vectors of ``share`` of the chunks and mark them waiting, as a kill between the stages leaves them."""
    ids = sorted(index.catalog.all_chunk_ids())
    chosen = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))[: round(share * len(ids))]]
    index.store.delete(chosen)
    index.catalog.mark_pending(chosen)
    return len(chosen)


def score(settings: Settings, questions: list[Question], share: float, scratch: Path) -> dict[str, float]:
    copy = scratch / f"{settings.index}-{share}"
    shutil.copytree(settings.index_path / settings.index, copy)
    copied = load_settings({"index": copy.name, "index_dir": str(scratch)})
    with opened_index(copied) as index:
        withheld = withhold(index, share)
        retriever = open_retriever(copied, index)
        fusion = Fusion()
        no_dense, stand_in = [], []
        for question, metric in questions:
            dense, lexical, _ = retriever.candidates(question, CANDIDATES)
            waiting = index.catalog.pending_among([i for i, _ in lexical]) if withheld else set()
            no_dense.append(metric(index, [i for i, _ in fuse(dense, lexical, fusion)]))
            stand_in.append(metric(index, [i for i, _ in fuse(dense, lexical, fusion, waiting)]))
        pending = index.catalog.pending_count()
    shutil.rmtree(copy)
    return {
        "pending": pending,
        "no dense score": statistics.fmean(no_dense),
        "lexical stands in (default)": statistics.fmean(stand_in),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--shares", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: this benchmark reads the shared data sets")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            metric, load = SETS[name]
            settings, questions = load()
            print(f"\n{name} ({len(questions)} questions, {metric}), vectors withheld from a share of the chunks")
            print("| withheld | chunks waiting | no dense score | lexical stands in (default) |")
            print("|---|---|---|---|")
            for share in args.shares:
                row = score(settings, questions, share, Path(tmp))
                print(
                    f"| {share:.0%} | {row['pending']} | {row['no dense score']:.4f} | "
                    f"{row['lexical stands in (default)']:.4f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

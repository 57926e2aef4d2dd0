"""Embedding throughput: the same real chunks through each bundled embedder, same run.

Takes the first N chunks of the SciFact evaluation index (built by `rag eval beir`), as
`rag ingest` would hand them over (batches of 128), and prints chunks/s, word pieces/s and
the ratio to MiniLM fp32 (sentence-transformers on torch, the naive pipeline's embedder),
plus each embedder's mean cosine to fp32 where the vector spaces are the same.
A warm-up batch loads each model first, untimed.

    .venv/bin/rag eval beir ../shared/data/scifact      # builds the source index (once)
    .venv/bin/python bench/embed.py --chunks 384 --embedder minilm --embedder minilm-int8 --embedder multilingual
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ingest.embedder import EMBEDDERS
from ingest.index import Index
from ingest.machine import physical_cores
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

BATCH = 128


SCIFACT_INDEX = f"eval-scifact-{Settings.embedder}"
"""The index `rag eval beir ../shared/data/scifact` builds with today's default embedder."""


def chunk_texts(index_dir: Path, count: int) -> list[str]:
    index = Index.open(index_dir, SCIFACT_INDEX)
    try:
        return index.catalog.first_texts(count)
    finally:
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=384)
    parser.add_argument("--embedder", action="append", help="repeat; default: minilm and minilm-int8")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "indexes")
    args = parser.parse_args()
    texts = chunk_texts(args.index_dir, args.chunks)
    names = args.embedder or ["minilm", "minilm-int8"]
    results: dict[str, tuple[float, np.ndarray]] = {}
    reference = EMBEDDERS["minilm"](threads=physical_cores())
    pieces = sum(reference.count_tokens(texts))
    for name in names:
        embedder = EMBEDDERS[name](threads=physical_cores())
        embedder.embed_documents(texts[:BATCH])  # untimed: loads the model
        started = time.perf_counter()
        vectors = np.vstack([embedder.embed_documents(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        results[name] = (time.perf_counter() - started, vectors)
    print(f"{len(texts)} SciFact chunks, {pieces} MiniLM word pieces, {physical_cores()} threads")
    base = results.get("minilm")
    print(f"{'embedder':<14}{'seconds':>9}{'chunks/s':>10}{'pieces/s':>10}{'vs fp32':>9}{'cos to fp32':>13}")
    for name, (seconds, vectors) in results.items():
        ratio = f"{base[0] / seconds:.2f}x" if base else "-"
        same_space = base is not None and name.startswith("minilm")  # fp32 and int8 MiniLM
        cosine = f"{float((vectors * base[1]).sum(1).mean()):.4f}" if same_space else "-"
        print(f"{name:<14}{seconds:>9.1f}{len(texts) / seconds:>10.1f}{pieces / seconds:>10.0f}{ratio:>9}{cosine:>13}")


if __name__ == "__main__":
    main()

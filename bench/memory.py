"""Memory on big inputs: a 3,000-page PDF and a folder of 10,000 small files.

Runs the ingest path up to the embedder (walk, plan, parse in the worker processes, chunk
with the real tokenizer) and reports the peak resident memory of this process and of the
parser workers, against the size of the input. Embedding is left out: it works on batches
of 128 chunks whatever the input, so it adds a constant (about 0.5 GB for MiniLM on torch).

    .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def parse_and_chunk(folder: Path) -> tuple[int, int, float]:
    from ingest.chunker import chunk_document
    from ingest.minilm import MiniLMEmbedder
    from ingest.walk import discover, resolve_roots
    from ingest.workers import ParsePool

    tokenizer = MiniLMEmbedder(threads=1)  # only its tokenizer is used
    walked = discover(resolve_roots([str(folder)]), max_file_bytes=1 << 40)
    jobs = [(f.path, f.size) for f in walked.files]
    started = time.perf_counter()
    chunks = 0
    with ParsePool(1) as pool:
        for _, document in pool.parse(jobs):
            if not isinstance(document, str):
                chunks += len(chunk_document(document, tokenizer.count_tokens))
    return len(jobs), chunks, time.perf_counter() - started


def make_pdf(path: Path, pages: list[str]) -> None:
    """A real text PDF, one string a page (fpdf2, from the test extras)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3000, help="pages of the big PDF")
    parser.add_argument("--files", type=int, default=10_000, help="small files in the folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        big.mkdir()
        sentence = "The inspection of valve {n} found the seal intact and the pressure at {p} bar. "
        pages = [
            ("".join(sentence.format(n=n * 10 + i, p=(n + i) % 9 + 1) for i in range(25))) for n in range(args.pages)
        ]
        make_pdf(big / "manual.pdf", pages)
        size = (big / "manual.pdf").stat().st_size
        base = peak_mb(resource.RUSAGE_SELF)
        files, chunks, seconds = parse_and_chunk(big)
        print(
            f"{args.pages:,}-page PDF ({size / 2**20:.1f} MB): {chunks} chunks in {seconds:.0f} s; "
            f"peak RSS parent {peak_mb(resource.RUSAGE_SELF):.0f} MB (tokenizer loaded: {base:.0f} MB before), "
            f"parser worker {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )

        many = Path(tmp) / "many"
        for n in range(args.files):
            folder = many / f"d{n // 500:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"note-{n:05d}.md").write_text(
                f"# Note {n}\n\nCrate {n} holds {n % 37} blankets.\n", encoding="utf-8"
            )
        files, chunks, seconds = parse_and_chunk(many)
        print(
            f"{args.files:,} small files: {chunks} chunks in {seconds:.0f} s; peak RSS parent {peak_mb(resource.RUSAGE_SELF):.0f} MB, "
            f"parser worker {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )


if __name__ == "__main__":
    main()

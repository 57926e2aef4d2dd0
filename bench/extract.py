"""PDF text extraction: the PDF loader (PDFium with the Hebrew repairs) against pypdf alone, same run.

For every question with a gold page in ../shared/data/hebrew-pdf/ (Hebrew PDFs of seven
producers) and ../shared/data/manuals-qa/ (English PDF manuals), is the gold quote, and is a gold
answer, found verbatim in that page's extracted text? Matching is after NFKC, removal of bidi
marks, straight quotes and whitespace collapsing, case folded. Also prints pages per second of
each extractor over the same PDFs, and the repairs made.

    .venv/bin/python bench/extract.py
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

from ingest.loaders.pdf import read_pdf

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"
SETS = {
    "hebrew-pdf": (DATA / "hebrew-pdf" / "qa.jsonl", DATA / "hebrew-pdf" / "pdfs", "pdf"),
    "manuals-qa": (DATA / "manuals-qa" / "qa.jsonl", DATA / "manuals-qa" / "corpus", "source"),
}
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def norm(text: str) -> str:
    text = _BIDI.sub("", unicodedata.normalize("NFKC", text)).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


def pypdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    return [page.extract_text() or "" for page in PdfReader(path).pages]


def rag_pages(path: Path, repairs: Counter) -> list[str]:
    read = read_pdf(path)
    repairs.update(read.repairs)
    return [text or "" for text in read.pages]


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    print(
        "| set | PDF questions | extractor | gold quote found | the same, spaces ignored | gold answer found | pages/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (qa, folder, key) in SETS.items():
        items = [json.loads(line) for line in qa.open(encoding="utf-8")]
        items = [i for i in items if i.get("page") and str(i.get(key) or "").endswith(".pdf")]
        files = sorted({i[key] for i in items})
        repairs: Counter = Counter()
        results = {}
        for extractor in ("pypdf", "rag"):
            pages, count, seconds = {}, 0, 0.0
            for file in files:
                started = time.perf_counter()
                texts = pypdf_pages(folder / file) if extractor == "pypdf" else rag_pages(folder / file, repairs)
                seconds += time.perf_counter() - started
                pages[file] = [norm(t) for t in texts]
                count += len(texts)
            quote = sum(norm(i["quote"]) in pages[i[key]][i["page"] - 1] for i in items)
            spaceless = sum(
                norm(i["quote"]).replace(" ", "") in pages[i[key]][i["page"] - 1].replace(" ", "") for i in items
            )
            answer = sum(any(norm(a) in pages[i[key]][i["page"] - 1] for a in i["answers"]) for i in items)
            missed = [i["id"] for i in items if norm(i["quote"]) not in pages[i[key]][i["page"] - 1]]
            results[extractor] = missed
            print(
                f"| {name} | {len(items)} | {extractor} | {quote / len(items):.3f} ({quote}) | {spaceless / len(items):.3f} ({spaceless}) "
                f"| {answer / len(items):.3f} ({answer}) | {count / seconds:.0f} |"
            )
        print(f"<!-- {name}: quotes missed by rag: {', '.join(results['rag']) or 'none'}; repairs: {dict(repairs)} -->")


if __name__ == "__main__":
    main()

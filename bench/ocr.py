"""OCR quality and speed on real pages: text-layer pages rendered to images and read back by Tesseract.

Pages: every page of the Hebrew PDFs in ../shared/data/hebrew-pdf/, and from the English
manuals in ../shared/data/manuals-qa/ the gold page of each PDF question plus every
``--stride``-th page. Each page is rendered with PDFium at ``--dpi`` (200, as a flatbed scan)
and read by ``ingest.ocr.read_image`` (the product's OCR path).

Prints, per language:
- character error rate of the OCR text against the page's text layer (whitespace collapsed;
  the text layer is the loader's own text, so extraction slips count against OCR too);
- retrieval hit@5 of the set's questions on an index of the OCR text against an index of the
  text-layer text of the same pages (one .txt document per page, default settings);
- OCR pages per second (2 Tesseract processes on 2 cores) and text-layer pages per second.

    .venv/bin/python bench/ocr.py                 # ~10 minutes on 2 cores
    .venv/bin/python bench/ocr.py --stride 20     # fewer English pages
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ingest.loaders.pdf import read_pdf

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"


def render_and_read(job: tuple[str, int, int]) -> str:
    import pypdfium2 as pdfium

    from ingest.ocr import OcrConfig, read_image

    path, number, dpi = job
    document = pdfium.PdfDocument(path)
    try:
        image = document[number - 1].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    return read_image(image, OcrConfig(dpi=dpi))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pages_of(language: str, stride: int) -> tuple[list[tuple[Path, int]], list[dict]]:
    if language == "he":
        folder = DATA / "hebrew-pdf" / "pdfs"
        items = [json.loads(line) for line in (DATA / "hebrew-pdf" / "qa.jsonl").open(encoding="utf-8")]
        items = [dict(i, file=i["pdf"]) for i in items if i.get("page")]
        pages = [(pdf, n) for pdf in sorted(folder.glob("*.pdf")) for n in range(1, len(read_pdf(pdf).pages) + 1)]
        return pages, [dict(i, path=folder / i["file"]) for i in items]
    folder = DATA / "manuals-qa" / "corpus"
    items = [json.loads(line) for line in (DATA / "manuals-qa" / "qa.jsonl").open(encoding="utf-8")]
    items = [
        dict(i, file=i["source"], path=folder / i["source"])
        for i in items
        if i.get("page") and i["source"].endswith(".pdf")
    ]
    wanted = {(i["path"], i["page"]) for i in items}
    for pdf in sorted(folder.glob("*.pdf")):
        wanted |= {(pdf, n) for n in range(1, len(read_pdf(pdf).pages) + 1, stride)}
    return sorted(wanted), items


def page_file(path: Path, number: int) -> str:
    return f"{path.stem}-p{number:03d}.txt"


def hit_at_5(texts: dict[tuple[Path, int], str], items: list[dict], home: Path, name: str) -> float:
    from rag.api import open_retriever, opened_index, run_ingest
    from rag.settings import load_settings

    docs = home / name
    docs.mkdir()
    for (path, number), text in texts.items():
        if text.strip():
            (docs / page_file(path, number)).write_text(text, encoding="utf-8")
    settings = load_settings({"index_dir": str(home / "indexes"), "index": name})
    run_ingest(settings, [str(docs)])
    hits = 0
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        for item in items:
            found = retriever.retrieve(item["question"], 5).hits
            hits += any(Path(h.source).name == page_file(item["path"], item["page"]) for h in found)
    return hits / len(items)


def main() -> None:
    from rapidfuzz.distance import Levenshtein

    parser = argparse.ArgumentParser()
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument(
        "--stride", type=int, default=12, help="every Nth page of each English manual, besides the gold pages"
    )
    parser.add_argument("--languages", default="he,en")
    args = parser.parse_args()
    print(
        "| pages | language | CER (OCR vs text layer) | hit@5 text layer | hit@5 OCR only | OCR pages/s | text-layer pages/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for language in args.languages.split(","):
        pages, items = pages_of(language, args.stride)
        started = time.perf_counter()
        layer = {}
        for pdf in sorted({p for p, _ in pages}):
            read = read_pdf(pdf)
            for path, number in pages:
                if path == pdf:
                    layer[(path, number)] = read.pages[number - 1] or ""
        layer_rate = len(pages) / (time.perf_counter() - started)
        started = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            read_back = list(pool.map(render_and_read, [(str(p), n, args.dpi) for p, n in pages]))
        ocr_rate = len(pages) / (time.perf_counter() - started)
        ocr = dict(zip(pages, read_back))
        errors = sum(Levenshtein.distance(squash(ocr[k]), squash(layer[k])) for k in pages)
        chars = sum(len(squash(layer[k])) for k in pages)
        with tempfile.TemporaryDirectory(prefix="rag-ocr-bench-") as home:
            text_hit = hit_at_5(layer, items, Path(home), f"{language}-layer")
            ocr_hit = hit_at_5(ocr, items, Path(home), f"{language}-ocr")
        print(
            f"| {len(pages)} | {language} ({len(items)} questions) | {errors / chars:.3f} | {text_hit:.3f} | {ocr_hit:.3f} | {ocr_rate:.2f} | {layer_rate:.0f} |"
        )


if __name__ == "__main__":
    main()

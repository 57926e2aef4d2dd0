"""Mixed-language folders: which embedder serves a folder that is mostly English with some Hebrew,
and at what share of Hebrew documents `rag ingest` should choose the multilingual one.

A folder built from the shared data: the manuals-qa corpus (3 PDF manuals and 61 SQLite HTML
pages) with k of the seven Hebrew PDFs of hebrew-pdf added (k = 1, 3, 7; the folder grows and
is re-synced, as a user's would), indexed once with each embedder (the English MiniLM, the
multilingual e5); and the Hebrew PDFs alone (the all-Hebrew baseline). For each: the Hebrew
questions' page hit@5 (hebrew-pdf's questions whose PDF is in the folder), the English
questions' page hit@5 (manuals-qa), the share of the folder's letters that are not Latin, the
share of its documents that are mostly Hebrew, and what `rag ingest` chooses for that folder
as a new index (rag.api.embedder_choice over the documents its sample would read).

    .venv/bin/python bench/mixed.py
    .venv/bin/python bench/mixed.py --leave-out gnuplot.pdf bash.pdf   # a smaller English part (minutes, not an hour)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from ingest.loaders import load_document
from ingest.pipeline import SAMPLE_CHARACTERS, SAMPLE_DOCUMENTS, spread_first
from rag.api import embedder_choice, open_retriever, opened_index, run_ingest, script_shares
from rag.evaluate import is_the_place, load_qa_jsonl
from rag.settings import load_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HEBREW = DATA / "hebrew-pdf"
MANUALS = DATA / "manuals-qa"
EMBEDDERS = ("minilm-int8", "multilingual")


def hit_at_5(settings, items) -> float:
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        hits = [any(is_the_place(h.source, h.page, item) for h in retriever.search(item.question, 5)) for item in items]
    return sum(hits) / max(1, len(hits))


def in_folder(item, names: set[str]) -> bool:
    return any(item.source.endswith(n) or n.endswith(item.source) for n in names)


def auto_choice(files: list[Path], texts: dict[Path, str]) -> str:
    """What a new index over ``files`` is built with: the documents the pipeline's sample holds
    (spread over the folder in path order, up to its count or characters), then the rule."""
    sample, characters = [], 0
    for path in spread_first(sorted(files, key=str), SAMPLE_DOCUMENTS):
        sample.append(texts[path])
        characters += len(texts[path])
        if len(sample) >= SAMPLE_DOCUMENTS or characters >= SAMPLE_CHARACTERS:
            break
    return embedder_choice(sample, "minilm-int8")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leave-out", nargs="*", default=[], help="manuals-qa files to leave out of the folder")
    args = parser.parse_args()
    hebrew_items = [i for i in load_qa_jsonl(HEBREW / "qa.jsonl") if not i.impossible and i.source]
    manuals = sorted(p for p in (MANUALS / "corpus").iterdir() if p.name not in args.leave_out)
    english_items = [
        i
        for i in load_qa_jsonl(MANUALS / "qa.jsonl")
        if not i.impossible and i.source and in_folder(i, {p.name for p in manuals})
    ]
    pdfs = sorted((HEBREW / "pdfs").glob("*.pdf"))
    # the PDFs that hold the most questions first: k = 1 and 3 keep as many questions as they can
    pdfs.sort(key=lambda p: -sum(in_folder(i, {p.name}) for i in hebrew_items))
    texts = {}
    for path in pdfs + manuals:
        document = load_document(path)
        texts[path] = "\n".join(b.text for b in document.blocks)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-mixed-") as tmp:
        for embedder in EMBEDDERS:
            for k in (1, 3, 7, "hebrew only"):
                chosen = pdfs if k == "hebrew only" else pdfs[:k]
                folder = Path(tmp) / f"{embedder}-{'hebrew' if k == 'hebrew only' else 'mixed'}"
                folder.mkdir(exist_ok=True)
                for pdf in chosen:
                    if not (folder / pdf.name).exists():
                        os.link(pdf, folder / pdf.name)
                if k != "hebrew only" and k == 1:
                    for file in manuals:
                        os.link(file, folder / file.name)
                files = sorted(folder.iterdir())
                settings = load_settings({"index_dir": str(Path(tmp) / "indexes"), "embedder": embedder})
                settings.index = folder.name
                run_ingest(settings, [str(folder)])
                names = {p.name for p in chosen}
                hebrew = [i for i in hebrew_items if in_folder(i, names)]
                originals = [p for p in pdfs + manuals if p.name in {f.name for f in files}]
                letters, documents = script_shares([texts[p] for p in originals])
                row = {
                    "hebrew PDFs": k,
                    "files": len(files),
                    "embedder": embedder,
                    "non-Latin letters": round(letters, 3),
                    "mostly-Hebrew documents": round(documents, 3),
                    "auto chooses": auto_choice(originals, {p: texts[p] for p in originals}),
                    "Hebrew questions": len(hebrew),
                    "Hebrew hit@5": round(hit_at_5(settings, hebrew), 3),
                    "English hit@5": round(hit_at_5(settings, english_items), 3) if k != "hebrew only" else None,
                }
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    print(
        "\n| Hebrew PDFs (files) | non-Latin letters | mostly-Hebrew documents | auto chooses | embedder "
        "| Hebrew hit@5 (questions) | English hit@5 |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (str(r["hebrew PDFs"]), r["embedder"])):
        english = "-" if r["English hit@5"] is None else f"{r['English hit@5']:.3f}"
        print(
            f"| {r['hebrew PDFs']} ({r['files']}) | {r['non-Latin letters']:.3f} | {r['mostly-Hebrew documents']:.3f} "
            f"| {r['auto chooses']} | {r['embedder']} | {r['Hebrew hit@5']:.3f} ({r['Hebrew questions']}) | {english} |"
        )


if __name__ == "__main__":
    main()

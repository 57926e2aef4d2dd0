"""Mixed-language folders: which embedder serves a folder that is mostly English with some Hebrew?

Folders built from the shared data, each indexed twice (the English MiniLM, the multilingual
e5): the manuals-qa corpus (3 PDF manuals and 61 SQLite HTML pages) with k of the seven Hebrew
PDFs of hebrew-pdf added (k = 1, 3, 7), and the Hebrew PDFs alone (the all-Hebrew baseline).
For each: the Hebrew questions' page hit@5 (hebrew-pdf's questions whose PDF is in the folder),
the English questions' page hit@5 (manuals-qa), and the share of the folder's letters that are
not Latin, which `rag ingest` reads to choose.

    .venv/bin/python bench/mixed.py
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rag.api import open_retriever, opened_index, run_ingest
from rag.evaluate import is_the_place, load_qa_jsonl
from rag.settings import load_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HEBREW = DATA / "hebrew-pdf"
MANUALS = DATA / "manuals-qa"


def hit_at_5(settings, items) -> float:
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        hits = [any(is_the_place(h.source, h.page, item) for h in retriever.search(item.question, 5)) for item in items]
    return sum(hits) / max(1, len(hits))


def letters_share(report) -> float:
    return report.non_latin_share


def main() -> None:
    hebrew_items = [i for i in load_qa_jsonl(HEBREW / "qa.jsonl") if not i.impossible and i.source]
    english_items = [i for i in load_qa_jsonl(MANUALS / "qa.jsonl") if not i.impossible and i.source]
    pdfs = sorted((HEBREW / "pdfs").glob("*.pdf"))
    # the PDFs that hold the most questions first: k = 1 and 3 keep as many questions as they can
    pdfs.sort(key=lambda p: -sum(1 for i in hebrew_items if p.name.endswith(i.source) or i.source.endswith(p.name)))
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-mixed-") as tmp:
        for k in (1, 3, 7, "hebrew only"):
            folder = Path(tmp) / f"folder-{k}"
            folder.mkdir()
            chosen = pdfs if k == "hebrew only" else pdfs[:k]
            for pdf in chosen:
                os.link(pdf, folder / pdf.name)
            if k != "hebrew only":
                for file in (MANUALS / "corpus").iterdir():
                    os.link(file, folder / file.name)
            names = {p.name for p in chosen}
            hebrew = [i for i in hebrew_items if any(i.source.endswith(n) or n.endswith(i.source) for n in names)]
            for embedder in ("minilm-int8", "multilingual"):
                settings = load_settings({"index_dir": str(Path(tmp) / "indexes"), "embedder": embedder})
                settings.index = f"k{k}-{embedder}".replace(" ", "-")
                report = run_ingest(settings, [str(folder)])
                row = {
                    "hebrew PDFs": k,
                    "embedder": embedder,
                    "non-Latin share of letters": round(letters_share(report), 3),
                    "Hebrew questions": len(hebrew),
                    "Hebrew hit@5": round(hit_at_5(settings, hebrew), 3),
                    "English hit@5": round(hit_at_5(settings, english_items), 3) if k != "hebrew only" else None,
                }
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
            shutil.rmtree(folder)
    print("\n| Hebrew PDFs in the folder | embedder | non-Latin share | Hebrew hit@5 (questions) | English hit@5 |")
    print("|---|---|---|---|---|")
    for r in rows:
        english = "-" if r["English hit@5"] is None else f"{r['English hit@5']:.3f}"
        print(
            f"| {r['hebrew PDFs']} | {r['embedder']} | {r['non-Latin share of letters']:.3f} | "
            f"{r['Hebrew hit@5']:.3f} ({r['Hebrew questions']}) | {english} |"
        )


if __name__ == "__main__":
    main()

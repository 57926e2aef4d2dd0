"""Calibrate the relevance floor: below it, `rag ask` answers "the documents do not contain
an answer" without running the model.

Indexes the paragraphs of every other article of a SQuAD-format set; questions about the
indexed articles should pass the floor, questions about the left-out articles should not.
Prints, for a range of floors, the share of left-out questions that abstain and the share of
indexed ones that wrongly do.

    .venv/bin/python bench/abstain.py                                  # XQuAD-en, MiniLM
    .venv/bin/python bench/abstain.py --embedder multilingual --data heq-val/val_v1.1.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.api import open_index, open_retriever, run_ingest  # noqa: E402
from rag.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--data", default="xquad-en/xquad.en.json")
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()
    file = ROOT.parent / "shared" / "data" / args.data
    data = json.loads(file.read_text(encoding="utf-8"))["data"]
    settings = load_settings({"embedder": args.embedder, "index": f"bench-abstain-{file.parent.name}-{args.embedder}"})
    folder = settings.cache_path / "bench" / f"abstain-{file.parent.name}"
    folder.mkdir(parents=True, exist_ok=True)
    present, absent = [], []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            questions = [q["question"] for q in paragraph["qas"] if q.get("answers") and not q.get("is_impossible")]
            if a % 2 == 0:
                path = folder / f"{a:04d}-{p:03d}.md"
                text = f"# {article.get('title', '')}\n\n{paragraph['context']}\n"
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    path.write_text(text, encoding="utf-8")
                present.extend(questions)
            else:
                absent.extend(questions)
    run_ingest(settings, [str(folder)])
    index = open_index(settings)
    retriever = open_retriever(settings, index)
    step_p = max(1, len(present) // args.questions)
    step_a = max(1, len(absent) // args.questions)
    best_present = [retriever.retrieve(q, 1).best_dense for q in present[::step_p]]
    best_absent = [retriever.retrieve(q, 1).best_dense for q in absent[::step_a]]
    index.close()
    print(f"{args.data}, {args.embedder}: {len(best_present)} questions on indexed articles, {len(best_absent)} on left-out ones")
    print("| floor | left-out questions that abstain | indexed questions that abstain |")
    print("|---|---|---|")
    low, high = np.percentile(best_absent + best_present, [2, 98])
    for floor in np.round(np.linspace(low, high, 15), 3):
        print(f"| {floor:.3f} | {np.mean(np.array(best_absent) < floor):.2%} | {np.mean(np.array(best_present) < floor):.2%} |")


if __name__ == "__main__":
    main()

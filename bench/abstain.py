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
from pathlib import Path

import numpy as np

from rag.api import open_index, open_retriever, run_ingest
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--data", default="xquad-en/xquad.en.json")
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--answers", type=int, default=0, help="also run `rag ask` end to end on this many of each")
    args = parser.parse_args()
    file = ROOT.parent / "shared" / "data" / args.data
    data = json.loads(file.read_text(encoding="utf-8"))["data"]
    settings = load_settings({"embedder": args.embedder, "index": f"bench-abstain-{file.parent.name}-{args.embedder}"})
    folder = settings.cache_path / "bench" / f"abstain-{file.parent.name}"
    folder.mkdir(parents=True, exist_ok=True)
    present, absent = [], []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            questions = [
                (q["question"], [a["text"] for a in q["answers"]])
                for q in paragraph["qas"]
                if q.get("answers") and not q.get("is_impossible")
            ]
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
    best_present = [retriever.retrieve(q, 1).best_dense for q, _ in present[::step_p]]
    best_absent = [retriever.retrieve(q, 1).best_dense for q, _ in absent[::step_a]]
    print(
        f"{args.data}, {args.embedder}: {len(best_present)} questions on indexed articles, {len(best_absent)} on left-out ones"
    )
    print("| floor | left-out questions that abstain | indexed questions that abstain |")
    print("|---|---|---|")
    low, high = np.percentile(best_absent + best_present, [2, 98])
    for floor in np.round(np.linspace(low, high, 15), 3):
        print(
            f"| {floor:.3f} | {np.mean(np.array(best_absent) < floor):.2%} | {np.mean(np.array(best_present) < floor):.2%} |"
        )
    if args.answers:
        end_to_end(settings, index, present, absent, args.answers)
    index.close()


def end_to_end(settings, index, present, absent, n: int) -> None:
    """The engine as `rag ask` runs it (gate, model, decline detection) on n questions of each kind."""
    from rag.api import build_engine
    from rag.evaluate import contains_answer

    engine = build_engine(settings, index)
    spread = lambda items: items[:: max(1, len(items) // n)][:n]  # noqa: E731
    gate = model = 0
    for question, _ in spread(absent):
        answer = engine.ask(question)
        gate += answer.abstain_reason == "no relevant passage"
        model += answer.abstained and answer.abstain_reason != "no relevant passage"
    correct = wrongly = 0
    for question, golds in spread(present):
        answer = engine.ask(question)
        wrongly += answer.abstained
        correct += not answer.abstained and contains_answer(answer.answer, golds)
    print(
        f"end to end, {n} left-out questions: {(gate + model) / n:.0%} abstain "
        f"({gate / n:.0%} at the relevance floor, {model / n:.0%} by the model's own reply)"
    )
    print(f"end to end, {n} indexed questions: accuracy {correct / n:.0%}, {wrongly / n:.0%} wrongly abstain")


if __name__ == "__main__":
    main()

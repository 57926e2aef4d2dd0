"""The model's ceiling on manuals-qa: answers when the context is the gold place itself.

Each answerable question gets one passage: ``--window`` characters of its gold page's text (the
page and its neighbours, from the evaluation index's chunks) centred on the first gold span, so
the answer is always in the context and nothing else competes with it. The same 1.5B answers
through rag's prompt (the passage numbered and labelled, the system prompt) or the naive prompt.
What it scores is the most any retrieval and context selection could reach with this model;
`bench/answer.py` measures what rag reaches.

    .venv/bin/python bench/ceiling.py                    # rag's prompt, 1,000 characters
    .venv/bin/python bench/ceiling.py --prompt naive --window 1000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from answer import NAIVE_PROMPT  # bench/answer.py, beside this script

from rag.api import build_engine, opened_index, run_ingest
from rag.evaluate import contains_answer, eval_index_name, load_qa_jsonl
from rag.prompt import Passage, build_messages, declines
from rag.settings import load_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "manuals-qa"


def gold_window(text: str, answers: list[str], width: int) -> str | None:
    """Pure: ``width`` characters of ``text`` (whitespace collapsed) centred on the first answer
    found in it (case ignored), or None when no answer is in the text."""
    flat = re.sub(r"\s+", " ", text)
    lowered = flat.lower()
    for answer in answers:
        at = lowered.find(re.sub(r"\s+", " ", answer).lower())
        if at >= 0:
            start = max(0, at - width // 2)
            return flat[start : start + width]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=1000, help="characters of the gold page around the answer")
    parser.add_argument("--prompt", choices=["rag", "naive"], default="rag")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    qa = DATA / "qa.jsonl"
    if not qa.exists():
        sys.exit(f"{qa} is missing: this benchmark reads the shared data sets")
    settings = load_settings({})
    settings.index = eval_index_name(qa, settings.embedder)
    run_ingest(settings, [str(DATA / "corpus")])
    items = [item for item in load_qa_jsonl(qa) if not item.impossible]
    rows = []
    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        paths = {Path(p).name: p for p in index.catalog.files()}
        for n, item in enumerate(items, 1):
            chunks = index.catalog.chunks_of(paths[item.source])
            if item.page is not None:
                chunks = [c for c in chunks if c.page is not None and abs(c.page - item.page) <= 1]
            context = gold_window(" ".join(c.text for c in chunks), item.answers, args.window)
            if context is None:
                print(f"{item.id}: no gold span in the indexed text of its page", file=sys.stderr)
                continue
            if args.prompt == "rag":
                messages = build_messages(item.question, [Passage(1, item.source, item.page, "", context)])
            else:
                messages = [{"role": "user", "content": NAIVE_PROMPT.format(context=context, question=item.question)}]
            generator = engine.generator_for(item.question)
            answer = "".join(generator.stream(messages, max_tokens=args.max_tokens)).strip()
            correct = not declines(answer) and contains_answer(answer, item.answers, hebrew_prefixes=True)
            rows.append({"id": item.id, "correct": correct, "answer": answer})
            print(f"\r{n}/{len(items)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    right = sum(r["correct"] for r in rows)
    print(
        f"{settings.model}, manuals-qa: the gold place as the only passage ({args.window} characters), "
        f"{args.prompt} prompt: {right}/{len(rows)} correct = {right / max(1, len(rows)):.3f}"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()

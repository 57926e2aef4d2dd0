"""How much context can the prompt lose before the answer falls out of it?

For a sample of answerable questions of a SQuAD-format set, retrieves the passages `rag ask`
would give the model, cuts them to several token budgets as `rag ask` does
(rag.context.fit_context), and prints the share of questions whose gold answer is still in the
context, with the mean context size, labels included, in tokens of the bundled chat model.
No model is run.

    .venv/bin/python bench/context.py                        # XQuAD-en, the default embedder
    .venv/bin/python bench/context.py --data heq-val/val_v1.1.json --embedder multilingual
    .venv/bin/python bench/context.py --data manuals-qa/qa.jsonl --budgets 150,250,350,500,0
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rag.api import open_retriever, opened_index, run_ingest
from rag.context import fit_context
from rag.engine import passages_from, sentence_similarity
from rag.evaluate import contains_answer, eval_index_name, load_qa_jsonl, load_squad, sample, workspace
from rag.models import resolve_model
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def remembered(similarity):
    """``similarity`` that embeds each sentence once for all budgets."""
    seen: dict[str, float] = {}

    def similar(texts: list[str]) -> list[float]:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, similarity(new)))
        return [seen[t] for t in texts]

    return similar


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="xquad-en/xquad.en.json")
    parser.add_argument("--embedder", default=None, help="default: the setting")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--budgets", default="70,100,120,150,200,0")
    parser.add_argument("--lexical-only", action="store_true", help="score sentences by shared words only")
    args = parser.parse_args()
    source = ROOT.parent / "shared" / "data" / args.data
    settings = load_settings({"embedder": args.embedder} if args.embedder else {})
    settings.index = eval_index_name(source, settings.embedder)
    if source.suffix == ".jsonl":  # a folder of documents with qa.jsonl beside its corpus/
        documents, items = source.parent / "corpus", load_qa_jsonl(source)
    else:
        documents, items = load_squad(source, workspace(settings.cache_path, source))
    run_ingest(settings, [str(documents)])
    items = sample([i for i in items if not i.impossible], args.questions)

    from llama_cpp import Llama

    vocab = Llama(model_path=str(resolve_model(settings.model, settings.cache_path)), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False))

    budgets = [int(b) for b in args.budgets.split(",")]
    found = {b: 0 for b in budgets}
    sizes: dict[int, list[int]] = {b: [] for b in budgets}
    with opened_index(settings) as index:
        retriever = open_retriever(settings, index)
        for item in items:
            retrieval = retriever.retrieve(item.question, settings.top_k)
            passages = passages_from(retriever.with_neighbours(item.question, retrieval.hits))
            similar = (
                None
                if args.lexical_only
                else remembered(sentence_similarity(retriever.embedder, retrieval.query_vector))
            )
            for b in budgets:
                kept = fit_context(item.question, passages, count, b, similar)
                found[b] += any(contains_answer(p.text, item.answers) for p in kept)
                sizes[b].append(sum(count(p.label() + p.text) for p in kept))
    print(f"{args.data}, {settings.embedder}, top {settings.top_k}, {len(items)} answerable questions")
    print(f"{'budget':>8} {'answer in context':>18} {'mean tokens':>12}")
    for b in budgets:
        print(f"{b or 'all':>8} {found[b] / len(items):>18.3f} {statistics.fmean(sizes[b]):>12.0f}")


if __name__ == "__main__":
    main()

"""What a batch of tokens costs the chat model against one step, on this CPU: the price that
prompt-lookup and speculative decoding pay to check k proposed tokens at once. Drafting pays
only where tokens accepted per batch exceed the batch's cost in single steps.

    python bench/batch_cost.py [--model qwen2.5-coder-1.5b] [--context 500] [--rounds 6]

The context is read first (as the passages are), then each batch of k tokens is evaluated
after it, the cache cut back to the context each time; the median of ``--rounds`` per k, the
best of two passes. Prints the CPU, each k's milliseconds and its ratio to one step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--context", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from cold_ask import cpu

    from rag.llama_runtime import import_llama
    from rag.models import resolve_model
    from rag.settings import load_settings

    import_llama()
    from llama_cpp import Llama

    path = resolve_model(args.model, load_settings({}).cache_path)
    llm = Llama(
        model_path=str(path),
        n_ctx=4096,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_batch=512,
        verbose=False,
    )
    text = "Boil water for one minute; above 2000 metres boil it for three minutes. " * 100
    tokens = llm.tokenize(text.encode())[: args.context]
    llm.eval(tokens)
    base = llm.n_tokens
    cost: dict[int, float] = {}
    for _ in range(2):
        for k in (1, 2, 3, 5, 9):
            times = []
            for _ in range(args.rounds):
                llm.n_tokens = base  # the next eval overwrites the batch's cells
                started = time.perf_counter()
                llm.eval(tokens[100 : 100 + k])
                times.append(time.perf_counter() - started)
            cost[k] = min(cost.get(k, float("inf")), statistics.median(times))
    print(f"cpu: {cpu()}; {path.name}, {args.threads} threads, after {len(tokens)} context tokens")
    for k, seconds in cost.items():
        print(f"batch of {k}: {seconds * 1000:6.1f} ms  {seconds / cost[1]:.2f}x one step")


if __name__ == "__main__":
    main()

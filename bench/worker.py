"""What the model's own process (rag.worker) costs per answer, against the model in-process.

The same model, the same messages, greedy: each round asks both (alternating, so a host that
slows down slows both) for the answerable check's P(yes) and a streamed answer, and times the
first piece and the whole. Both are loaded before the rounds start; loading itself overlaps
the retrieval in the worker's case and is not what is measured here.

    .venv/bin/python bench/worker.py [--model qwen2.5-coder-1.5b] [--rounds 5] [--tokens 48]
"""

from __future__ import annotations

import argparse
import statistics
import time

PASSAGE = (
    "Water treatment for field teams. Boil water for one minute. Above 2000 metres, boil it for "
    "three minutes. Chemical tablets take thirty minutes to act and longer in cold water. "
) * 6


def ask(generator, tokens: int, lead: str = "") -> dict:
    messages = [
        {"role": "system", "content": "Answer from the passages only."},
        {
            "role": "user",
            "content": f"Passages:\n{lead}{PASSAGE}\n\nQuestion: How long should water be boiled up high?",
        },
    ]
    started = time.perf_counter()
    generator.yes_probability(messages)
    checked = time.perf_counter()
    first = None
    for _ in generator.stream(messages, max_tokens=tokens):
        first = first or time.perf_counter()
    done = time.perf_counter()
    return {"check_s": checked - started, "first_s": first - started, "total_s": done - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from rag.generator import LlamaCppGenerator
    from rag.llama_runtime import cpu_flags, cpu_model
    from rag.models import resolve_model
    from rag.settings import load_settings
    from rag.worker import ModelWorker

    path = resolve_model(args.model, load_settings().cache_path)
    flags = [f for f in ("amx_tile", "avx512f", "avx2") if f in cpu_flags()]
    print(f"CPU: {cpu_model()} ({', '.join(flags)}); model {path.name}; {args.threads} threads")
    systems = {
        "in-process": LlamaCppGenerator(path, threads=args.threads, context_tokens=4096),
        "worker": ModelWorker(path, threads=args.threads, context_tokens=4096),
    }
    for generator in systems.values():
        ask(generator, 4)  # loaded and warm
    rows: dict[str, list[dict]] = {name: [] for name in systems}
    for round_ in range(args.rounds):
        for name, generator in systems.items():
            # a new passage text each round for both: the passages are read, not taken from the cache
            row = ask(generator, args.tokens, f"Team {round_ + 1}. ")
            rows[name].append(row)
            print(f"round {round_ + 1} {name:<10} " + " ".join(f"{k} {v:.3f}" for k, v in row.items()))
    systems["worker"].close()
    print("\n| | check s | first piece s | whole answer s |\n|---|---|---|---|")
    medians = {n: {k: statistics.median(r[k] for r in found) for k in found[0]} for n, found in rows.items()}
    for name, m in medians.items():
        print(f"| {name} | {m['check_s']:.3f} | {m['first_s']:.3f} | {m['total_s']:.3f} |")
    w, i = medians["worker"], medians["in-process"]
    print(
        f"| worker - in-process | {w['check_s'] - i['check_s']:+.3f} | {w['first_s'] - i['first_s']:+.3f} | "
        f"{w['total_s'] - i['total_s']:+.3f} ({w['total_s'] / i['total_s']:.3f}x) |"
    )


if __name__ == "__main__":
    main()

"""Answer speed and accuracy: `rag ask` against the naive prompt a user would otherwise write.

Over a fixed sample of answerable XQuAD-en questions (the paragraphs indexed by
`rag eval qa`), with one model loaded once and warmed by one untimed question:

- rag:   the engine as `rag ask` runs it (relevance gate, neighbours, context budget,
         grounded prompt with cached system prefix, citation filter);
- naive: the same top-5 passages, each widened to 1,000 characters of its file, pasted into
         one prompt under a plain instruction.

Prints per system the median prompt tokens, time to first token (retrieval included),
generation tokens/s, total time, and answer accuracy (a gold answer inside the normalised
answer), then the ratios. Same model, same run, same questions.

    .venv/bin/python bench/answer.py                     # default model, 30 questions
    .venv/bin/python bench/answer.py --model qwen2.5-coder-0.5b --questions 40 --budget 160
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.api import build_engine, opened_index, run_ingest  # noqa: E402
from rag.evaluate import contains_answer, eval_index_name, load_squad, sample, workspace  # noqa: E402
from rag.settings import load_settings  # noqa: E402

NAIVE_CHARS = 1000
NAIVE_PROMPT = "Answer the question using the context below.\n\nContext:\n{context}\n\nQuestion: {question}\nAnswer:"


def widen(source: str, text: str, chars: int = NAIVE_CHARS) -> str:
    """``chars`` characters of the source file starting where the passage starts."""
    try:
        raw = Path(source).read_text(encoding="utf-8")
    except OSError:
        return text[:chars]
    at = raw.find(text[:60])
    return raw[at : at + chars] if at >= 0 else text[:chars]


def naive_answer(engine, question: str) -> dict:
    started = time.perf_counter()
    hits = engine.retriever.retrieve(question, 5).hits
    context = "\n\n".join(widen(h.source, h.text) for h in hits)
    messages = [{"role": "user", "content": NAIVE_PROMPT.format(context=context, question=question)}]
    generator = engine.generator
    tokens, first, pieces = 0, None, []
    for piece in generator.stream(messages, max_tokens=engine.max_answer_tokens):
        tokens += 1
        first = first or time.perf_counter()
        pieces.append(piece)
    finished = time.perf_counter()
    first = first or finished
    return {
        "answer": "".join(pieces).strip(),
        "prompt_tokens": generator.count_tokens(messages),
        "ttft_ms": (first - started) * 1000,
        "tokens_per_s": (tokens - 1) / (finished - first) if tokens > 1 and finished > first else None,
        "total_ms": (finished - started) * 1000,
    }


def rag_answer(engine, question: str) -> dict:
    answer = engine.ask(question)
    t = answer.timings
    return {
        "answer": answer.answer if not answer.abstained else "",
        "prompt_tokens": t.get("prompt_tokens"),
        "ttft_ms": t.get("ttft_ms"),
        "tokens_per_s": t.get("tokens_per_s"),
        "total_ms": t.get("total_ms"),
        "cited": bool(answer.cited),
    }


def cold_runs(runs: int, question: str = "How long should water be boiled at high altitude?") -> None:
    """Process start to the first character of the answer, for `rag ask` in a new process each time
    (the demo index: `make demo` builds it)."""
    import subprocess

    rag = str(ROOT / ".venv" / "bin" / "rag")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen([rag, "ask", question, "--index", "demo"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
        first = process.stdout.read(1)
        times.append(time.perf_counter() - started)
        process.stdout.read()
        process.wait()
        assert first, "no answer"
    print(f"cold rag ask, process start to first answer character: median {statistics.median(times):.1f} s "
          f"over {runs} runs ({', '.join(f'{t:.1f}' for t in times)})")


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="xquad-en/xquad.en.json")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--model", default=None)
    parser.add_argument("--budget", type=int, default=None, help="context budget for rag (default: the setting)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--json", dest="json_out", default=None, help="write per-question rows here")
    parser.add_argument("--cold", type=int, default=0, help="only time N cold `rag ask` processes on the demo index")
    args = parser.parse_args()
    if args.cold:
        cold_runs(args.cold)
        return
    source = ROOT.parent / "shared" / "data" / args.data
    flags = {"model": args.model, "context_budget": args.budget}
    settings = load_settings({k: v for k, v in flags.items() if v is not None})
    settings.index = eval_index_name(source, settings.embedder)
    documents, items = load_squad(source, workspace(settings.cache_path, source))
    run_ingest(settings, [str(documents)])
    items = sample([i for i in items if not i.impossible], args.questions + 1)
    warm, items = items[0], items[1:]

    systems = {"rag": rag_answer} if args.skip_naive else {"rag": rag_answer, "naive": naive_answer}
    rows: dict[str, list[dict]] = {name: [] for name in systems}
    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        for name, run in systems.items():  # one system at a time: each keeps its fixed prefix cached
            run(engine, warm.question)  # untimed: loads the model, caches the prefix
            for n, item in enumerate(items, 1):
                row = run(engine, item.question)
                row["correct"] = bool(row["answer"]) and contains_answer(row["answer"], item.answers)
                row["question"] = item.question
                rows[name].append(row)
                print(f"\r{name} {n}/{len(items)}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)

    print(f"{settings.model}, {len(items)} XQuAD-en questions, context budget {settings.context_budget}, "
          f"{settings.effective_threads()} threads")
    print(f"{'system':<8}{'prompt tok':>11}{'TTFT s':>9}{'tok/s':>8}{'total s':>9}{'accuracy':>10}")
    summary = {}
    for name, got in rows.items():
        summary[name] = {
            "prompt_tokens": median(got, "prompt_tokens"),
            "ttft_s": median(got, "ttft_ms") / 1000,
            "tokens_per_s": median(got, "tokens_per_s"),
            "total_s": median(got, "total_ms") / 1000,
            "accuracy": sum(r["correct"] for r in got) / len(got),
        }
        s = summary[name]
        print(f"{name:<8}{s['prompt_tokens']:>11.0f}{s['ttft_s']:>9.2f}{s['tokens_per_s'] or 0:>8.1f}"
              f"{s['total_s']:>9.2f}{s['accuracy']:>10.3f}")
    answered = [r for r in rows["rag"] if r["answer"]]
    print(f"rag answers that cite a passage: {sum(r['cited'] for r in answered)}/{len(answered)} "
          f"(correct and cited: {sum(r['cited'] and r['correct'] for r in answered)})")
    if "naive" in summary:
        r, n = summary["rag"], summary["naive"]
        print(f"ratio naive/rag: prompt tokens {n['prompt_tokens'] / r['prompt_tokens']:.1f}x, "
              f"TTFT {n['ttft_s'] / r['ttft_s']:.1f}x, total {n['total_s'] / r['total_s']:.1f}x; "
              f"accuracy rag {r['accuracy']:.3f} vs naive {n['accuracy']:.3f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

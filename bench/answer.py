"""Answers: `rag ask` against the naive recipe a user would otherwise write, same model, same run.

Sets (read from ../shared/data/, never copied into the project):

- manuals (default): real software manuals (PDF + HTML) with practitioners' questions, 60 that
  the manuals answer and 15 that they do not (manuals-qa/qa.jsonl);
- xquad: XQuAD-en, Wikipedia paragraphs with one-fact questions (regression check);
- heq: HeQ validation, Hebrew, with unanswerable questions (regression check; multilingual index).
- cross: a mixed folder (the Hebrew PDFs of hebrew-pdf and the SQLite pages of manuals-qa), asked
  across languages: their questions translated (by us, bench/data/cross_language.jsonl), English
  over the Hebrew PDFs and Hebrew over the English pages.

Systems, one model loaded once and warmed by one untimed question each:

- rag:   the engine as `rag ask` runs it;
- naive: the same top-5 passages, each widened to 1,000 characters of its file (the following
         chunks), pasted into one prompt under a plain instruction. It abstains only when the
         model's own words say the context lacks the answer.

Prints per system: accuracy (a gold span inside the answer, on answerable questions),
abstention on unanswerable questions, false abstention on answerable ones, answers that paste
a passage back (a run of 25+ words copied) or run past 3 sentences, median prompt tokens, time
to first token (retrieval included) and, for rag, time to the evidence sentence.

    .venv/bin/python bench/answer.py                               # manuals-qa, all 75 questions
    .venv/bin/python bench/answer.py --set xquad --questions 30
    .venv/bin/python bench/answer.py --set heq --questions 40 --skip-naive
    .venv/bin/python bench/answer.py --cold 3                      # cold `rag ask` on the demo index
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from ingest.chunker import sentence_spans

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rag.api import build_engine, opened_index, run_ingest
from rag.evaluate import (
    contains_answer,
    eval_index_name,
    load_qa_jsonl,
    load_squad,
    sample,
    workspace,
)
from rag.prompt import declines
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT.parent / "shared" / "data"
SETS = {
    "manuals": ("manuals-qa/qa.jsonl", None),
    "xquad": ("xquad-en/xquad.en.json", None),
    "heq": ("heq-val/val_v1.1.json", "multilingual"),
    "hebrew-pdf": ("hebrew-pdf/qa.jsonl", "multilingual"),
    "cross": ("", "multilingual"),
}
CROSS = ROOT / "bench" / "data" / "cross_language.jsonl"
CROSS_FILES = [("hebrew-pdf/pdfs", "*.pdf"), ("manuals-qa/corpus", "sqlite3__*.html")]
FOLDERS = {"manuals": "corpus", "hebrew-pdf": "pdfs"}
"""Sets that are a folder of documents with a qa.jsonl beside it (the rest are SQuAD files)."""
NAIVE_CHARS = 1000
NAIVE_PROMPT = "Answer the question using the context below.\n\nContext:\n{context}\n\nQuestion: {question}\nAnswer:"
PASTE_WORDS = 25


def widen(index, hit, chars: int = NAIVE_CHARS) -> str:
    """``chars`` characters of the hit's file from where the hit starts (its following chunks)."""
    from rag.retriever import join_spans

    chunk = index.catalog.get_chunks([hit.id]).get(hit.id)
    if chunk is None:
        return hit.text[:chars]
    while len(chunk.text) < chars:
        nxt = index.catalog.neighbour(chunk, 1)
        if nxt is None:
            break
        chunk = chunk.__class__(
            **{**chunk.__dict__, "text": join_spans(chunk, nxt), "end": nxt.end, "ordinal": nxt.ordinal}
        )
    return chunk.text[:chars]


def naive_answer(engine, question: str) -> dict:
    started = time.perf_counter()
    hits = engine.retriever.retrieve(question, 5).hits
    context = "\n\n".join(widen(engine.retriever.index, h) for h in hits)
    messages = [{"role": "user", "content": NAIVE_PROMPT.format(context=context, question=question)}]
    generator = engine.generator_for(question)
    tokens, first, pieces = 0, None, []
    for piece in generator.stream(messages, max_tokens=engine.max_answer_tokens):
        tokens += 1
        first = first or time.perf_counter()
        pieces.append(piece)
    finished = time.perf_counter()
    first = first or finished
    text = "".join(pieces).strip()
    return {
        "answer": text,
        "abstained": not text or declines(text),
        "passages": [h.text for h in hits],
        "prompt_tokens": generator.count_tokens(messages),
        "ttft_ms": (first - started) * 1000,
        "total_ms": (finished - started) * 1000,
    }


def rag_answer(engine, question: str) -> dict:
    answer = engine.ask(question)
    t = answer.timings
    shown = [s["text"] for s in answer.sentences if s["shown"]]
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "extractive": answer.extractive,
        "shown": [answer.quote] if answer.extractive else shown,
        "reason": answer.abstain_reason,
        "passages": [p.text for p in answer.passages],
        "pages": [[p.source, p.page] for p in answer.passages],
        "cited": bool(answer.cited),
        "evidence": answer.evidence.text if answer.evidence else None,
        "draft": answer.draft,
        "sentences": answer.sentences,
        "answerable": t.get("answerable"),
        "evidence_p": t.get("evidence_p"),
        "across": bool(t.get("across")),
        "prompt_tokens": t.get("prompt_tokens"),
        "prompt_tokens_read": t.get("prompt_tokens_read"),
        "first_token_ms": t.get("first_token_ms"),
        "ttft_ms": t.get("ttft_ms") or (t.get("total_ms") if not answer.abstained else None),
        "evidence_ms": t.get("evidence_ms"),
        "total_ms": t.get("total_ms"),
    }


def pastes_passage(answer: str, passages: list[str], words: int = PASTE_WORDS) -> bool:
    """Does the answer copy a run of ``words`` consecutive words from a passage?"""
    said = answer.lower().split()
    if len(said) < words:
        return False
    runs = {" ".join(said[i : i + words]) for i in range(len(said) - words + 1)}
    return any(run in " ".join(p.lower().split()) for p in passages for run in runs)


def sentence_count(text: str) -> int:
    text = text.strip()
    return sum(len(text[start:end].split()) >= 3 for start, end in sentence_spans(text))


def cold_runs(runs: int, question: str = "How long should water be boiled at high altitude?") -> None:
    """Process start to the first character of the answer, for `rag ask` in a new process each time
    (the demo index: `make demo` builds it)."""
    import subprocess

    rag = str(ROOT / ".venv" / "bin" / "rag")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            [rag, "ask", question, "--index", "demo"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        first = process.stdout.read(1)
        times.append(time.perf_counter() - started)
        process.stdout.read()
        process.wait()
        assert first, "no answer"
    print(
        f"cold rag ask, process start to first answer character: median {statistics.median(times):.1f} s "
        f"over {runs} runs ({', '.join(f'{t:.1f}' for t in times)})"
    )


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def load_set(name: str, settings, limit: int | None):
    """(folder to ingest, questions) for a named set; ``limit`` spreads over answerable and not alike."""
    relative, _ = SETS[name]
    source = CROSS if name == "cross" else DATA / relative
    if not source.exists() or (name == "cross" and not (DATA / "hebrew-pdf").exists()):
        sys.exit(f"{source} is missing: this benchmark reads the shared data sets (see ../shared/data/README.md)")
    if name == "cross":
        folder, items = mixed_folder(workspace(settings.cache_path, source)), load_qa_jsonl(source)
    elif name in FOLDERS:
        folder, items = source.parent / FOLDERS[name], load_qa_jsonl(source)
    else:
        folder, items = load_squad(source, workspace(settings.cache_path, source))
    answerable = [i for i in items if not i.impossible]
    impossible = [i for i in items if i.impossible]
    if limit:
        share = len(impossible) / len(items)
        impossible = sample(impossible, round(limit * share))
        answerable = sample(answerable, limit - len(impossible))
    return source, folder, answerable + impossible


def mixed_folder(out: Path) -> Path:
    """The cross set's folder: copies of the shared Hebrew PDFs and English SQLite pages."""
    import shutil

    folder = out / "mixed"
    folder.mkdir(parents=True, exist_ok=True)
    for relative, pattern in CROSS_FILES:
        for path in sorted((DATA / relative).glob(pattern)):
            if not (folder / path.name).exists():
                shutil.copy2(path, folder / path.name)
    return folder


def reviewed_outcome(row: dict, reviews: dict, strict: bool) -> str:
    """ "right", "wrong" or "silent" for what the reader was shown (bench/verifier.py's verdicts:
    a gold span, or the reviewed judgement of the very text shown)."""
    from verifier import shown_outcome

    if row["abstained"]:
        return "silent"
    texts = row.get("shown") or [row["answer"]]
    item = {"unanswerable": row["unanswerable"], "gold": row["gold_all"]}
    return shown_outcome(texts, item, reviews.get(row["id"]), strict)


def shown_rates(rows: list[dict], reviews: dict, strict: bool) -> tuple[float, float, int]:
    """(shown-wrong over all questions, right shown over answerable ones, silent count)."""
    seen = [reviewed_outcome(r, reviews, strict) for r in rows]
    answerable = sum(not r["unanswerable"] for r in rows)
    return seen.count("wrong") / len(rows), seen.count("right") / max(1, answerable), seen.count("silent")


def first_sentence_line(rows: list[dict]) -> str | None:
    """The first checked sentence against the model's first token, median over the answers that have both."""
    firsts = [(r["ttft_ms"], r["first_token_ms"]) for r in rows if r.get("ttft_ms") and r.get("first_token_ms")]
    if not firsts:
        return None
    return (
        f"first checked sentence shown at {statistics.median(a for a, _ in firsts) / 1000:.2f} s median, the "
        f"model's first token at {statistics.median(b for _, b in firsts) / 1000:.2f} s "
        f"({statistics.median(a / b for a, b in firsts):.2f}x over {len(firsts)} answers)"
    )


def score(rows: list[dict], items) -> dict:
    ok = [r for r, i in zip(rows, items) if not i.impossible]
    no = [r for r, i in zip(rows, items) if i.impossible]
    answered = [r for r in rows if not r["abstained"]]
    return {
        "accuracy": sum(r["correct"] for r in ok) / len(ok) if ok else None,
        "abstention": sum(r["abstained"] for r in no) / len(no) if no else None,
        "false_abstention": sum(r["abstained"] for r in ok) / len(ok) if ok else None,
        "pasted": sum(pastes_passage(r["answer"], r["passages"]) for r in answered),
        "long": sum(sentence_count(r["answer"]) > 3 for r in answered),
        "answered": len(answered),
        "prompt_tokens": median(rows, "prompt_tokens"),
        "ttft_s": (median(rows, "ttft_ms") or 0) / 1000,
        "evidence_s": (median(rows, "evidence_ms") or 0) / 1000 if any(r.get("evidence_ms") for r in rows) else None,
        "total_s": (median(rows, "total_ms") or 0) / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", dest="set_name", choices=sorted(SETS), default="manuals")
    parser.add_argument("--questions", type=int, default=None, help="a spread of this many (default: all)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--budget", type=int, default=None, help="context budget for rag (default: the setting)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--min-answerable", type=float, default=None, help="answerability threshold (default: the setting)"
    )
    parser.add_argument("--no-verifier", action="store_true", help="show every drafted sentence (rag.verify.SHOW_ALL)")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=160,
        help="longest answer, both systems (the naive prompt's answers otherwise run to the cap and take "
        "a minute each; gold spans come early, so the cap decides time, not accuracy)",
    )
    parser.add_argument(
        "--json", dest="json_out", default=None, help="write per-question rows here (as they come: FILE.rows.jsonl)"
    )
    parser.add_argument("--cold", type=int, default=0, help="only time N cold `rag ask` processes on the demo index")
    args = parser.parse_args()
    if args.cold:
        cold_runs(args.cold)
        return
    flags = {
        "model": args.model,
        "context_budget": args.budget,
        "embedder": SETS[args.set_name][1],
        "min_answerable": args.min_answerable,
    }
    settings = load_settings({k: v for k, v in flags.items() if v is not None})
    source, folder, items = load_set(args.set_name, settings, args.questions)
    settings.index = eval_index_name(source, settings.embedder)
    run_ingest(settings, [str(folder)])
    warm = "What is this document about?"

    systems = {"rag": rag_answer} if args.skip_naive else {"rag": rag_answer, "naive": naive_answer}
    rows: dict[str, list[dict]] = {name: [] for name in systems}
    live = open(f"{args.json_out}.rows.jsonl", "w", encoding="utf-8") if args.json_out else None
    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        if args.no_verifier:
            from rag.verify import SHOW_ALL

            engine.verifier = SHOW_ALL
        engine.max_answer_tokens = args.max_tokens
        for name, run in systems.items():  # one system at a time: each keeps its fixed prefix cached
            run(engine, warm)  # untimed: loads the model, caches the prefix
            for n, item in enumerate(items, 1):
                row = run(engine, item.question)
                row["correct"] = not row["abstained"] and contains_answer(
                    row["answer"], item.answers, hebrew_prefixes=True
                )
                row.update(
                    id=item.id,
                    question=item.question,
                    unanswerable=item.impossible,
                    gold=item.answers[:3],
                    gold_all=item.answers,
                )
                rows[name].append(row)
                if live:
                    live.write(json.dumps({"system": name, **row}, ensure_ascii=False) + "\n")
                    live.flush()
                print(f"\r{name} {n}/{len(items)}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)

    unanswerable = sum(i.impossible for i in items)
    print(
        f"{settings.model}, {args.set_name}: {len(items) - unanswerable} answerable + {unanswerable} unanswerable questions, "
        f"context budget {settings.context_budget}, answers up to {args.max_tokens} tokens, {settings.effective_threads()} threads"
    )
    print(
        f"{'system':<7}{'accuracy':>9}{'abstain':>8}{'false ab':>9}{'pasted':>7}{'>3 sent':>8}"
        f"{'prompt tok':>11}{'evidence s':>11}{'TTFT s':>8}{'total s':>8}"
    )
    summary = {}
    for name, got in rows.items():
        s = summary[name] = score(got, items)
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
        print(
            f"{name:<7}{fmt(s['accuracy'], '9.3f')}{fmt(s['abstention'], '8.3f'):>8}{fmt(s['false_abstention'], '9.3f'):>9}"
            f"{s['pasted']:>7}{s['long']:>8}{fmt(s['prompt_tokens'], '11.0f'):>11}{fmt(s['evidence_s'], '11.2f'):>11}"
            f"{s['ttft_s']:>8.2f}{s['total_s']:>8.2f}"
        )
    if "naive" in summary:
        r, n = summary["rag"], summary["naive"]
        print(
            f"rag/naive: TTFT {r['ttft_s'] / n['ttft_s']:.2f}x, prompt tokens {r['prompt_tokens'] / n['prompt_tokens']:.2f}x; "
            f"accuracy {r['accuracy'] - n['accuracy']:+.3f}"
        )
    from verifier import REVIEWED, load_reviews

    review_set = {
        "manuals": "manuals",
        "xquad": "xquad",
        "hebrew-pdf": "hebrew-pdf",
        "heq": "heq",
        "cross": "cross",
    }.get(args.set_name)
    reviews = load_reviews(review_set) if review_set else {}
    print(f"\nshown answers, {'strict and reviewed' if reviews else 'strict'} ({REVIEWED.name}/{review_set}.jsonl):")
    print(f"{'system':<7}{'scoring':<10}{'shown-wrong':>12}{'right shown':>12}{'silent':>8}")
    for name, got in rows.items():
        for strict in [True, False] if reviews else [True]:
            wrong, right, silent = shown_rates(got, reviews, strict)
            label = "strict" if strict else "reviewed"
            print(f"{name:<7}{label:<10}{wrong:>12.3f}{right:>12.3f}{silent:>8}")
    rag_rows = rows.get("rag", [])
    line = first_sentence_line(rag_rows)
    if line:
        print(f"rag: {line}; extractive answers {sum(r['extractive'] for r in rag_rows)}")
    read = [
        r["prompt_tokens_read"] / r["prompt_tokens"]
        for r in rag_rows
        if r.get("prompt_tokens_read") and r.get("prompt_tokens")
    ]
    if read:
        print(
            f"rag: prompt tokens read per question (all passes added) against the draft prompt: median "
            f"{statistics.median(read):.2f}x, most {max(read):.2f}x over {len(read)} questions the model read"
        )
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps({"summary": summary, "rows": rows}, indent=1, ensure_ascii=False), encoding="utf-8"
        )


if __name__ == "__main__":
    main()

"""Calibrate the answerability check: the model's own P("yes") that the passages state the answer.

For every question of a set, builds the context `rag ask` would give the model
(``Engine.prepare``) and reads P(yes) for "Do the passages above state the answer to this
question?" without generating anything (about the cost of reading the prompt). Prints, per
threshold, the share of unanswerable questions abstained and of answerable ones wrongly
abstained, also counting only the answerable questions whose gold span is in the context.

    .venv/bin/python bench/answerable.py                         # manuals-qa (all 75)
    .venv/bin/python bench/answerable.py --set heq --questions 100
    .venv/bin/python bench/answerable.py --set xquad --questions 60 --budget 300
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from answer import SETS, load_set  # bench/answer.py, beside this script

from rag.api import build_engine, opened_index, run_ingest
from rag.evaluate import contains_answer, eval_index_name
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", dest="set_name", choices=sorted(SETS), default="manuals")
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    flags = {"context_budget": args.budget, "embedder": SETS[args.set_name][1], "min_answerable": 0.5}
    settings = load_settings({k: v for k, v in flags.items() if v is not None})
    source, folder, items = load_set(args.set_name, settings, args.questions)
    settings.index = eval_index_name(source, settings.embedder)
    run_ingest(settings, [str(folder)])
    rows = []
    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        for n, item in enumerate(items, 1):
            prepared = engine.prepare(item.question)
            p = engine.answerable(prepared) if prepared.messages else 0.0
            in_context = bool(item.answers) and contains_answer(
                " ".join(x.text for x in prepared.passages), item.answers, hebrew_prefixes=True
            )
            rows.append(
                {
                    "id": item.id,
                    "unanswerable": item.impossible,
                    "p_yes": p,
                    "gold_in_context": in_context,
                    "gated": prepared.messages is None,
                    "prompt_tokens": prepared.timings.get("prompt_tokens"),
                }
            )
            print(f"\r{n}/{len(items)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ok = [r for r in rows if not r["unanswerable"]]
    no = [r for r in rows if r["unanswerable"]]
    held = [r for r in ok if r["gold_in_context"]]
    print(
        f"{args.set_name}: {len(ok)} answerable ({len(held)} with the gold span in the context), {len(no)} unanswerable; "
        f"budget {settings.context_budget}"
    )
    print(f"{'threshold':>9}{'abstain (unans.)':>18}{'false abstain':>15}{'false, gold in ctx':>20}")
    for t in THRESHOLDS:
        share = lambda group, t=t: sum(r["p_yes"] < t for r in group) / len(group) if group else float("nan")  # noqa: E731
        print(f"{t:>9.2f}{share(no):>18.3f}{share(ok):>15.3f}{share(held):>20.3f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

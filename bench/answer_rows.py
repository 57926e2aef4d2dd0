"""Per-question rows of a `bench/answer.py --json FILE` run, as a Markdown table: what the
reader was shown for each question and its verdict, strict (a gold span) and reviewed
(bench/reviewed/SET.jsonl), plus the shown texts no judgement covers yet (to review by reading).

    .venv/bin/python bench/answer_rows.py bench/runs/final-manuals.json --set manuals
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer import first_sentence_line, reviewed_outcome, shown_rates  # noqa: E402
from verifier import load_reviews  # noqa: E402


def rows_of(path: Path, system: str) -> list[dict]:
    live = Path(f"{path}.rows.jsonl")
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))["rows"][system]
    return [r for r in map(json.loads, live.open(encoding="utf-8")) if r["system"] == system]


def cell(text: str, width: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--set", dest="set_name", default="manuals")
    parser.add_argument("--system", default="rag")
    args = parser.parse_args()
    reviews = load_reviews(args.set_name)
    rows = rows_of(args.run, args.system)
    print("| question | shown | strict | reviewed |")
    print("|---|---|---|---|")
    unjudged = []
    for r in rows:
        strict, reviewed = reviewed_outcome(r, reviews, True), reviewed_outcome(r, reviews, False)
        if r["abstained"]:
            shown = "(not stated in your documents)"
        else:
            shown = ("extractive: " if r.get("extractive") else "") + " ".join(r.get("shown") or [r["answer"]])
        kind = "unanswerable" if r["unanswerable"] else "answerable"
        print(f"| {r['id']} ({kind}) | {cell(shown)} | {strict} | {reviewed} |")
        judged = {j["text"] for j in (reviews.get(r["id"]) or {}).get("judged", [])}
        if not r["abstained"] and not r["unanswerable"] and strict == "wrong":
            for text in r.get("shown") or [r["answer"]]:
                if text not in judged:
                    unjudged.append((r["id"], text))
    answerable = sum(not r["unanswerable"] for r in rows)
    for strict in (True, False):
        wrong, right, silent = shown_rates(rows, reviews, strict)
        print(
            f"\n{'strict' if strict else 'reviewed'}: {len(rows)} questions ({answerable} answerable), shown-wrong "
            f"{wrong:.3f}, right shown {right:.3f}, silent {silent}, extractive {sum(bool(r.get('extractive')) for r in rows)}"
        )
    line = first_sentence_line(rows)
    if line:
        print(line)
    if unjudged:
        print(f"\n{len(unjudged)} shown texts without a judgement (strict verdict stands):", file=sys.stderr)
        for qid, text in unjudged:
            print(f"  {qid}: {text}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Per-question rows of a `bench/answer.py --json FILE` run, as a Markdown table: what the
reader was shown for each question and its verdict, strict (a gold span) and reviewed
(bench/reviewed/SET.jsonl), plus the shown texts no judgement covers yet (to review by reading).

    .venv/bin/python bench/answer_rows.py bench/runs/final-manuals.json --set manuals
    .venv/bin/python bench/answer_rows.py bench/runs/hebrew.json --set hebrew-pdf --causes

``--causes``: for each question whose reader was shown a wrong answer or was left silent although
the documents answer, where it went wrong (``cause_of``), then the count of each cause.
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


CAUSES = {
    "retrieval": "the answer is in no passage the model was given",
    "draft": "no drafted sentence states the answer, though a passage does",
    "answerable": "the model's answerable check stopped the draft, though a passage holds the answer",
    "check-withheld": "a drafted sentence stated the answer and the check withheld it",
    "check-shown": "the check showed a drafted sentence that is wrong",
    "extractive": "the evidence sentence, quoted, does not answer",
    "unanswerable-shown": "the documents do not answer, and something was shown",
}


def cause_of(row: dict, outcome: str) -> str | None:
    """Pure: why a question went wrong (a key of CAUSES), None when it went right: the reader
    shown the right answer, or silence where the documents do not answer."""
    from rag.evaluate import contains_answer

    if outcome == "right" or (outcome == "silent" and row["unanswerable"]):
        return None
    if row["unanswerable"]:
        return "unanswerable-shown"
    holds = lambda text: contains_answer(text, row["gold_all"], hebrew_prefixes=True)  # noqa: E731
    if outcome == "wrong":
        return "extractive" if row.get("extractive") else "check-shown"
    if not any(holds(p) for p in row.get("passages") or []):
        return "retrieval"
    drafted = [s["text"] for s in row.get("sentences") or []]
    if any(holds(t) for t in drafted):
        return "check-withheld"
    if not drafted and (row.get("answerable") or 0) < 0.5 and not row.get("draft"):
        return "answerable"
    return "draft"


def cell(text: str, width: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--set", dest="set_name", default="manuals")
    parser.add_argument("--system", default="rag")
    parser.add_argument("--causes", action="store_true", help="only where each wrong or silent answer went wrong")
    args = parser.parse_args()
    if args.causes:
        causes(rows_of(args.run, args.system), load_reviews(args.set_name))
        return
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


def causes(rows: list[dict], reviews: dict) -> None:
    from collections import Counter

    print("| question | shown | cause |")
    print("|---|---|---|")
    found: Counter = Counter()
    for r in rows:
        cause = cause_of(r, reviewed_outcome(r, reviews, False))
        if cause is None:
            continue
        found[cause] += 1
        shown = "(silent)" if r["abstained"] else " ".join(r.get("shown") or [r["answer"]])
        print(f"| {r['id']}: {cell(r['question'], 60)} | {cell(shown, 70)} | {cause} |")
    print(f"\n{len(rows)} questions, {sum(found.values())} wrong or wrongly silent (reviewed):")
    for cause, n in found.most_common():
        print(f"- {cause}: {n} ({CAUSES[cause]})")


if __name__ == "__main__":
    main()

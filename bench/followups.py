"""Follow-up rewriting (rag.conversation.standalone_question) on follow-ups written over
manuals-qa and the Hebrew PDFs (bench/followups/followups.jsonl: 20 English, 10 Hebrew, each
with the turn before it and the words a standalone question must carry).

For each: is the rewrite a question (not an answer), in the follow-up's language, and does it
carry what the follow-up leans on (one of ``expect``)? The model is the one that rewrites in
`rag chat` and `rag serve` (the strong role of the default setting).

    .venv/bin/python bench/followups.py
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

from ingest.hebrew import has_hebrew
from rag.api import load_generator
from rag.conversation import standalone_question
from rag.models import model_roles
from rag.prompt import is_question
from rag.settings import load_settings

ITEMS = Path(__file__).resolve().parent / "followups" / "followups.jsonl"


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    settings = load_settings({})
    strong = model_roles(settings.model)[1]
    engine = types.SimpleNamespace(strong_generator=load_generator(settings, strong))
    items = [json.loads(line) for line in ITEMS.open(encoding="utf-8")]
    counts = {"question": 0, "language": 0, "referent": 0, "all": 0}
    for item in items:
        history = [tuple(turn) for turn in item["history"]]
        rewritten = standalone_question(engine, history, item["followup"])
        checks = {
            "question": is_question(rewritten),
            "language": has_hebrew(rewritten) == (item["lang"] == "he"),
            "referent": any(term.lower() in rewritten.lower() for term in item["expect"]),
        }
        checks["all"] = all(checks.values())
        for key, ok in checks.items():
            counts[key] += ok
        mark = "ok " if checks["all"] else "NO "
        print(f"{mark}{item['id']}: {item['followup']} -> {rewritten}", file=sys.stderr)
    n = len(items)
    print(
        f"{n} follow-ups ({sum(i['lang'] == 'he' for i in items)} Hebrew): "
        + ", ".join(f"{k} {v}/{n}" for k, v in counts.items())
    )


if __name__ == "__main__":
    main()

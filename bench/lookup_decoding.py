"""Prompt-lookup decoding (llama-cpp-python's LlamaPromptLookupDecoding) against plain decoding,
the same prompts in the same run: prompt reading and writing speed, and whether the text is the same.

    python bench/lookup_decoding.py [--model qwen2.5-coder-1.5b] [--questions 6]

The prompts are rag's own answering prompts over manuals-qa's passages (../shared/data), so the
answers copy from the passages as rag's do. llama-cpp-python needs logits for every prompt token
with a draft model (``logits_all``), which is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "manuals-qa"


def prompts(n: int) -> list[list[dict]]:
    """rag's answering messages for the first ``n`` answerable manuals-qa questions whose source
    is a PDF, each over its gold page's text (cut to about rag's context budget)."""
    from pypdf import PdfReader

    from rag.prompt import Passage, build_messages

    rows = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()]
    out = []
    for row in rows:
        source = DATA / "corpus" / str(row.get("source"))
        if row.get("kind") != "answerable" or source.suffix != ".pdf" or not row.get("page"):
            continue
        text = " ".join(PdfReader(source).pages[row["page"] - 1].extract_text().split())[:1800]
        out.append(build_messages(row["question"], [Passage(1, str(source), row["page"], "", text)]))
        if len(out) == n:
            break
    return out


def run(llm, messages_list, max_tokens: int) -> tuple[float, float, list[str]]:
    read_s = write_s = 0.0
    texts = []
    for messages in messages_list:
        llm.reset()
        began = time.perf_counter()
        first = None
        pieces = []
        for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, stream=True, temperature=0.0):
            text = chunk["choices"][0].get("delta", {}).get("content")
            if text:
                first = first or time.perf_counter()
                pieces.append(text)
        end = time.perf_counter()
        read_s += (first or end) - began
        write_s += end - (first or end)
        texts.append("".join(pieces))
    return read_s, write_s, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    from rag.llama_runtime import import_llama
    from rag.models import resolve_model
    from rag.settings import Settings

    import_llama()
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    path = resolve_model(args.model, Settings().cache_path)
    todo = prompts(args.questions)
    if not todo:
        raise SystemExit(f"no answerable PDF questions in {DATA}/qa.jsonl")
    results = {}
    for arm in ("plain", "lookup"):
        draft = LlamaPromptLookupDecoding(num_pred_tokens=10) if arm == "lookup" else None
        llm = Llama(
            model_path=str(path),
            n_ctx=4096,
            n_threads=2,
            n_threads_batch=2,
            n_batch=512,
            verbose=False,
            draft_model=draft,
            logits_all=draft is not None,  # llama-cpp-python sizes its logits rows by this flag alone
        )
        results[arm] = run(llm, todo, args.max_tokens)
        del llm
    (pr, pw, pt), (lr, lw, lt) = results["plain"], results["lookup"]
    print(f"{len(todo)} prompts, {args.max_tokens} tokens at most")
    print(f"plain : prompt {pr:.2f} s, writing {pw:.2f} s")
    print(f"lookup: prompt {lr:.2f} s ({lr / pr:.2f}x), writing {lw:.2f} s ({lw / pw:.2f}x)")
    print(f"same text: {sum(a == b for a, b in zip(pt, lt))} of {len(pt)}")


if __name__ == "__main__":
    main()

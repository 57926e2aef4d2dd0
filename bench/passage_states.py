"""Read ahead of the question: per-passage KV states (the TurboRAG idea) against reading the
passages at question time, and prompt-lookup decoding in an exact greedy loop against plain
decoding; the same prompts, the same model, one process, one run.

    python bench/passage_states.py [--questions 30] [--max-tokens 64]

The prompts are rag's own: ``Engine.prepare`` over the manuals-qa index (../shared/data, the
index bench/answer.py builds), the first answerable questions whose passages were found. Every
prompt is cut into the same tokens for every arm: the primed head (system prompt and the
context's first line), one piece per passage, the tail (end of context, question, the turn's
start), each tokenized on its own.

- read: the model evaluates the passages and the tail (what `rag ask` does now, the head's
  state already cached);
- states: each passage's KV state was computed beforehand on its own, right after the head
  (as it would be at ingest or on first use) and saved as bytes; at question time the states
  are loaded one by one, shifted to their place (llama.cpp moves RoPE positions) and only the
  tail is read. Passages then do not see each other, which is what may cost accuracy.

For each arm: time to the first token, the greedy answer (64 tokens at most), whether it
holds a gold answer (bench/answer.py's strict test), whether it is the read arm's text. Then
the writing: the read arm's answer written again with prompt-lookup drafts verified in one
batch per step (exact for greedy decoding: only tokens the model would have chosen are kept).
Disk: bytes per token of a passage state and per 1,000 of the index's chunks.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


DRAFTS = (4, 8)
"""The most tokens a prompt-lookup draft proposes per step, each measured."""


def patched_context_params():
    """llama-cpp-python makes one sequence unless it embeds; the states arm needs a second
    one to load a passage into before moving it into the answer's sequence."""
    import llama_cpp.llama_cpp as llama_cpp

    default = llama_cpp.llama_context_default_params

    def two_sequences():
        params = default()
        params.n_seq_max = 2
        params.kv_unified = True
        return params

    llama_cpp.llama_context_default_params = two_sequences


def pieces(llm, messages) -> tuple[list[int], list[list[int]], list[int]]:
    """Head, passage pieces and tail tokens of rag's answering prompt."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from rag.prompt import END, USER_PREFIX

    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
        add_generation_prompt=True,
    )
    text = formatter(messages=messages).prompt
    cut = text.index(USER_PREFIX) + len(USER_PREFIX)
    end = text.index("\n" + END)
    head, body, tail = text[:cut], text[cut:end], text[end:]
    blocks = body.split("\n\n[")
    blocks = [blocks[0]] + ["[" + b for b in blocks[1:]]
    blocks = [b + "\n\n" for b in blocks[:-1]] + blocks[-1:]

    def tok(s: str, special: bool) -> list[int]:
        return list(llm.tokenize(s.encode("utf-8"), add_bos=False, special=special))

    return tok(head, True), [tok(b, False) for b in blocks], tok(tail, True)


class Model:
    """The llama.cpp context and the few low-level calls the arms need."""

    def __init__(self, path: Path, threads: int):
        from llama_cpp import Llama

        patched_context_params()
        self.llm = Llama(
            model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False
        )
        import llama_cpp

        self.c = llama_cpp
        self.ctx = self.llm._ctx.ctx
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.vocab = self.llm.n_vocab()

    def eog(self, token: int) -> bool:
        return bool(self.c.llama_vocab_is_eog(self.llm._model.vocab, token))

    def truncate(self, n: int) -> None:
        """Forget every cached token from position ``n`` on."""
        self.c.llama_memory_seq_rm(self.mem, -1, n, -1)
        self.llm.n_tokens = n

    def logits(self, i: int = -1):
        import numpy as np

        return np.ctypeslib.as_array(self.c.llama_get_logits_ith(self.ctx, i), shape=(self.vocab,))

    def state_of(self, start: int, tokens: list[int]) -> bytes:
        """The KV state of ``tokens`` read right after the first ``start`` cached tokens."""
        self.truncate(start)
        self.llm.eval(tokens)
        c = self.c
        c.llama_memory_seq_cp(self.mem, 0, 1, start, start + len(tokens))
        size = c.llama_state_seq_get_size(self.ctx, 1)
        buffer = (ctypes.c_uint8 * size)()
        written = c.llama_state_seq_get_data(self.ctx, buffer, size, 1)
        c.llama_memory_seq_rm(self.mem, 1, -1, -1)
        self.truncate(start)
        return bytes(buffer)[:written]

    def place(self, state: bytes, tokens: list[int], saved_at: int) -> None:
        """Put a saved passage state at the end of the answer's sequence."""
        c, llm = self.c, self.llm
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if c.llama_state_seq_set_data(self.ctx, buffer, len(state), 1) != len(state):
            raise RuntimeError("llama.cpp did not take the passage state")
        here = llm.n_tokens
        if here != saved_at:
            c.llama_memory_seq_add(self.mem, 1, saved_at, saved_at + len(tokens), here - saved_at)
        c.llama_memory_seq_cp(self.mem, 1, 0, -1, -1)
        c.llama_memory_seq_rm(self.mem, 1, -1, -1)
        llm.input_ids[here : here + len(tokens)] = tokens
        llm.n_tokens = here + len(tokens)

    def greedy(self, max_tokens: int) -> list[int]:
        """Plain greedy decoding from the last evaluated token's logits."""
        out: list[int] = []
        token = int(self.logits().argmax())
        while len(out) < max_tokens and not self.eog(token):
            out.append(token)
            self.llm.eval([token])
            token = int(self.logits().argmax())
        return out

    def lookup(self, max_tokens: int, ngram: int = 3, draft_max: int = 8) -> tuple[list[int], int]:
        """Greedy decoding with prompt-lookup drafts: the tokens that followed the last n-gram
        where it occurred before are checked in the same batch as the next token; only those the
        model itself picks are kept, so the text is greedy decoding's. Returns the tokens and the
        number of batches."""
        llm = self.llm
        out: list[int] = []
        token = int(self.logits().argmax())
        steps = 0
        while len(out) < max_tokens and not self.eog(token):
            out.append(token)
            seen = list(llm.input_ids[: llm.n_tokens]) + [token]
            draft = proposal(seen, ngram, min(draft_max, max_tokens - len(out)))
            batch = [token] + draft
            here = llm.n_tokens
            llm._batch.set_batch(batch=batch, n_past=here, logits_all=True)
            llm._ctx.decode(llm._batch)
            steps += 1
            picks = [int(self.logits(i).argmax()) for i in range(len(batch))]
            kept = 0
            while kept < len(draft) and draft[kept] == picks[kept] and not self.eog(draft[kept]):
                kept += 1
            out.extend(draft[:kept])
            llm.input_ids[here : here + 1 + kept] = batch[: 1 + kept]
            self.c.llama_memory_seq_rm(self.mem, 0, here + 1 + kept, -1)
            llm.n_tokens = here + 1 + kept
            token = picks[kept]
        return out[:max_tokens], steps


def proposal(seen: list[int], ngram: int, most: int) -> list[int]:
    """Pure: the tokens that followed the latest earlier occurrence of the last ``ngram`` (down to
    1) tokens of ``seen``, at most ``most``."""
    for n in range(ngram, 0, -1):
        tail = seen[-n:]
        for start in range(len(seen) - n - 1, -1, -1):
            if seen[start : start + n] == tail:
                return seen[start + n : start + n + most]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from answer import load_set

    from rag.api import build_engine, opened_index
    from rag.evaluate import contains_answer, eval_index_name
    from rag.llama_runtime import cpu_model, import_llama
    from rag.models import resolve_model
    from rag.settings import load_settings

    import_llama()
    settings = load_settings({})
    source, _folder, items = load_set("manuals", settings, None)
    settings.index = eval_index_name(source, settings.embedder)
    items = [i for i in items if not i.impossible][: args.questions * 2]
    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        prepared = [(item, engine.prepare(item.question)) for item in items]
    prepared = [(i, p) for i, p in prepared if p.messages][: args.questions]
    model = Model(resolve_model(settings.model, settings.cache_path), args.threads)
    llm = model.llm
    first = pieces(llm, prepared[0][1].messages)[0]
    model.truncate(0)
    llm.eval(first)  # the primed head, as rag keeps it
    start = len(first)
    rows = []
    for item, prep in prepared:
        h, blocks, tail = pieces(llm, prep.messages)
        assert h == first, "every prompt starts with the same head"
        # read: the passages and the tail at question time
        model.truncate(start)
        began = time.perf_counter()
        llm.eval([t for b in blocks for t in b] + tail)
        read_s = time.perf_counter() - began
        prompt_end = llm.n_tokens
        read_tokens = model.greedy(args.max_tokens)
        # the same answer written with lookup drafts
        model.truncate(prompt_end - 1)
        llm.eval(tail[-1:])
        lookups = {}
        for most in DRAFTS:
            began = time.perf_counter()
            looked, steps = model.lookup(args.max_tokens, draft_max=most)
            lookups[most] = (time.perf_counter() - began, steps, looked)
            model.truncate(prompt_end - 1)
            llm.eval(tail[-1:])
        began = time.perf_counter()
        again = model.greedy(args.max_tokens)
        plain_s = time.perf_counter() - began
        # states: computed beforehand, one per passage
        began = time.perf_counter()
        states = [model.state_of(start, b) for b in blocks]
        compute_s = time.perf_counter() - began
        model.truncate(start)
        began = time.perf_counter()
        for state, b in zip(states, blocks):
            model.place(state, b, start)
        llm.eval(tail)
        states_s = time.perf_counter() - began
        state_tokens = model.greedy(args.max_tokens)
        text = {
            k: llm.detokenize(v).decode("utf-8", "replace")
            for k, v in (("read", read_tokens), ("states", state_tokens))
        }
        rows.append(
            {
                "question": item.question,
                "passage_tokens": sum(map(len, blocks)),
                "tail_tokens": len(tail),
                "read_s": read_s,
                "states_s": states_s,
                "compute_s": compute_s,
                "state_bytes": sum(map(len, states)),
                "read_right": contains_answer(text["read"], item.answers, hebrew_prefixes=True),
                "states_right": contains_answer(text["states"], item.answers, hebrew_prefixes=True),
                "same": read_tokens == state_tokens,
                "written": len(again),
                "plain_s": plain_s,
                **{f"lookup{m}_s": t for m, (t, _, _) in lookups.items()},
                **{f"lookup{m}_steps": k for m, (_, k, _) in lookups.items()},
                **{f"lookup{m}_same": x == again for m, (_, _, x) in lookups.items()},
                "texts": text,
            }
        )
        r = rows[-1]
        print(
            f"{len(rows):>3} read {r['read_s']:.2f}s states {r['states_s']:.2f}s "
            f"right {r['read_right']:d}/{r['states_right']:d} same {r['same']:d} "
            f"write {r['plain_s']:.2f}s "
            + " ".join(f"lookup{m} {r[f'lookup{m}_s']:.2f}s ({r[f'lookup{m}_steps']} steps)" for m in DRAFTS),
            flush=True,
        )
    n = len(rows)
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    per_token = sum(r["state_bytes"] for r in rows) / sum(r["passage_tokens"] for r in rows)
    print(f"\nhost: {cpu_model()}, {args.threads} threads; {n} manuals-qa questions, rag's prompts")
    print(
        f"time to first token: read {med('read_s'):.2f} s, states {med('states_s'):.2f} s "
        f"(median ratio {statistics.median(r['states_s'] / r['read_s'] for r in rows):.2f}x)"
    )
    print(
        f"answers holding a gold answer: read {sum(r['read_right'] for r in rows)}/{n}, "
        f"states {sum(r['states_right'] for r in rows)}/{n}; same text {sum(r['same'] for r in rows)}/{n}"
    )
    print(f"computing the states: median {med('compute_s'):.2f} s per question (paid before the question)")
    chunk_tokens = med("passage_tokens") / max(1, statistics.median(len(p.passages) for _, p in prepared))
    print(
        f"disk: {per_token / 1024:.1f} KiB per token; a passage of {chunk_tokens:.0f} tokens (this run's median) "
        f"{per_token * chunk_tokens / 2**20:.1f} MiB; 1,000 such chunks {per_token * chunk_tokens * 1000 / 2**30:.2f} GiB"
    )
    written = sum(r["written"] for r in rows)
    plain = sum(r["plain_s"] for r in rows)
    print(f"writing {written} tokens greedily: plain {plain:.1f} s")
    for m in DRAFTS:
        spent = sum(r[f"lookup{m}_s"] for r in rows)
        steps = sum(r[f"lookup{m}_steps"] for r in rows)
        print(
            f"  lookup, up to {m} drafted tokens: {spent:.1f} s ({spent / plain:.2f}x), "
            f"{written / max(1, steps):.2f} tokens per batch, same text {sum(r[f'lookup{m}_same'] for r in rows)}/{n}"
        )


if __name__ == "__main__":
    main()

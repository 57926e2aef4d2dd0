"""The Generator protocol and its llama.cpp backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest.files import replaced_atomically
from rag.errors import Cancelled, ModelError

Message = dict[str, str]


@dataclass(frozen=True)
class Sampling:
    """How tokens are drawn. The default is greedy (the same answer every time, measured that
    way); an API client may ask for other values, and for strings that end the answer."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


GREEDY = Sampling()


def _sampling_arguments(sampling: Sampling) -> dict:
    """llama-cpp-python's keyword arguments for ``sampling``."""
    return {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
        "stop": list(sampling.stop) or None,
    }


class Generator(Protocol):
    def stream(
        self, messages: list[Message], *, max_tokens: int, sampling: Sampling = GREEDY, prefix: str = ""
    ) -> Iterator[str]:
        """The reply to ``messages``, a piece at a time. ``prefix``: the start of the reply, already
        written (a stream stopped to check a sentence goes on from there); only a generator with
        ``continues = True`` takes one."""
        ...

    def count_tokens(self, messages: list[Message]) -> int: ...

    def yes_probability(self, messages: list[Message]) -> float:
        """P(the reply to ``messages`` starts with "yes") against "no", from the first token's
        distribution; nothing is generated."""
        ...


class Vocabulary:
    """A GGUF's tokenizer alone (a vocabulary-only load: no weights, a few MB): counts tokens
    without waiting for, or holding, the model."""

    def __init__(self, model_path: Path):
        self.model_path = Path(model_path)
        self._tokenizer = None

    def tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from rag.llama_runtime import import_llama

            import_llama()
            from llama_cpp import Llama
            from llama_cpp._utils import suppress_stdout_stderr

            with suppress_stdout_stderr(disable=False):  # llama.cpp warns about the context of a vocabulary
                self._tokenizer = Llama(model_path=str(self.model_path), vocab_only=True, verbose=False)
        return len(self._tokenizer.tokenize(text.encode("utf-8"), add_bos=False))

    def count_tokens(self, messages: list[Message]) -> int:
        return self.tokens("".join(m["content"] for m in messages)) + 8 * len(messages)


class LlamaCppGenerator:
    """A GGUF chat model run by llama-cpp-python on the CPU.

    llama.cpp keeps the evaluated prompt in its KV cache and reuses the longest common
    prefix on the next call, so the fixed system prompt is evaluated once per process.

    Two methods reach past llama-cpp-python's public API, on purpose; both are covered by
    tests/test_generator.py, which fails if an upgrade changes what they rely on:
    - ``yes_probability`` reads the last token's logits from the llama.cpp context
      (``_ctx.ctx``) and sets ``n_tokens`` to reuse the cached prefix: the public way keeps
      logits only with ``logits_all=True``, 2.5 GB for the 1.5B at 4,096 tokens;
    - ``prime`` writes the evaluated system prompt to disk with ``llama_state_get_data`` and sets
      ``input_ids``/``n_tokens`` after loading it: the public ``save_state`` also copies the
      library's logits rows (one row of 151,936 floats per prompt token with Qwen: about 90 MB
      for the primed prompt) and its token buffer, which the file does not need.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int,
        context_tokens: int = 4096,
        state_dir: Path | None = None,
        n_gpu_layers: int = 0,
    ):
        """``state_dir``: where the evaluated system prompt is kept between processes (see ``prime``).
        ``n_gpu_layers``: layers offloaded to the GPU when llama.cpp was built with a GPU backend
        (-1: all); a CPU-only build ignores it."""
        try:
            from rag.llama_runtime import import_llama

            import_llama()
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(f"llama-cpp-python is not installed ({exc}). Run: make setup") from exc
        if not Path(model_path).is_file():
            raise ModelError(f"model file not found: {model_path}. Pass --model PATH to a .gguf file")
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=context_tokens,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {model_path}: {exc}. Is it a valid GGUF file?") from exc
        self.model_path = Path(model_path)
        self.context_tokens = context_tokens
        self.state_dir = state_dir
        self._stop = None
        self._evaluated = 0
        evaluate = self._llm.eval

        def counted(tokens):  # every evaluation goes through here: prompts, checks, written tokens
            self._evaluated += len(tokens)
            return evaluate(tokens)

        self._llm.eval = counted
        import llama_cpp

        # llama.cpp asks between the steps of every evaluation whether to stop (a prompt of a few
        # hundred tokens takes seconds on a CPU): so a stopped answer frees the model at once
        self._abort = llama_cpp.ggml_abort_callback(lambda _: bool(self._stop is not None and self._stop()))
        llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, self._abort, None)

    @contextmanager
    def stop_when(self, stopped):
        """Within the block, any evaluation or generation ends as soon as ``stopped()`` is true,
        raising ``Cancelled``; what the model had read before stays in its cache."""
        self._stop = stopped
        try:
            yield
        except RuntimeError as exc:
            if stopped():
                raise Cancelled() from exc
            raise
        finally:
            self._stop = None

    def count_tokens(self, messages: list[Message]) -> int:
        text = "".join(m["content"] for m in messages)
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False)) + 8 * len(messages)

    def evaluated_tokens(self) -> int:
        """How many tokens llama.cpp has evaluated in this process (what the cache did not hold):
        the difference over an answer, less the tokens it wrote, is what it read."""
        return self._evaluated

    continues = True
    """It can go on from a reply's start (``stream(prefix=...)``): it shares one context between
    writing and checking, so a check between two sentences stops the stream and resumes it."""

    def stream(
        self, messages: list[Message], *, max_tokens: int, sampling: Sampling = GREEDY, prefix: str = ""
    ) -> Iterator[str]:
        if prefix:
            yield from self._continue(messages, prefix, max_tokens, sampling)
            return
        chunks = self._llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, stream=True, **_sampling_arguments(sampling)
        )
        for chunk in chunks:
            delta = chunk["choices"][0].get("delta", {})
            text = delta.get("content")
            if text:
                yield text

    def _continue(self, messages: list[Message], prefix: str, max_tokens: int, sampling: Sampling) -> Iterator[str]:
        """The reply after ``prefix``: the chat template's prompt and the prefix as one completion
        prompt; llama.cpp reuses the cached tokens they share with what it last read."""
        tokens = self._render(messages)
        if not tokens:  # no chat template to render: the plain chat path, from the start
            yield from self.stream(messages, max_tokens=max_tokens, sampling=sampling)
            return
        tokens += self._llm.tokenize(prefix.encode("utf-8"), add_bos=False)
        chunks = self._llm.create_completion(
            prompt=tokens, max_tokens=max_tokens, stream=True, **_sampling_arguments(sampling)
        )
        for chunk in chunks:
            text = chunk["choices"][0].get("text")
            if text:
                yield text

    def yes_probability(self, messages: list[Message]) -> float:
        """P("yes") / (P("yes") + P("no")) for the reply's first token, with no token generated.

        The prompt is evaluated from the longest prefix already in the KV cache, so a check that
        repeats the answer's context costs only its own few tokens, and the answer that follows
        reuses the context in turn. llama-cpp-python keeps the logits it computes only with
        ``logits_all=True``, which allocates context x vocabulary floats (2.5 GB for the 1.5B at
        4,096 tokens); so the last row is read from the llama.cpp context directly.
        """
        import llama_cpp
        import numpy as np

        llm = self._llm
        tokens = self._render(messages)
        if not tokens:
            return 0.5
        cached = llm.input_ids[: llm.n_tokens]
        keep = next((i for i, (a, b) in enumerate(zip(cached, tokens)) if a != b), min(len(cached), len(tokens)))
        llm.n_tokens = min(keep, len(tokens) - 1)  # evaluate at least the last token, for its logits
        llm.eval(tokens[llm.n_tokens :])
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
        yes, no = self._answer_tokens()
        top = float(logits.max())
        weight = lambda ids: float(np.exp(logits[ids] - top).sum())  # noqa: E731
        p_yes, p_no = weight(yes), weight(no)
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5

    def _answer_tokens(self) -> tuple[list[int], list[int]]:
        """The first token of each way the reply could say yes, and no."""
        if not hasattr(self, "_yes_no"):
            first = lambda word: self._llm.tokenize(word.encode("utf-8"), add_bos=False)[0]  # noqa: E731
            self._yes_no = (
                sorted({first(w) for w in ("Yes", "yes", " Yes", "YES", "כן")}),
                sorted({first(w) for w in ("No", "no", " No", "NO", "לא")}),
            )
        return self._yes_no

    def _render(self, messages: list[Message], *, generation_prompt: bool = True) -> list[int]:
        """The tokens the chat template makes of ``messages`` (empty if the model has no template)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            return []
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(llm.token_eos()),
            bos_token=llm._model.token_get_text(llm.token_bos()),
            add_generation_prompt=generation_prompt,
        )
        prompt = formatter(messages=messages).prompt
        return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def prime(self, system_prompt: str, user_prefix: str = "") -> None:
        """Put the evaluated system prompt, and ``user_prefix`` (the words every user message
        starts with), into the KV cache: from a state file saved by an earlier process when
        there is one, else by evaluating it (and saving it for the next).

        A cold `rag ask` then reads only the passages and the question. The file is keyed by
        the model file, the context size and the prompt text; a mismatch just misses.
        """
        import ctypes
        import hashlib
        import json

        import llama_cpp

        llm = self._llm
        prefix = self._prefix_tokens(system_prompt, user_prefix)
        if not prefix or self.state_dir is None:
            return
        st = self.model_path.stat()
        key = hashlib.sha256(
            json.dumps([str(self.model_path), st.st_size, st.st_mtime_ns, self.context_tokens, prefix]).encode()
        ).hexdigest()[:24]
        path = Path(self.state_dir) / f"{self.model_path.stem}-{key}.state"
        ctx = llm._ctx.ctx
        if path.is_file():
            data = path.read_bytes()
            buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            if llama_cpp.llama_state_set_data(ctx, buffer, len(data)) == len(data):
                llm.input_ids[: len(prefix)] = prefix
                llm.n_tokens = len(prefix)
                llm._requires_eval = True
                return
        llm.reset()
        llm.eval(prefix)
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(ctx, buffer, size)
        with replaced_atomically(path) as partial:
            partial.write_bytes(bytes(buffer)[:written])

    def _prefix_tokens(self, system_prompt: str, user_prefix: str = "") -> list[int]:
        """The tokens every question's prompt starts with: the chat template's rendering of the
        system prompt and of ``user_prefix``, up to where the messages differ (found by rendering
        two of them)."""
        try:
            a, b = (
                self._render(
                    [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prefix + user}],
                    generation_prompt=False,
                )
                for user in ("A", "B")
            )
            common = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), 0)
            return list(a[:common])
        except Exception:  # a template this code does not understand: no priming, nothing lost
            return []

"""The Generator protocol and its llama.cpp backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rag.errors import ModelError

Message = dict[str, str]


class Generator(Protocol):
    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]: ...

    def count_tokens(self, messages: list[Message]) -> int: ...


class LlamaCppGenerator:
    """A GGUF chat model run by llama-cpp-python on the CPU.

    llama.cpp keeps the evaluated prompt in its KV cache and reuses the longest common
    prefix on the next call, so the fixed system prompt is evaluated once per process.
    """

    def __init__(self, model_path: Path, *, threads: int, context_tokens: int = 4096):
        try:
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
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load model {model_path}: {exc}. Is it a valid GGUF file?") from exc
        self.model_path = Path(model_path)
        self.context_tokens = context_tokens

    def count_tokens(self, messages: list[Message]) -> int:
        text = "".join(m["content"] for m in messages)
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False)) + 8 * len(messages)

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        chunks = self._llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
        )
        for chunk in chunks:
            delta = chunk["choices"][0].get("delta", {})
            text = delta.get("content")
            if text:
                yield text

"""A Generator behind any OpenAI-compatible chat endpoint: llama.cpp's server, vLLM, Ollama,
LM Studio (``model_url``), for when answers are made on another machine (a GPU box).

Prompt tokens are counted locally, with a vocabulary-only load of the bundled model (no
weights: about 0.5 s and a few MB), so the context budget works as in-process; a served model
with another tokenizer makes the count an estimate. The answerability check reads the first
token's log-probabilities where the server returns them, else the one-word reply itself (so
1, 0.5 or 0: llama-cpp-python's server gives log-probabilities only with ``--logits_all true``,
its default, which computes every prompt token's logits and makes prompts about 1.8x slower
to read: bench/scale.py).
Only the address the user configured is ever contacted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

from rag.errors import ModelError
from rag.generator import GREEDY, Message, Sampling, Vocabulary

YES = {"yes", "כן"}
NO = {"no", "לא"}


def yes_share(top: list[dict]) -> float | None:
    """Pure: P(yes) / (P(yes) + P(no)) from one token's top log-probabilities (OpenAI's
    ``[{"token", "logprob"}, ...]``); None when neither word is among them."""
    weight = {"yes": 0.0, "no": 0.0}
    for entry in top:
        word = str(entry.get("token", "")).strip().lower()
        if word in YES:
            weight["yes"] += math.exp(entry["logprob"])
        elif word in NO:
            weight["no"] += math.exp(entry["logprob"])
    total = weight["yes"] + weight["no"]
    return weight["yes"] / total if total > 0 else None


def sse_deltas(lines: Iterator[str]) -> Iterator[str]:
    """Pure: the text pieces of an OpenAI chat completion stream, from its SSE lines."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text


class OpenAIGenerator:
    def __init__(self, base_url: str, model: str, *, vocabulary: Path, api_key: str | None = None):
        """``vocabulary``: a GGUF whose tokenizer counts the prompt's tokens (the bundled model)."""
        import httpx

        if not base_url.startswith(("http://", "https://")):
            raise ModelError(f"model_url must be a URL such as http://host:8080/v1, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._vocabulary = Vocabulary(vocabulary)
        self._logprobs = True
        """Ask for log-probabilities until the server refuses them once."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(600, connect=10), headers=headers)

    def count_tokens(self, messages: list[Message]) -> int:
        return self._vocabulary.count_tokens(messages)

    def _failure(self, exc: Exception) -> ModelError:
        import httpx

        if isinstance(exc, httpx.HTTPStatusError):
            return ModelError(
                f"the chat endpoint {self.base_url} (the model_url setting) refused the request: "
                f"{exc.response.status_code} {exc.response.text[:200]}"
            )
        return ModelError(
            f"cannot reach the chat endpoint {self.base_url} (the model_url setting): {type(exc).__name__}: {exc}. "
            f"Start the server, or unset model_url to answer with the bundled model"
        )

    continues = False
    """A server answers a check while it streams (it has its own slots): the stream never stops."""

    def stream(
        self, messages: list[Message], *, max_tokens: int, sampling: Sampling = GREEDY, prefix: str = ""
    ) -> Iterator[str]:
        import httpx

        if prefix:
            raise ModelError("an OpenAI-compatible endpoint does not go on from a reply's start")

        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": True,
        }
        body |= {"seed": sampling.seed} if sampling.seed is not None else {}
        body |= {"stop": list(sampling.stop)} if sampling.stop else {}
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as response:
                if response.is_error:
                    response.read()
                    response.raise_for_status()
                yield from sse_deltas(response.iter_lines())
        except httpx.HTTPError as exc:
            raise self._failure(exc) from exc

    def yes_probability(self, messages: list[Message]) -> float:
        import httpx

        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0}
        if self._logprobs:
            body |= {"logprobs": True, "top_logprobs": 10}
        try:
            response = self._client.post(f"{self.base_url}/chat/completions", json=body)
            if response.is_error and self._logprobs and response.status_code in (400, 422, 500, 501):
                self._logprobs = False  # a server that cannot give them (llama-cpp-python without logits_all)
                return self.yes_probability(messages)
            response.raise_for_status()
            choice = response.json()["choices"][0]
        except httpx.HTTPError as exc:
            raise self._failure(exc) from exc
        content = ((choice.get("logprobs") or {}).get("content")) or []
        share = yes_share(content[0].get("top_logprobs") or []) if content else None
        if share is not None:
            return share
        words = str((choice.get("message") or {}).get("content") or "").lower().split()
        first = words[0].strip(".,!:") if words else ""
        return 1.0 if first in YES else 0.0 if first in NO else 0.5

    def prime(self, system_prompt: str, user_prefix: str = "") -> None:
        """Nothing to do: the server keeps its own prompt cache."""

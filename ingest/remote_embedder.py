"""An embedder behind any OpenAI-compatible ``/v1/embeddings`` endpoint (llama.cpp's server,
vLLM, TEI, Infinity, Ollama), for when the vectors of a large archive are made on a GPU box.

The index records ``remote:<model>`` and the vectors' dimension, so an index embedded this way
is never queried with a bundled model, nor the reverse (``Index.check_embedder``). Only the
address the user configured (``embedder_url``) is ever contacted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.errors import IngestError

BATCH = 64
REMOTE_PREFIX = "remote:"
"""How an index embedded at an endpoint records its embedder: ``remote:<model>``."""


def estimate_tokens(text: str) -> int:
    """Pure: an upper estimate of a text's tokens for an unknown tokenizer (chunks are sized by
    it): 4/3 tokens a word, or one per 3 bytes for text with few spaces, whichever is more."""
    return max(1, len(text.split()) * 4 // 3, len(text.encode("utf-8")) // 3)


def pooled(embedding) -> np.ndarray:
    """Pure: one vector for one input: as served, or the mean of its tokens' vectors when the
    server returns one per token (llama.cpp with a model that has no pooling of its own)."""
    array = np.asarray(embedding, dtype=np.float32)
    return array.mean(axis=0) if array.ndim == 2 else array


class RemoteEmbedder:
    multilingual = True
    relevance_floor = 0.0
    """Not calibrated for an unknown model: no similarity floor (the model's answerability check remains)."""

    def __init__(self, url: str, model: str, *, api_key: str | None = None, max_tokens: int = 256):
        import httpx

        if not url.startswith(("http://", "https://")):
            raise IngestError(f"embedder_url must be a URL such as http://host:8080/v1, not {url!r}")
        if not model:
            raise IngestError("embedder_url is set but embedder_model is not: name the served embedding model")
        self.url = url.rstrip("/")
        self.model = model
        self.name = f"{REMOTE_PREFIX}{model}"
        self.key = self.name
        self.max_tokens = max_tokens
        self._dimension: int | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(300, connect=10), headers=headers)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._post(["dimension"]).shape[1])
        return self._dimension

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [estimate_tokens(text) for text in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._post(list(texts[at : at + BATCH])) for at in range(0, len(texts), BATCH)])

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]

    def _post(self, texts: list[str]) -> np.ndarray:
        import httpx

        try:
            response = self._client.post(f"{self.url}/embeddings", json={"model": self.model, "input": texts})
            response.raise_for_status()
            rows = sorted(response.json()["data"], key=lambda row: row["index"])
        except httpx.HTTPStatusError as exc:
            raise IngestError(
                f"the embedding endpoint {self.url} (the embedder_url setting) refused the request: "
                f"{exc.response.status_code} {exc.response.text[:200]}"
            ) from exc
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise IngestError(
                f"cannot get embeddings from {self.url} (the embedder_url setting): {type(exc).__name__}: {exc}. "
                f"Start the server or unset embedder_url; what is indexed so far is kept"
            ) from exc
        vectors = np.vstack([pooled(row["embedding"]) for row in rows])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

"""The Embedder protocol, the registry of bundled embedders and the lazy loader.

An index records the name and dimension of the embedder that built it; ``EMBEDDERS`` maps the
short names users type (``--embedder minilm``) to implementations: ``ingest/minilm.py`` (English,
fp32 and int8, through ``ingest/onnx_export.py``) and ``ingest/e5.py`` (multilingual). A new
embedder is a class with the protocol's attributes and methods, registered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ingest.e5 import E5Embedder
from ingest.minilm import MiniLMEmbedder, MiniLMInt8Embedder


@runtime_checkable
class Embedder(Protocol):
    name: str
    dimension: int
    max_tokens: int
    relevance_floor: float
    """Query-passage cosine below which no passage is about the question (calibrated per model)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


EMBEDDERS = {"minilm": MiniLMEmbedder, "minilm-int8": MiniLMInt8Embedder, "multilingual": E5Embedder}
EMBEDDER_NAMES = {cls.name: key for key, cls in EMBEDDERS.items()}


class LazyEmbedder:
    """An embedder that loads its model on first use, so runs with nothing to embed stay fast."""

    def __init__(self, key: str, threads: int | None = None, cache_dir: Path | None = None):
        from ingest.errors import IngestError

        key = EMBEDDER_NAMES.get(key, key)
        if key not in EMBEDDERS:
            raise IngestError(f"unknown embedder '{key}'. Choose one of: {', '.join(EMBEDDERS)}")
        self.key = key
        cls = EMBEDDERS[key]
        self.name, self.dimension, self.max_tokens = cls.name, cls.dimension, cls.max_tokens
        self.multilingual = cls.multilingual
        self.relevance_floor = cls.relevance_floor
        self.cross_relevance_floor = getattr(cls, "cross_relevance_floor", None)
        """A multilingual model's floor for a passage in the other script than the question (None:
        the model does not relate languages)."""
        self._threads = threads
        self._cache_dir = cache_dir
        self._loaded: Embedder | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _get(self) -> Embedder:
        if self._loaded is None:
            self._loaded = EMBEDDERS[self.key](threads=self._threads, cache_dir=self._cache_dir)
        return self._loaded

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._get().count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._get().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().embed_query(text)

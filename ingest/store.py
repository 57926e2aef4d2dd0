"""The vector store: the only module that imports chromadb.

Chroma holds one vector per chunk, keyed by the catalog's chunk id, with the chunk's file
path and file hash as metadata so that a file version's vectors can be deleted in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.offline import enforce_offline

COLLECTION = "chunks"


class VectorStore:
    def __init__(self, path: Path):
        enforce_offline()
        import chromadb
        from chromadb.config import Settings

        self._client = chromadb.PersistentClient(
            path=str(Path(path).resolve()), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collection = self._client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def close(self) -> None:
        self._client.close()

    def count(self) -> int:
        return self._collection.count()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, path: str, file_hash: str) -> None:
        for start in range(0, len(ids), 1000):
            part = slice(start, start + 1000)
            self._collection.upsert(
                ids=list(ids[part]),
                embeddings=np.asarray(vectors[part], dtype=np.float32),
                metadatas=[{"path": path, "file_hash": file_hash}] * len(ids[part]),
            )

    def delete_version(self, path: str, file_hash: str) -> None:
        self._collection.delete(where={"$and": [{"path": path}, {"file_hash": file_hash}]})

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors in the order of ``ids`` (all must exist)."""
        got = self._collection.get(ids=list(ids), include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"]))
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        count = self.count()
        if count == 0:
            return []
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, count), include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]

"""The vector store: the only module that imports chromadb.

Chroma holds one vector per chunk, keyed by the catalog's chunk id, with the chunk's file
path and file hash as metadata so that a file version's vectors can be deleted in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.offline import enforce_offline
from ingest.paths import stored

COLLECTION = "chunks"


class DamagedStore(Exception):
    """The vector store's files cannot be opened (damaged or written by something else)."""


class VectorStore:
    def __init__(self, path: Path):
        enforce_offline()
        import chromadb
        from chromadb.config import Settings

        try:
            self._client = chromadb.PersistentClient(
                path=str(Path(path).resolve()), settings=Settings(anonymized_telemetry=False, allow_reset=False)
            )
            self._collection = self._client.get_or_create_collection(
                COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            self._collection.count()
        except Exception as exc:  # chromadb raises many kinds; all mean these files cannot be used
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient.clear_system_cache()  # else the next open at this path reuses the broken system
            raise DamagedStore(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    def count(self) -> int:
        return self._collection.count()

    def ids(self) -> set[str]:
        """Every stored vector's id."""
        found: set[str] = set()
        step = 5000
        while True:
            got = self._collection.get(include=[], limit=step, offset=len(found))
            found.update(got["ids"])
            if len(got["ids"]) < step:
                return found

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 1000):
            self._collection.delete(ids=list(ids[start : start + 1000]))

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, versions: Sequence[tuple[str, str]]) -> None:
        """Store ``vectors`` under ``ids``; ``versions`` gives each one's (file path, file hash)."""
        for start in range(0, len(ids), 1000):
            part = slice(start, start + 1000)
            self._collection.upsert(
                ids=list(ids[part]),
                embeddings=np.asarray(vectors[part], dtype=np.float32),
                metadatas=[{"path": stored(path), "file_hash": file_hash} for path, file_hash in versions[part]],
            )

    def delete_version(self, path: str, file_hash: str) -> None:
        self._collection.delete(where={"$and": [{"path": stored(path)}, {"file_hash": file_hash}]})

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

"""Vector stores: the ``VectorStore`` protocol and its Chroma implementations, the only module
that imports chromadb.

Chroma holds one vector per chunk, keyed by the catalog's chunk id, with the chunk's file
path and file hash as metadata so that a file version's vectors can be deleted in one call.
The default store is embedded (``PersistentClient`` in ``<index>/vectors``); ``vector_store =
"http://host:8000"`` puts the vectors on a Chroma server (``chroma run``, or any deployment),
one collection per index (``rag-<index>``), through ``HttpClient``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

from ingest.errors import IngestError
from ingest.offline import enforce_offline
from ingest.paths import stored

COLLECTION = "chunks"
EMBEDDED = "embedded"


class DamagedStore(Exception):
    """The vector store's files cannot be opened (damaged or written by something else)."""


class StoreUnreachable(IngestError):
    """The vector store's server does not answer; nothing was written past the last commit."""


class VectorStore(Protocol):
    def count(self) -> int: ...

    def ids(self) -> set[str]: ...

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, versions: Sequence[tuple[str, str]]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def delete_version(self, path: str, file_hash: str) -> None: ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StoreConfig:
    """Where an index keeps its vectors: ``embedded`` (in the index folder) or a server's URL."""

    url: str = EMBEDDED
    token: str | None = None
    """Sent as ``Authorization: Bearer`` to a server that asks for one (RAG_CHROMA_TOKEN)."""

    @property
    def remote(self) -> bool:
        return self.url != EMBEDDED

    def open(self, directory: Path, index_name: str) -> VectorStore:
        if not self.remote:
            return ChromaStore.embedded(directory)
        return ChromaStore.server(self.url, collection_name(index_name), self.token)

    def drop(self, index_name: str) -> None:
        """Delete the index's collection on the server, if it has one (``--rebuild``); nothing to
        do when embedded."""
        if not self.remote:
            return
        client = _http_client(self.url, self.token)
        try:
            if collection_name(index_name) in {c.name for c in client.list_collections()}:
                client.delete_collection(collection_name(index_name))
        except Exception as exc:
            raise server_failure(self.url, exc) from exc


def collection_name(index_name: str) -> str:
    """The server collection of an index: ``rag-<index>``, within Chroma's rules (3-512 of
    ``[a-zA-Z0-9._-]``, starting and ending with a letter or digit)."""
    safe = re.sub(r"[^a-zA-Z0-9._-]", "_", index_name)
    return f"rag-{safe}".rstrip("._-") or "rag-index"


def unreachable(url: str, exc: BaseException) -> StoreUnreachable:
    return StoreUnreachable(
        f"cannot reach the Chroma server at {url} (the vector_store setting): {type(exc).__name__}: {exc}. "
        f'Start it (chroma run --path DIR --port PORT) or set vector_store = "embedded"; what is indexed so far is kept'
    )


class ChromaStore:
    def __init__(self, client, url: str = EMBEDDED, collection: str = COLLECTION):
        self._client = client
        self.url = url
        self._collection = client.get_or_create_collection(
            collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._collection.count()

    @classmethod
    def embedded(cls, path: Path) -> ChromaStore:
        enforce_offline()
        import chromadb
        from chromadb.config import Settings

        try:
            client = chromadb.PersistentClient(
                path=str(Path(path).resolve()), settings=Settings(anonymized_telemetry=False, allow_reset=False)
            )
            return cls(client)
        except Exception as exc:  # chromadb raises many kinds; all mean these files cannot be used
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient.clear_system_cache()  # else the next open at this path reuses the broken system
            raise DamagedStore(f"{type(exc).__name__}: {exc}") from exc

    @classmethod
    def server(cls, url: str, collection: str, token: str | None = None) -> ChromaStore:
        client = _http_client(url, token)
        try:
            return _Guarded(cls(client, url, collection))
        except Exception as exc:
            raise server_failure(url, exc) from exc

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
        """(chunk id, cosine similarity) best first.

        Chroma returns fewer than ``k`` when it holds fewer (none when empty), so no count() is
        asked first: under concurrent searches that call took more of the server's time than
        the query itself (bench/serve.py, profiled)."""
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]


def _http_client(url: str, token: str | None):
    """A client of the Chroma server at ``url`` (one line if it cannot be reached)."""
    import chromadb
    from chromadb.config import Settings

    where = urlparse(url)
    if where.scheme not in ("http", "https") or not where.hostname:
        raise IngestError(f'vector_store must be "embedded" or a URL such as http://host:8000, not {url!r}')
    try:
        return chromadb.HttpClient(
            host=where.hostname,
            port=where.port or (443 if where.scheme == "https" else 8000),
            ssl=where.scheme == "https",
            headers={"Authorization": f"Bearer {token}"} if token else None,
            settings=Settings(anonymized_telemetry=False),
        )
    except Exception as exc:
        raise server_failure(url, exc) from exc


def server_failure(url: str, exc: BaseException) -> StoreUnreachable:
    """One line for a call to the server that failed: it could not be reached, or it refused."""
    if _is_connection_failure(exc):
        return unreachable(url, exc)
    return StoreUnreachable(
        f"the Chroma server at {url} (the vector_store setting) answered with an error: {type(exc).__name__}: {exc}"
    )


class _Guarded:
    """A server store whose every call turns a lost connection into one clear line."""

    def __init__(self, store: ChromaStore):
        self._store = store

    def __getattr__(self, name: str):
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            try:
                return attribute(*args, **kwargs)
            except Exception as exc:
                if _is_connection_failure(exc):
                    raise unreachable(self._store.url, exc) from exc
                raise

        return call


def _is_connection_failure(exc: BaseException) -> bool:
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (httpx.TransportError, ConnectionError)) or "Could not connect" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

"""One index on disk: ``<index-dir>/<name>/`` holding the SQLite catalog and the Chroma store.

The catalog is the source of truth for which files and chunks are indexed; Chroma holds
their vectors. A file is indexed in two stages. Stage 1 (``add_file``): commit its chunks to
the catalog, searchable by their words at once and marked as waiting for vectors (the same
transaction journals the removal of an older version's vectors) -> remove the old vectors ->
clear the journal. Stage 2 (``store_vectors``, for a batch of waiting chunks): journal the
vector write -> write the vectors -> mark the chunks embedded and clear the journal, in one
transaction. ``recover`` replays whatever a crash left in the journal, so a killed ingest
leaves an index that searches correctly and that the next run completes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ingest.catalog import Catalog, FileRecord, chunk_id
from ingest.errors import IndexBusy, IndexMismatch, IngestError
from ingest.sentences import sentence_key
from ingest.store import EMBEDDED, StoreConfig, VectorStore
from ingest.types import Chunk

SENTENCE_DTYPE = "<f2"
"""Sentence vectors are kept as 16-bit floats: 768 bytes for 384 dimensions; a cosine moves by
less than 0.0005 (tests/test_pipeline.py), far below what the evidence's choice or the checks
tell apart."""

CATALOG = "catalog.sqlite"
VECTORS = "vectors"
CHROMA_DATABASE = "chroma.sqlite3"
"""The file in which Chroma's persistent client keeps its records (checked by ``vectors_look_intact``)."""
LOCK = "write.lock"


class DamagedVectors(IngestError):
    """The vector store cannot be opened; `rag ingest` rebuilds it from the catalog."""


class IndexNotFound(IngestError):
    def __init__(self, index_dir: Path, name: str):
        super().__init__(f"no index '{name}' in {index_dir}.", remedy="ingest", index=name)


def index_folder(index_dir: Path, name: str) -> Path:
    """The folder of index ``name``: a plain name inside ``index_dir``, never a path out of it."""
    if name in ("", ".", "..") or name != Path(name).name or "\\" in name:
        raise IngestError(f"'{name}' is not an index name: use a plain name such as notes or field-2026 (no folders)")
    return Path(index_dir).resolve() / name


def _open_catalog(directory: Path, name: str) -> Catalog:
    import sqlite3

    try:
        catalog = Catalog(directory / CATALOG)
        catalog.get_meta("schema")
        return catalog
    except sqlite3.DatabaseError as exc:
        raise IngestError(
            f"the catalog of index '{name}' ({directory / CATALOG}) is damaged ({exc}).", remedy="rebuild", index=name
        ) from None


class Index:
    def __init__(self, directory: Path, catalog: Catalog, store: StoreConfig | None = None):
        """``store``: where the vectors live (default: embedded, in ``<directory>/vectors``)."""
        self.directory = directory
        self.catalog = catalog
        self.store_config = store or StoreConfig()
        self._store = None

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, name: str, *, store: StoreConfig | None = None) -> Index:
        directory = index_folder(index_dir, name)
        if not (directory / CATALOG).exists():
            raise IndexNotFound(Path(index_dir), name)
        index = cls(directory, _open_catalog(directory, name), store)
        index._check_store()
        return index

    @classmethod
    def create(
        cls,
        index_dir: Path,
        name: str,
        *,
        embedder_name: str | None,
        dimension: int = 0,
        store: StoreConfig | None = None,
    ) -> Index:
        """Open the index, creating it for ``embedder_name`` if it does not exist yet (None: the
        first sync chooses, see ``SyncOptions.choose_embedder``)."""
        directory = index_folder(index_dir, name)
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory, _open_catalog(directory, name), store)
        if index.catalog.get_meta("created") is None:
            index.catalog.set_meta(created=str(time.time()), name=name, vector_store=index.store_config.url)
        index._check_store()
        if index.embedder_name is None and embedder_name is not None:
            index.catalog.set_meta(embedder=embedder_name, dimension=str(dimension))
        return index

    def _check_store(self) -> None:
        """An index is opened with the vector store it was built in (indexes from before the
        setting are embedded)."""
        built = self.catalog.get_meta("vector_store") or EMBEDDED
        if built != self.store_config.url:
            self.catalog.close()
            raise IndexMismatch(
                f"index '{self.name}' keeps its vectors in {built}, but vector_store is {self.store_config.url}. "
                f'Set vector_store = "{built}" to use it, or rebuild it where you want it: '
                f"rag ingest PATH --index {self.name} --rebuild",
                index=self.name,
            )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self.catalog.close()

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def embedder_name(self) -> str | None:
        return self.catalog.get_meta("embedder")

    @property
    def dimension(self) -> int:
        return int(self.catalog.get_meta("dimension") or 0)

    def check_embedder(self, embedder_name: str, dimension: int, *, action: str) -> None:
        if self.embedder_name is None:
            return
        if (self.embedder_name, self.dimension) != (embedder_name, dimension):
            raise IndexMismatch(
                f"index '{self.name}' was built with the embedder {self.embedder_name} "
                f"({self.dimension}-d); it cannot be {action} with {embedder_name}.",
                remedy="embedder",
                index=self.name,
                embedder=self.embedder_name,
            )

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            from ingest.store import DamagedStore

            try:
                self._store = self.store_config.open(self.directory / VECTORS, self.name)
            except DamagedStore as exc:
                raise DamagedVectors(
                    f"the vectors of index '{self.name}' ({self.directory / VECTORS}) cannot be read ({exc}).",
                    remedy="repair",
                    index=self.name,
                ) from exc
        return self._store

    def set_aside_vectors(self) -> Path:
        """Move a damaged vector store out of the way (kept for inspection); the next use starts an empty one."""
        if self._store is not None:
            self._store.close()
            self._store = None
        aside = self.directory / f"{VECTORS}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(self.directory / VECTORS, aside)
        return aside

    def vectors_file_identity(self) -> str | None:
        """Device and inode of the vector database file: a folder deleted and made again by
        Chroma has a new one."""
        try:
            st = os.stat(self.directory / VECTORS / CHROMA_DATABASE)
        except OSError:
            return None
        return f"{st.st_dev}:{st.st_ino}"

    def vectors_look_intact(self) -> bool:
        """A check by the files alone, without opening the store (opening it costs most of an
        unchanged re-run): the vector database is the same file that the last full check
        (``pipeline.repair_vectors``) found whole, and it still starts as SQLite's files do.
        Damage deeper inside is found when the store is next opened."""
        if self.catalog.chunk_count() == 0:
            return True
        if self.store_config.remote:  # no files to look at: ask the server (one quick call)
            return self.store.count() >= self.catalog.embedded_count()
        identity = self.vectors_file_identity()
        if identity is None or identity != self.catalog.get_meta("vectors_file"):
            return False
        try:
            with open(self.directory / VECTORS / CHROMA_DATABASE, "rb") as handle:
                return handle.read(16) == b"SQLite format 3\x00"
        except OSError:
            return False

    def verify(self) -> dict:
        """Does every embedded chunk have its vector, and every vector a chunk? Chunks still
        waiting for their vectors (stage 2) are counted apart; they do not make an index
        inconsistent."""
        chunks = self.catalog.all_chunk_ids()
        embedded = self.catalog.embedded_ids()
        vectors = self.store.ids()
        missing, orphans = sorted(embedded - vectors), sorted(vectors - chunks)
        return {
            "chunks": len(chunks),
            "vectors": len(vectors),
            "pending_vectors": len(chunks - embedded),
            "missing_vectors": missing,
            "orphan_vectors": orphans,
            "consistent": not missing and not orphans and not self.catalog.journal(),
            "fingerprint": self.catalog.fingerprint(),
        }

    # --- writing ----------------------------------------------------------------------------
    @contextmanager
    def writer(self):
        """Hold the index's write lock: one writer at a time; readers are never blocked."""
        path = self.directory / LOCK
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise IndexBusy(
                f"index '{self.name}' is being written by {holder}; wait for it to finish, then run again"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            try:
                self.recover()
            except DamagedVectors:  # nothing to replay into; the sync rebuilds the store (repair_vectors)
                pass
            yield self
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def recover(self) -> int:
        """Finish or undo vector-store work that a crash interrupted. Returns entries replayed."""
        entries = self.catalog.journal()
        if not entries:
            return 0
        current = self.catalog.files()
        for seq, _action, path, file_hash in entries:
            record = current.get(path)
            if record is None or record.sha256 != file_hash:
                self.store.delete_version(path, file_hash)
            self.catalog.journal_end(seq)
        return len(entries)

    def add_file(self, record: FileRecord, chunks: Sequence[Chunk], reading: dict | None = None) -> int:
        """Stage 1 of a new or changed file: its chunks in the catalog, searchable by their
        words, waiting for their vectors (``reading``: how it was read, see
        ``Catalog.replace_file``). Returns how many chunks of an older version were removed."""
        removed = len(self.catalog.chunk_ids(record.path))
        stale = self.catalog.replace_file(record, chunks, reading=reading)
        self._drop(stale)
        return removed if stale else 0

    def store_vectors(self, rows: Sequence[tuple[str, str, str]], vectors: np.ndarray) -> None:
        """Stage 2 for a batch of waiting chunks, (id, path, file hash) each, with their vectors."""
        versions = [(path, file_hash) for _, path, file_hash in rows]
        seqs = self.catalog.journal_begin_many("add", list(dict.fromkeys(versions)))
        self.store.upsert([chunk_id for chunk_id, _, _ in rows], vectors, versions)
        self.catalog.mark_embedded([chunk_id for chunk_id, _, _ in rows], seqs)

    def store_sentences(self, chunks: Sequence[int], sentences: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """The sentences of ``chunks`` (catalog rowids) embedded: (chunk rowid, sentence, vector) each."""
        name = self.embedder_name or ""
        rows = [
            (chunk, sentence_key(name, text), np.asarray(v, dtype=SENTENCE_DTYPE).tobytes())
            for chunk, text, v in sentences
        ]
        self.catalog.store_sentences(chunks, rows)

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``texts`` that ingest embedded as a chunk's sentences."""
        name = self.embedder_name or ""
        keys = {sentence_key(name, text): text for text in texts}
        found = self.catalog.sentence_vectors(list(keys))
        return {
            keys[key]: np.frombuffer(vector, dtype=SENTENCE_DTYPE).astype(np.float32) for key, vector in found.items()
        }

    def rename_file(self, old_path: str, record: FileRecord) -> int:
        """A file moved: copy its chunks, and the vectors it has, to the new path without embedding again."""
        chunks = self.catalog.chunks_of(old_path)
        old_ids = self.catalog.chunk_ids(old_path)
        waiting = self.catalog.pending_among(old_ids)
        self.add_file(record, chunks, self.catalog.reading_of(old_path))
        self.catalog.move_sentences(old_path, record.path)
        kept = [(old, chunk) for old, chunk in zip(old_ids, chunks) if old not in waiting]
        if kept:
            vectors = self.store.vectors([old for old, _ in kept])
            rows = [(chunk_id(record.path, record.sha256, c.ordinal), record.path, record.sha256) for _, c in kept]
            self.store_vectors(rows, vectors)
        self.remove_file(old_path)
        return len(chunks)

    def remove_file(self, path: str) -> int:
        removed = len(self.catalog.chunk_ids(path))
        self._drop(self.catalog.remove_file(path))
        return removed

    def _drop(self, stale: tuple[int, str, str] | None) -> None:
        if stale:
            seq, path, file_hash = stale
            self.store.delete_version(path, file_hash)
            self.catalog.journal_end(seq)

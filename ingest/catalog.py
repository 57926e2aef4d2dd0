"""The index's SQLite catalog: manifest of files, chunk texts, the FTS5 lexical index, and a
journal of pending vector-store operations.

A chunk is written in two stages: its text and BM25 terms first (``replace_file``, with
``embedded = 0``: searchable by its words at once), its vector later (``mark_embedded`` once
the vector store holds it). ``pending_count`` says how many chunks still wait for a vector.

SQLite transactions make each file's change atomic on this side; the journal records which
vector-store writes were begun, so that a crash between the two stores is repaired on the next
open (see ``Index.recover``). Opened in WAL mode so readers never wait for the writer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.lexical import match_expression, terms
from ingest.paths import from_stored, stored
from ingest.types import Chunk

SCHEMA_VERSION = "1"
COMMON_SHARE = 0.05
COMMON_FLOOR = 5000
MAX_QUERY_TERMS = 12
_CHUNK_COLUMNS = 'id, path, page, heading, start, "end", text, ordinal, origin'
"""The columns of a ``StoredChunk``, in its order."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL, chunks INTEGER NOT NULL, indexed_at REAL NOT NULL, reading TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS files_by_hash ON files(sha256);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, path TEXT NOT NULL, file_hash TEXT NOT NULL,
    ordinal INTEGER NOT NULL, page INTEGER, heading TEXT NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, origin TEXT NOT NULL DEFAULT '',
    embedded INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS skipped (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY, action TEXT NOT NULL, path TEXT NOT NULL, file_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sentence_vectors (key BLOB NOT NULL, chunk INTEGER NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sentence_vectors_by_key ON sentence_vectors(key);
CREATE INDEX IF NOT EXISTS sentence_vectors_by_chunk ON sentence_vectors(chunk);
"""


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    chunks: int = 0


@dataclass(frozen=True)
class StoredChunk:
    id: str
    path: str
    page: int | None
    heading: str
    start: int
    end: int
    text: str
    ordinal: int
    origin: str = ""


def chunk_id(path: str, file_hash: str, ordinal: int) -> str:
    return f"{hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}-{file_hash[:16]}-{ordinal}"


class Catalog:
    def __init__(self, path: Path):
        self.path = path
        self._vocab = False
        self._chunks_seen: int | None = None
        self.db = sqlite3.connect(f"file:{path}", uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        # catalogs from before OCR: every chunk came from a text layer, nothing was counted
        if not self._has_origin():
            self.db.execute("ALTER TABLE chunks ADD COLUMN origin TEXT NOT NULL DEFAULT ''")
        if not any(row[1] == "reading" for row in self.db.execute("PRAGMA table_info(files)")):
            self.db.execute("ALTER TABLE files ADD COLUMN reading TEXT NOT NULL DEFAULT '{}'")
        # catalogs from before the two stages: every chunk was written with its vector
        if not any(row[1] == "embedded" for row in self.db.execute("PRAGMA table_info(chunks)")):
            self.db.execute("ALTER TABLE chunks ADD COLUMN embedded INTEGER NOT NULL DEFAULT 1")
        self.db.execute("CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(rowid) WHERE embedded = 0")
        # catalogs from before sentence vectors: the next ingest run embeds their chunks' sentences
        if not any(row[1] == "sentences" for row in self.db.execute("PRAGMA table_info(chunks)")):
            self.db.execute("ALTER TABLE chunks ADD COLUMN sentences INTEGER NOT NULL DEFAULT 0")
        self.db.execute("CREATE INDEX IF NOT EXISTS chunks_without_sentences ON chunks(rowid) WHERE sentences = 0")

    def _has_origin(self) -> bool:
        return any(row[1] == "origin" for row in self.db.execute("PRAGMA table_info(chunks)"))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- metadata ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    # --- manifest ---------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        rows = self.db.execute("SELECT path, size, mtime_ns, sha256, chunks FROM files")
        return {from_stored(row[0]): FileRecord(from_stored(row[0]), *row[1:]) for row in rows}

    def skipped(self) -> dict[str, tuple[int, int, str]]:
        rows = self.db.execute("SELECT path, size, mtime_ns, reason FROM skipped")
        return {from_stored(row[0]): (row[1], row[2], row[3]) for row in rows}

    def record_skip(self, path: str, size: int, mtime_ns: int, reason: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO skipped VALUES (?, ?, ?, ?)", (stored(path), size, mtime_ns, reason))

    def forget_skips(self, paths: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM skipped WHERE path = ?", [(stored(p),) for p in paths])

    def touch(self, record: FileRecord) -> None:
        """Same content, new size/mtime: update the manifest only."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
                (record.size, record.mtime_ns, stored(record.path)),
            )

    def chunk_ids(self, path: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE path = ? ORDER BY ordinal", (stored(path),))]

    def first_texts(self, count: int) -> list[str]:
        """The texts of the first ``count`` chunks stored (a fixed sample, for benchmarks)."""
        return [text for (text,) in self.db.execute("SELECT text FROM chunks ORDER BY rowid LIMIT ?", (count,))]

    def chunk_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def embedded_ids(self) -> set[str]:
        """The chunks whose vector is in the store (stage 2 done)."""
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE embedded = 1")}

    def embedded_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks WHERE embedded = 1").fetchone()[0]

    def pending_count(self) -> int:
        """Chunks searchable by their words whose vectors are not stored yet."""
        return self.db.execute("SELECT count(*) FROM chunks WHERE embedded = 0").fetchone()[0]

    def pending_chunks(self, after: int, limit: int) -> list[tuple[int, str, str, str, str, str]]:
        """(rowid, id, path, file hash, heading, text) of up to ``limit`` chunks waiting for a
        vector, in the order they were written, from rowid ``after`` on."""
        rows = self.db.execute(
            "SELECT rowid, id, path, file_hash, heading, text FROM chunks WHERE embedded = 0 AND rowid > ? "
            "ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [(r[0], r[1], from_stored(r[2]), r[3], r[4], r[5]) for r in rows]

    def pending_among(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` still wait for a vector."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            found.update(
                r[0] for r in self.db.execute(f"SELECT id FROM chunks WHERE embedded = 0 AND id IN ({marks})", part)
            )
        return found

    def mark_embedded(self, ids: Sequence[str], journal: Sequence[int] = ()) -> None:
        """Stage 2 done for ``ids`` (their vectors are stored), and its journal entries closed, at once."""
        with self.transaction() as db:
            db.executemany("UPDATE chunks SET embedded = 1 WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in journal])

    # --- sentence vectors (ingest.sentences): what a question's evidence is scored on ------------
    def chunks_without_sentences(self, after: int, limit: int) -> list[tuple[int, str]]:
        """(rowid, text) of up to ``limit`` chunks with their vector whose sentences have none yet."""
        rows = self.db.execute(
            "SELECT rowid, text FROM chunks WHERE sentences = 0 AND embedded = 1 AND rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return list(rows)

    def store_sentences(self, chunks: Sequence[int], rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        """(chunk rowid, key, vector bytes) of the sentences of ``chunks``, which are then done;
        a chunk deleted meanwhile takes nothing."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO sentence_vectors (key, chunk, vector) SELECT ?, rowid, ? FROM chunks WHERE rowid = ?",
                [(key, vector, chunk) for chunk, key, vector in rows],
            )
            db.executemany("UPDATE chunks SET sentences = 1 WHERE rowid = ?", [(c,) for c in chunks])

    def sentence_vectors(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored vector bytes of each key found (see ``ingest.sentences.sentence_key``)."""
        found: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            rows = self.db.execute(
                f"SELECT key, vector FROM sentence_vectors WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update(rows)
        return found

    def move_sentences(self, old_path: str, new_path: str) -> None:
        """A renamed file's sentence vectors, moved to its copied chunks (same ordinals)."""
        old, new = stored(old_path), stored(new_path)
        with self.transaction() as db:
            db.execute(
                "UPDATE sentence_vectors SET chunk = (SELECT n.rowid FROM chunks n JOIN chunks o ON n.ordinal = o.ordinal "
                "WHERE o.rowid = sentence_vectors.chunk AND n.path = ?) "
                "WHERE chunk IN (SELECT rowid FROM chunks WHERE path = ?)",
                (new, old),
            )
            db.execute(
                "UPDATE chunks SET sentences = 1 WHERE path = ? AND ordinal IN "
                "(SELECT ordinal FROM chunks WHERE path = ? AND sentences = 1)",
                (new, old),
            )

    def mark_pending(self, ids: Sequence[str]) -> None:
        """These chunks have lost their vectors (a deleted store): stage 2 must run for them again."""
        with self.transaction() as db:
            db.executemany("UPDATE chunks SET embedded = 0 WHERE id = ?", [(i,) for i in ids])

    def chunk_versions(self, ids: Sequence[str]) -> list[tuple[str, str, str, str, str]]:
        """(id, path, file hash, heading, text) of each chunk in ``ids`` that the catalog has."""
        rows = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT id, path, file_hash, heading, text FROM chunks WHERE id IN ({marks})", part
            ):
                rows.append((row[0], from_stored(row[1]), row[2], row[3], row[4]))
        return rows

    def fingerprint(self) -> str:
        """A digest of what is indexed, independent of where the folder lies: each chunk's
        file content hash, position, page, heading and text. Two indexes of the same files
        built by the same version have the same fingerprint."""
        digest = hashlib.sha256()
        rows = self.db.execute(
            'SELECT file_hash, ordinal, page, heading, start, "end", text FROM chunks ORDER BY file_hash, ordinal'
        )
        for row in rows:
            digest.update(repr(row).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def chunk_paths(self) -> dict[str, str]:
        """Every chunk's id -> the path of its file."""
        return {i: from_stored(p) for i, p in self.db.execute("SELECT id, path FROM chunks")}

    # --- journal ----------------------------------------------------------------------------
    def journal_begin(self, action: str, path: str, file_hash: str) -> int:
        with self.transaction() as db:
            return db.execute(
                "INSERT INTO journal (action, path, file_hash) VALUES (?, ?, ?)", (action, stored(path), file_hash)
            ).lastrowid

    def journal_begin_many(self, action: str, versions: Sequence[tuple[str, str]]) -> list[int]:
        """One journal entry per (path, file hash), in one transaction."""
        with self.transaction() as db:
            return [
                db.execute(
                    "INSERT INTO journal (action, path, file_hash) VALUES (?, ?, ?)", (action, stored(path), file_hash)
                ).lastrowid
                for path, file_hash in versions
            ]

    def journal_end(self, seq: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def journal(self) -> list[tuple[int, str, str, str]]:
        rows = self.db.execute("SELECT seq, action, path, file_hash FROM journal ORDER BY seq")
        return [(seq, action, from_stored(path), file_hash) for seq, action, path, file_hash in rows]

    # --- writes -------------------------------------------------------------------------------
    def replace_file(
        self, record: FileRecord, chunks: Sequence[Chunk], *, reading: dict | None = None
    ) -> tuple[int, str, str] | None:
        """Make ``record`` with ``chunks`` the indexed version of its path, in one transaction;
        the chunks are searchable by their words at once and wait for their vectors (stage 2).
        ``reading``: how the file was read (``Document.metadata["reading"]``), summed by ``reading_totals``.

        Returns (journal seq, path, old hash) when an older version's vectors must now be deleted; that
        deletion is journalled here, in the same transaction, so a crash cannot lose it.
        """
        with self.transaction() as db:
            old = db.execute("SELECT sha256 FROM files WHERE path = ?", (stored(record.path),)).fetchone()
            self._delete_chunks(db, record.path)
            self._insert_chunks(db, record.path, record.sha256, chunks)
            db.execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256, chunks, indexed_at, reading) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    stored(record.path),
                    record.size,
                    record.mtime_ns,
                    record.sha256,
                    len(chunks),
                    time.time(),
                    json.dumps(reading or {}),
                ),
            )
            db.execute("DELETE FROM skipped WHERE path = ?", (stored(record.path),))
            if old and old[0] != record.sha256:
                return self._journal_delete(db, record.path, old[0])
        return None

    def reading_of(self, path: str) -> dict:
        row = self.db.execute("SELECT reading FROM files WHERE path = ?", (stored(path),)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def reading_totals(self) -> dict[str, dict[str, int]]:
        """How the indexed files were read, summed: pages by extractor ("pdfium", "pypdf",
        "ocr") and text repairs by kind (see ingest.loaders.pdf)."""
        totals: dict[str, dict[str, int]] = {}
        for (value,) in self.db.execute("SELECT reading FROM files WHERE reading != '{}'"):
            for group, counts in json.loads(value).items():
                if not isinstance(counts, dict):  # "lost": the parts of a partial file (partial_files)
                    continue
                into = totals.setdefault(group, {})
                for name, n in counts.items():
                    into[name] = into.get(name, 0) + n
        return totals

    def readings(self) -> dict[str, tuple[float, dict]]:
        """Every indexed file's path -> (when it was indexed, how it was read)."""
        rows = self.db.execute("SELECT path, indexed_at, reading FROM files")
        return {from_stored(path): (at, json.loads(value or "{}")) for path, at, value in rows}

    def set_reading(self, path: str, reading: dict) -> None:
        with self.transaction() as db:
            db.execute("UPDATE files SET reading = ? WHERE path = ?", (json.dumps(reading), stored(path)))

    def partial_files(self) -> dict[str, list[dict]]:
        """Files indexed without some of their pages: path -> [{"page", "reason"}] of the parts lost."""
        rows = self.db.execute("SELECT path, reading FROM files WHERE reading LIKE '%\"lost\"%'")
        found = {from_stored(path): json.loads(value).get("lost") for path, value in rows}
        return {path: lost for path, lost in sorted(found.items()) if lost}

    def same_chunks(self, path: str, file_hash: str, chunks: Sequence[Chunk]) -> bool:
        """Does the catalog hold exactly ``chunks`` for this version of ``path``?"""
        row = self.db.execute("SELECT sha256 FROM files WHERE path = ?", (stored(path),)).fetchone()
        if not row or row[0] != file_hash:
            return False
        shape = lambda c: (c.text, c.ordinal, c.start, c.end, c.page, c.heading, c.origin)  # noqa: E731
        return [shape(c) for c in self.chunks_of(path)] == [shape(c) for c in chunks]

    def remove_file(self, path: str) -> tuple[int, str, str] | None:
        with self.transaction() as db:
            old = db.execute("SELECT sha256 FROM files WHERE path = ?", (stored(path),)).fetchone()
            self._delete_chunks(db, path)
            db.execute("DELETE FROM files WHERE path = ?", (stored(path),))
            db.execute("DELETE FROM skipped WHERE path = ?", (stored(path),))
            if old:
                return self._journal_delete(db, path, old[0])
        return None

    @staticmethod
    def _journal_delete(db: sqlite3.Connection, path: str, file_hash: str) -> tuple[int, str, str]:
        seq = db.execute(
            "INSERT INTO journal (action, path, file_hash) VALUES ('delete', ?, ?)", (stored(path), file_hash)
        ).lastrowid
        return seq, path, file_hash

    @staticmethod
    def _delete_chunks(db: sqlite3.Connection, path: str) -> None:
        db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE path = ?)", (stored(path),))
        db.execute(
            "DELETE FROM sentence_vectors WHERE chunk IN (SELECT rowid FROM chunks WHERE path = ?)", (stored(path),)
        )
        db.execute("DELETE FROM chunks WHERE path = ?", (stored(path),))

    @staticmethod
    def _insert_chunks(db: sqlite3.Connection, path: str, file_hash: str, chunks: Sequence[Chunk]) -> None:
        for chunk in chunks:
            rowid = db.execute(
                'INSERT INTO chunks (id, path, file_hash, ordinal, page, heading, start, "end", text, origin, embedded) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    chunk_id(path, file_hash, chunk.ordinal),
                    stored(path),
                    file_hash,
                    chunk.ordinal,
                    chunk.page,
                    chunk.heading,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    chunk.origin,
                ),
            ).lastrowid
            db.execute(
                "INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)",
                (rowid, " ".join(terms(chunk.heading + "\n" + chunk.text))),
            )

    # --- reads --------------------------------------------------------------------------------
    def chunks_of(self, path: str) -> list[Chunk]:
        rows = self.db.execute(
            'SELECT text, ordinal, start, "end", page, heading, origin FROM chunks WHERE path = ? ORDER BY ordinal',
            (stored(path),),
        )
        return [
            Chunk(
                text=r[0],
                ordinal=r[1],
                start=r[2],
                end=r[3],
                page=r[4],
                headings=tuple(filter(None, r[5].split(" > "))),
                origin=r[6],
            )
            for r in rows
        ]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        found: dict[str, StoredChunk] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part):
                found[row[0]] = StoredChunk(row[0], from_stored(row[1]), *row[2:])
        return found

    def neighbour(self, chunk: StoredChunk, step: int) -> StoredChunk | None:
        row = self.db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE path = ? AND ordinal = ?",
            (stored(chunk.path), chunk.ordinal + step),
        ).fetchone()
        return StoredChunk(row[0], from_stored(row[1]), *row[2:]) if row else None

    def _document_frequencies(self, words: Sequence[str]) -> dict[str, int]:
        if not self._vocab:
            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, 'row')"
            )
            self._vocab = True
        found = {}
        for word in words:
            row = self.db.execute("SELECT doc FROM temp.chunks_vocab WHERE term = ?", (word,)).fetchone()
            found[word] = row[0] if row else 0
        return found

    def query_terms(self, query: str) -> list[str]:
        """The question's terms that are worth a posting-list scan.

        A term found in more than ``COMMON_SHARE`` of the chunks (and in at least
        ``COMMON_FLOOR`` of them) has a BM25 weight near zero but the longest posting list; such
        terms are dropped (the rarest two are kept if all are common), and at most
        ``MAX_QUERY_TERMS`` of the rarest remain. On a 100k-chunk index this takes the lexical
        query from ~100 ms to ~20 ms (bench/search.py).
        """
        words = list(dict.fromkeys(terms(query)))
        if not words:
            return []
        df = self._document_frequencies(words)
        words = sorted((w for w in words if df[w] > 0), key=lambda w: df[w])
        if self._chunks_seen is None:  # a pruning threshold: a count from this session is close enough
            self._chunks_seen = self.chunk_count()
        limit = max(COMMON_FLOOR, COMMON_SHARE * self._chunks_seen)
        useful = [w for w in words if df[w] <= limit] or words[:2]
        return useful[:MAX_QUERY_TERMS]

    def lexical_search(
        self, query: str, k: int, *, paths: Sequence[str] = (), ids: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; higher is better. ``paths``: only these files'
        chunks; ``ids``: only these chunks (a chunk with none of the query's terms is not listed)."""
        expression = match_expression(self.query_terms(query))
        if expression is None:
            return []
        within, values = "", [expression]
        if paths:
            within = f" AND rowid IN (SELECT rowid FROM chunks WHERE path IN ({','.join('?' * len(paths))}))"
            values += [stored(p) for p in paths]
        if ids:
            within += f" AND rowid IN (SELECT rowid FROM chunks WHERE id IN ({','.join('?' * len(ids))}))"
            values += list(ids)
        rows = self.db.execute(
            f"SELECT c.id, -f.rank FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?{within} "
            "ORDER BY rank LIMIT ?) AS f JOIN chunks c ON c.rowid = f.rowid ORDER BY f.rank",
            (*values, k),
        )
        return [(row[0], row[1]) for row in rows]

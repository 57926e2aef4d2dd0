"""walk -> plan -> load -> chunk -> catalog (searchable) -> embed -> vectors, with progress.

Two stages. Stage 1: each parsed file is chunked and committed to the catalog with its BM25
terms, so it is searchable seconds after it is read. Stage 2: the chunks waiting for vectors
are embedded in batches across files (the embedder is fastest on full batches) and stored.
Files are parsed in worker processes (``ingest.workers``); whenever no parsed file is
waiting, this process embeds one batch, so stage 1 stays at parse speed and stage 2 fills
the time between. A crash costs at most one batch of vectors, which the next run embeds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.catalog import FileRecord
from ingest.chunker import CHUNK_TOKENS, OVERLAP_TOKENS, chunk_document, embedding_text
from ingest.embedder import Embedder
from ingest.errors import IndexWriteError, IngestError, is_storage_failure
from ingest.files import sha256_file
from ingest.index import DamagedVectors, Index
from ingest.lexical import latin_letter_share
from ingest.ocr import DEFAULT as DEFAULT_OCR
from ingest.ocr import OcrConfig
from ingest.paths import readable
from ingest.sentences import pieces_of
from ingest.sync import plan_sync
from ingest.types import Chunk, Document
from ingest.walk import MAX_FILE_MB, FoundFile, discover, inside, resolve_roots
from ingest.workers import ParseLimits, ParsePool, parse_in_process

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is 'hash', 'parse', 'searchable' (once: every file of
the run is in the catalog, searchable by its words) or 'embed' (total: done plus the chunks
still waiting for vectors)."""

SAMPLE_DOCUMENTS = 12
SAMPLE_CHARACTERS = 1_000_000
"""A new index's embedder is chosen once this many documents, or characters, have been read."""


@dataclass
class SyncOptions:
    password: str | None = None
    ocr: OcrConfig | None = DEFAULT_OCR
    """How scans and photos are read (None: they are skipped)."""
    max_file_bytes: int = MAX_FILE_MB * 1024 * 1024
    chunk_tokens: int = CHUNK_TOKENS
    overlap_tokens: int = OVERLAP_TOKENS
    batch_chunks: int = 128
    workers: int = -1
    """Parser processes: -1 = one less than the physical cores (at least one), 0 = parse in this process."""
    parse_limits: ParseLimits = field(default_factory=ParseLimits)
    choose_embedder: Callable[[list[str]], tuple[Embedder, str]] | None = None
    """For an index with no embedder yet: given the text of each of the first documents read, the
    embedder to build it with (recorded in the index) and a line that says why ("" for none)."""

    def worker_count(self) -> int:
        if self.workers >= 0:
            return self.workers
        from ingest.machine import physical_cores

        return max(1, physical_cores() - 1)


@dataclass
class SyncReport:
    added: int = 0
    changed: int = 0
    deleted: int = 0
    renamed: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)
    partial: list[dict] = field(default_factory=list)
    """Files indexed without some of their pages: {"path", "lost": [{"page", "reason"}]}; the next run reads them again."""
    notes: list[str] = field(default_factory=list)
    """What the run repaired, one line each (a rebuilt vector store)."""
    vectors_repaired: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    vectors_added: int = 0
    sentences_added: int = 0
    """Sentence vectors stored (``ingest.sentences``): what questions score their evidence on."""
    pending_vectors: int = 0
    """Chunks left without vectors when the run ended (searchable by their words; the next run embeds them)."""
    seconds: float = 0.0
    searchable_seconds: float = 0.0
    """When every file of the run was searchable (stage 1 done), from the start."""
    vector_seconds: float = 0.0
    """Time spent in stage 2 (embedding, storing vectors, marking chunks), interleaved or not."""
    embed_seconds: float = 0.0
    """The part of ``vector_seconds`` spent inside the embedder."""
    letters: int = 0
    latin_letters: int = 0
    embedder: str = ""
    """The index's embedder (not part of the JSON summary)."""

    @property
    def non_latin_share(self) -> float:
        """Share of the newly indexed letters that are not Latin script (Hebrew, Arabic, …)."""
        return 1 - self.latin_letters / self.letters if self.letters else 0.0

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "changed": self.changed,
            "deleted": self.deleted,
            "renamed": self.renamed,
            "unchanged": self.unchanged,
            "skipped": [{"path": readable(s["path"]), "reason": s["reason"]} for s in self.skipped],
            "partial": [{"path": readable(p["path"]), "lost": p["lost"]} for p in self.partial],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "vectors_repaired": self.vectors_repaired,
            "vectors_added": self.vectors_added,
            "sentences_added": self.sentences_added,
            "pending_vectors": self.pending_vectors,
            "searchable_seconds": round(self.searchable_seconds, 3),
            "seconds": round(self.seconds, 3),
        }


def sha256_of(file: FoundFile) -> str:
    return sha256_file(file.path)


def _still_same(record: FileRecord) -> bool:
    try:
        st = os.stat(record.path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (record.size, record.mtime_ns)


def sync(
    paths: Sequence[str | Path],
    index: Index,
    embedder: Embedder,
    options: SyncOptions | None = None,
    *,
    progress: Progress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> SyncReport:
    """Bring ``index`` in line with the files under ``paths``. The caller holds ``index.writer()``.

    One file's failure is a skipped entry; a failure of the disk under the index (full,
    read-only) raises ``IndexWriteError`` with one line that names the folder. Either way,
    what was committed stays consistent and the next run continues from it.
    """
    try:
        return _sync(paths, index, embedder, options or SyncOptions(), progress=progress, on_skip=on_skip)
    except IndexWriteError:
        raise
    except Exception as exc:
        if is_storage_failure(exc):
            raise IndexWriteError(storage_message(index.directory, exc)) from exc
        raise


def _sync(
    paths: Sequence[str | Path],
    index: Index,
    embedder: Embedder,
    options: SyncOptions,
    *,
    progress: Progress | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> SyncReport:
    progress = progress or (lambda stage, done, total: None)
    started = time.monotonic()
    report = SyncReport(embedder=embedder.name)

    def skip(path: str, reason: str, *, remember: FileRecord | FoundFile | None = None) -> None:
        report.skipped.append({"path": path, "reason": reason})
        if remember is not None:
            index.catalog.record_skip(path, remember.size, remember.mtime_ns, reason)
        if on_skip:
            on_skip(path, reason)

    plan = _plan(paths, index, options, skip, progress)
    report.unchanged = len(plan.unchanged) + len(plan.touched)
    if plan.new or plan.changed or plan.renamed or plan.deleted or not index.vectors_look_intact():
        # the store is about to be written anyway, or its files look lost: make it whole first
        report.vectors_repaired = repair_vectors(index, notes=report.notes)
    for record in plan.touched:
        index.catalog.touch(record)
    for old_path, record in plan.renamed:
        index.rename_file(old_path, record)
        report.renamed += 1
    for path in plan.deleted:
        report.chunks_removed += index.remove_file(path)
        report.deleted += 1

    work = [(r, False) for r in plan.new] + [(r, True) for r in plan.changed]
    if options.choose_embedder is not None and index.embedder_name is None:
        work = spread_first(work, SAMPLE_DOCUMENTS)  # the sample that chooses the embedder spans the folder
    writer = _Writer(index, embedder, options, report, skip, progress, work)
    _parse_into(writer, work, options, skip, progress)
    writer.finish_stage_one()
    report.searchable_seconds = time.monotonic() - started
    progress("searchable", len(writer.written), len(writer.written))
    writer.vectors.finish()
    report.pending_vectors = index.catalog.pending_count()
    index.catalog.set_meta(last_sync=str(time.time()))
    report.seconds = time.monotonic() - started
    return report


def spread_first(items: list, count: int) -> list:
    """Pure: ``items`` with ``count`` of them, evenly spaced over the whole list, moved to the
    front (in their order), the rest after. A new index's embedder is chosen from the first
    documents read; in path order those are one corner of the folder (a folder's Hebrew files
    may all sort last)."""
    if len(items) <= count:
        return list(items)
    picked = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)}) if count > 1 else [0]
    chosen = set(picked)
    return [items[i] for i in picked] + [item for i, item in enumerate(items) if i not in chosen]


def _plan(paths: Sequence[str | Path], index: Index, options: SyncOptions, skip, progress: Progress):
    """Walk ``paths`` and compare with the catalog: what is new, changed, moved, deleted or the
    same (files whose size and time changed are hashed, with progress)."""
    roots = resolve_roots(paths)
    walked = discover(roots, max_file_bytes=options.max_file_bytes)
    for path, reason in walked.skipped:
        skip(path, reason)
    manifest = index.catalog.files()
    to_hash = sum(
        1
        for f in walked.files
        if (f.path not in manifest) or (manifest[f.path].size, manifest[f.path].mtime_ns) != (f.size, f.mtime_ns)
    )
    hashed = 0

    def hash_with_progress(file: FoundFile) -> str:
        nonlocal hashed
        hashed += 1
        progress("hash", hashed, to_hash)
        return sha256_of(file)

    plan = plan_sync(
        walked.files, manifest, roots, hash_with_progress, index.catalog.skipped(), index.catalog.partial_files()
    )
    for path, reason in plan.unreadable:
        skip(path, reason)
    present = {f.path for f in walked.files}
    index.catalog.forget_skips(p for p in index.catalog.skipped() if inside(p, roots) and p not in present)
    return plan


def _parse_into(writer: _Writer, work: list[tuple[FileRecord, bool]], options: SyncOptions, skip, progress) -> None:
    """Parse the files of ``work`` in the worker pool (or in this process) and hand each
    document to ``writer``, in the order they finish."""
    jobs = [(record.path, record.size) for record, _ in work]
    read = {"password": options.password, "ocr": options.ocr}
    pool = (
        ParsePool(options.worker_count(), options.parse_limits, read=read) if work and options.worker_count() else None
    )
    parsed = pool.parse(jobs, when_idle=writer.vectors_step) if pool else parse_in_process(jobs, read)
    try:
        for done, (job, outcome) in enumerate(parsed, 1):
            progress("parse", done, len(work))
            record, is_change = work[job]
            if isinstance(outcome, str):
                kept = "; the previously indexed version is kept" if is_change else ""
                skip(record.path, outcome + kept, remember=record)
            elif not _still_same(record):
                skip(record.path, "changed while being read; run the ingest again")
            else:
                writer.add(record, outcome, is_change)
    finally:
        if pool:
            pool.close()


class _Writer:
    """Stage 1 of one run's parsed documents: chunked and committed to the catalog file by file,
    searchable at once. A new index's embedder (whose tokenizer sizes the chunks) is chosen from
    its first documents; ``vectors`` does stage 2 once it is."""

    def __init__(
        self, index: Index, embedder: Embedder, options: SyncOptions, report: SyncReport, skip, progress, work
    ):
        self.index, self.embedder, self.options, self.report = index, embedder, options, report
        self.skip, self.progress, self.work = skip, progress, work
        self.written: set[str] = set()
        self.undecided = options.choose_embedder is not None and index.embedder_name is None
        self.sample: list[tuple[FileRecord, Document, bool]] = []
        self.vectors = _Vectors(index, embedder, options.batch_chunks, report, progress, self._storage_error)

    def add(self, record: FileRecord, document: Document, is_change: bool) -> None:
        if self.undecided:
            self.sample.append((record, document, is_change))
            characters = sum(len(b.text) for _, d, _ in self.sample for b in d.blocks)
            if len(self.sample) >= SAMPLE_DOCUMENTS or characters >= SAMPLE_CHARACTERS:
                self._decide()
            return
        chunks, lost = self._chunks(document)
        reading = dict(document.metadata.get("reading", {}))
        if lost:
            reading["lost"] = reading.get("lost", []) + lost
        if not chunks:
            reason = f"page {lost[0]['page']}: {lost[0]['reason']}" if lost and lost[0]["page"] else ""
            self.skip(record.path, reason or (lost[0]["reason"] if lost else "no text to index"), remember=record)
            return
        if is_change and self.index.catalog.same_chunks(record.path, record.sha256, chunks):
            # a partial file read again (its lost pages retried) that reads the same: no new vectors
            self.index.catalog.set_reading(record.path, reading)
            self.written.add(record.path)
            self.report.unchanged += 1
            self._note_partial(record.path, reading)
            return
        removed = self._store(record, chunks, reading)
        if removed is not None:
            self._count(record, chunks, removed, is_change)
            self._note_partial(record.path, reading)

    def _chunks(self, document: Document) -> tuple[list[Chunk], list[dict]]:
        """The document's chunks, and the parts lost: a block the chunker fails on costs that
        block (its page), never the document."""
        split = lambda d: chunk_document(  # noqa: E731
            d,
            self.embedder.count_tokens,
            max_tokens=self.options.chunk_tokens,
            overlap_tokens=self.options.overlap_tokens,
        )
        try:
            return split(document), []
        except Exception:  # noqa: BLE001 - find the block that fails, keep the others
            pass
        kept, lost = [], []
        for block in document.blocks:
            try:
                split(Document(document.path, [block]))
                kept.append(block)
            except Exception as exc:  # noqa: BLE001
                where = f" (section {block.headings[-1]})" if block.headings and block.page is None else ""
                lost.append(
                    {
                        "page": block.page,
                        "reason": f"could not be split into chunks{where} ({type(exc).__name__}: {exc})",
                    }
                )
        return (split(Document(document.path, kept)) if kept else []), lost

    def _note_partial(self, path: str, reading: dict) -> None:
        if reading.get("lost"):
            self.report.partial.append({"path": path, "lost": reading["lost"]})

    def vectors_step(self) -> bool:
        """One batch of stage 2 while the parsers work (none before the embedder is chosen)."""
        return not self.undecided and self.vectors.step()

    def finish_stage_one(self) -> None:
        if self.undecided and self.sample:
            self._decide()

    def _decide(self) -> None:
        """Choose the new index's embedder from the documents read so far, then chunk them."""
        texts = ["\n".join(block.text for block in document.blocks) for _, document, _ in self.sample]
        self.embedder, why = self.options.choose_embedder(texts)
        if why:
            self.report.notes.append(why)
        self.index.catalog.set_meta(embedder=self.embedder.name, dimension=str(self.embedder.dimension))
        self.report.embedder = self.embedder.name
        self.vectors.embedder = self.embedder
        self.undecided = False
        sample, self.sample = self.sample, []
        for record, document, is_change in sample:
            self.add(record, document, is_change)

    def _left_bytes(self) -> int:
        """Size of the files this run has still to index (a guide to the room it needs)."""
        return sum(r.size for r, _ in self.work if r.path not in self.written)

    def _storage_error(self, exc: BaseException) -> IndexWriteError:
        return IndexWriteError(storage_message(self.index.directory, exc, self._left_bytes()))

    def _store(self, record: FileRecord, chunks: list[Chunk], reading: dict) -> int | None:
        """Write one file's rows; None (and the file skipped) when this file alone fails."""
        try:
            return self.index.add_file(record, chunks, reading)
        except Exception as exc:  # noqa: BLE001 - one file's failure must not end the run
            if is_storage_failure(exc):
                raise self._storage_error(exc) from exc
            self.skip(
                record.path, f"could not be indexed ({type(exc).__name__}: {exc}); it will be tried again next run"
            )
            return None

    def _count(self, record: FileRecord, chunks: list[Chunk], removed: int, is_change: bool) -> None:
        self.written.add(record.path)
        report = self.report
        report.chunks_added += len(chunks)
        report.chunks_removed += removed
        for chunk in chunks:
            letters, latin = latin_letter_share(chunk.text)
            report.letters += letters
            report.latin_letters += latin
        if is_change:
            report.changed += 1
        else:
            report.added += 1


class _Vectors:
    """Stage 2: vectors for the chunks that wait for them, a batch at a time, in the order they
    were written (whatever run wrote them). A batch the embedder fails on is tried chunk by
    chunk; a chunk that still fails stays searchable by its words, is reported, and the next
    run tries it again."""

    def __init__(self, index: Index, embedder: Embedder, batch: int, report: SyncReport, progress, storage_error):
        self.index, self.embedder, self.batch = index, embedder, batch
        self.report, self.progress, self.storage_error = report, progress, storage_error
        self.after = 0
        self.sentences_after = 0
        self.failed: set[str] = set()

    def step(self) -> bool:
        """Embed and store the next batch; False when no chunk is waiting past the last one done."""
        started = time.perf_counter()
        try:
            return self._step()
        finally:
            self.report.vector_seconds += time.perf_counter() - started

    def _step(self) -> bool:
        rows = self.index.catalog.pending_chunks(self.after, self.batch)
        if not rows:
            return self._sentence_step()
        self.after = rows[-1][0]
        rows = [row for row in rows if row[1] not in self.failed]
        texts = [embedding_text(heading, text) for _, _, _, _, heading, text in rows]
        vectors, _ = self._embed(texts) if rows else (None, "")
        if vectors is not None:
            self._store(rows, vectors)
            return True
        failed: dict[str, list[str]] = {}  # path -> why each of its chunks failed
        for row, text in zip(rows, texts):
            vector, why = self._embed([text])
            if vector is None:
                self.failed.add(row[1])
                failed.setdefault(row[2], []).append(why)
            else:
                self._store([row], vector)
        for path, reasons in failed.items():
            self.report.notes.append(
                f"{readable(path)}: {len(reasons)} chunk(s) could not be embedded ({reasons[0]}); they are searchable "
                "by their words, and the next run tries again"
            )
        return True

    def _sentence_step(self) -> bool:
        """Once no chunk waits for its vector: the sentences of a batch of embedded chunks (what a
        question's evidence is scored on, ``Index.sentence_vectors``), those no stored vector
        covers yet (an overlap with the chunk before). Optional: if the embedder fails here, the
        evidence embeds them when a question needs them, and the next run tries again."""
        rows = self.index.catalog.chunks_without_sentences(self.sentences_after, self.batch)
        if not rows:
            return False
        self.sentences_after = rows[-1][0]
        pieces = [(rowid, piece) for rowid, text in rows for piece in pieces_of(text)]
        known = set(self.index.sentence_vectors([piece for _, piece in pieces]))
        todo = list(dict.fromkeys(piece for _, piece in pieces if piece not in known))
        vectors = self._embed(todo)[0] if todo else []
        if vectors is not None:  # a disk that fails here ends the run with sync()'s one line
            first = {piece: rowid for rowid, piece in reversed(pieces)}  # a sentence two chunks share: stored once
            found = [(first[piece], piece, vector) for piece, vector in zip(todo, vectors)]
            self.index.store_sentences([rowid for rowid, _ in rows], found)
            self.report.sentences_added += len(found)
        return True

    def finish(self) -> None:
        """Embed every chunk still waiting (from the first: a file changed during the run may
        have written its chunks behind the point the interleaved batches had reached), then
        their sentences."""
        self.after = self.sentences_after = 0
        while self.step():
            pass

    def _embed(self, texts: list[str]):
        """(vectors, "") or (None, why the embedder failed)."""
        started = time.perf_counter()
        try:
            return self.embedder.embed_documents(texts), ""
        except IngestError:  # a configured embedding server that fails: the run stops with its line
            raise
        except Exception as exc:  # noqa: BLE001
            if is_storage_failure(exc):
                raise self.storage_error(exc) from exc
            return None, f"{type(exc).__name__}: {str(exc)[:120]}"
        finally:
            self.report.embed_seconds += time.perf_counter() - started

    def _store(self, rows, vectors) -> None:
        try:
            self.index.store_vectors(
                [(chunk_id, path, file_hash) for _, chunk_id, path, file_hash, _, _ in rows], vectors
            )
        except IngestError:
            raise
        except Exception as exc:
            if is_storage_failure(exc):
                raise self.storage_error(exc) from exc
            raise IndexWriteError(
                f"the vector store of index '{self.index.name}' refused {len(rows)} vectors ({type(exc).__name__}: "
                f"{str(exc)[:300]}); what is indexed so far is kept and searchable by its words"
            ) from exc
        self.report.vectors_added += len(rows)
        self.progress(
            "embed", self.report.vectors_added, self.report.vectors_added + self.index.catalog.pending_count()
        )


def repair_vectors(index: Index, *, notes: list[str]) -> int:
    """Make the vector store agree with the catalog again, from the catalog alone (no file is
    re-read): a deleted or damaged ``vectors/`` folder is set aside and started anew, vectors
    that lost their chunk are deleted, and chunks that lost their vector wait for it again
    (stage 2 embeds them in the same run). Opens the store; cheap after that when nothing is
    wrong (the two counts are compared first).
    Returns how many vectors are to be written again or were deleted."""
    try:
        stored_count = index.store.count()
    except DamagedVectors as exc:
        aside = index.set_aside_vectors()
        notes.append(
            f"{exc.__cause__}: the vector store of index '{index.name}' could not be read; moved it to {aside} "
            f"and rebuilt it from the catalog"
        )
        stored_count = index.store.count()
    if stored_count == index.catalog.embedded_count() and not index.catalog.journal():
        _remember_vectors_file(index)
        return 0
    index.recover()
    check = index.verify()
    if check["orphan_vectors"]:
        index.store.delete(check["orphan_vectors"])
    missing = check["missing_vectors"]
    index.catalog.mark_pending(missing)
    if missing and not stored_count:
        notes.append(
            f"index '{index.name}' had no vectors for its {len(missing)} chunks (vectors/ deleted?); rebuilt them from the catalog"
        )
    elif missing or check["orphan_vectors"]:
        notes.append(
            f"index '{index.name}': re-embedded {len(missing)} chunks that had no vector and removed "
            f"{len(check['orphan_vectors'])} vectors that had no chunk"
        )
    _remember_vectors_file(index)
    return len(missing) + len(check["orphan_vectors"])


def _remember_vectors_file(index: Index) -> None:
    """Record the vector database file found whole, for ``Index.vectors_look_intact``."""
    identity = index.vectors_file_identity()
    if identity and identity != index.catalog.get_meta("vectors_file"):
        index.catalog.set_meta(vectors_file=identity)


INDEX_BYTES_PER_TEXT_BYTE = 5
"""Index size per byte of text indexed (catalog, lexical index, vectors): 4-8 measured on
text and PDF folders (24 MB for the 5.1 MB manuals-qa corpus)."""


def storage_message(directory: Path, exc: BaseException, left_bytes: int = 0) -> str:
    """One line for a write that failed because of the disk under the index."""
    import shutil

    try:
        free = shutil.disk_usage(directory).free // (1024 * 1024)
        room = f" ({free} MB free there)"
    except OSError:
        room = ""
    need = max(1, -(-left_bytes * INDEX_BYTES_PER_TEXT_BYTE // (1024 * 1024)))
    return (
        f"cannot write to the index in {directory}{room}: {exc}. The files not yet indexed need up to about "
        f"{need} MB more; free that much, then run the same command again: what is indexed so far is kept"
    )

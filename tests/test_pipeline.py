"""Ingest end to end with the real embedder and Chroma on disk."""

import os
import time

import pytest
from conftest import make_docx, make_pdf

from ingest.embedder import LazyEmbedder
from ingest.errors import IndexBusy, IndexMismatch, too_large
from ingest.index import Index
from ingest.pipeline import SyncOptions, sync
from rag.errors import explain, phrase_skip


class CountingEmbedder:
    """The real embedder, counting what it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.relevance_floor = inner.relevance_floor
        self.embedded = 0

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    make_pdf(root / "pumps.pdf", ["Pump overview.", "The valve torque is 42 newton metres.", "Spare parts list."])
    (root / "notes.md").write_text("# Notes\n\nThe generator runs on diesel fuel only.\n", encoding="utf-8")
    (root / "page.html").write_text("<h1>Radio</h1><p>Check in on channel 68 every evening.</p>", encoding="utf-8")
    make_docx(root / "plan.docx", [("h1", "Plan"), ("p", "The survey starts on the ninth of May.")])
    return root


def _index(tmp_path, embedder):
    return Index.create(tmp_path / "indexes", "t", embedder_name=embedder.name, dimension=embedder.dimension)


def _run(index, roots, embedder, **options):
    with index.writer():
        return sync(roots, index, embedder, SyncOptions(**options))


def _state(index):
    return index.catalog.chunk_count(), index.store.count(), sorted(index.catalog.files())


def test_second_run_embeds_nothing_and_changes_are_tracked(tmp_path, docs, embedder):
    counting = CountingEmbedder(embedder)
    index = _index(tmp_path, counting)
    first = _run(index, [docs], counting)
    assert (first.added, first.skipped) == (4, [])
    chunks, vectors, files = _state(index)
    assert chunks == vectors == first.chunks_added > 0 and len(files) == 4

    counting.embedded = 0
    again = _run(index, [docs], counting)
    assert (again.unchanged, again.added, again.chunks_added, counting.embedded) == (4, 0, 0, 0)

    (docs / "notes.md").write_text("# Notes\n\nThe generator now runs on petrol.\n", encoding="utf-8")
    os.utime(docs / "page.html", ns=(time.time_ns(), time.time_ns()))  # touched, same content
    changed = _run(index, [docs], counting)
    assert (changed.changed, changed.unchanged) == (1, 3)
    texts = " ".join(c.text for c in index.catalog.chunks_of(str(docs / "notes.md")))
    assert "petrol" in texts and "diesel" not in texts
    assert index.catalog.chunk_count() == index.store.count()

    (docs / "page.html").unlink()
    deleted = _run(index, [docs], counting)
    assert deleted.deleted == 1 and deleted.chunks_removed >= 1
    assert index.catalog.chunk_count() == index.store.count()
    index.close()


def test_rename_reuses_vectors(tmp_path, docs, embedder):
    counting = CountingEmbedder(embedder)
    index = _index(tmp_path, counting)
    _run(index, [docs], counting)
    before = index.catalog.chunk_count()
    (docs / "moved").mkdir()
    os.rename(docs / "pumps.pdf", docs / "moved" / "pumps-renamed.pdf")
    counting.embedded = 0
    report = _run(index, [docs], counting)
    assert (report.renamed, report.added, report.deleted, counting.embedded) == (1, 0, 0, 0)
    assert str(docs / "moved" / "pumps-renamed.pdf") in index.catalog.files()
    assert index.catalog.chunk_count() == before == index.store.count()
    index.close()


def test_unchanged_run_does_not_load_the_embedder(tmp_path, docs, embedder):
    index = _index(tmp_path, embedder)
    _run(index, [docs], embedder)
    lazy = LazyEmbedder("minilm")
    report = _run(index, [docs], lazy)
    assert report.unchanged == 4 and not lazy.loaded
    index.close()


def test_bad_files_are_reported_and_the_run_goes_on(tmp_path, docs, embedder):
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.4 broken")
    make_pdf(docs / "locked.pdf", ["Secret."], password="pw")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    index = _index(tmp_path, embedder)
    seen = []
    with index.writer():
        report = sync([docs], index, embedder, on_skip=lambda p, r: seen.append(os.path.basename(p)))
    reasons = {os.path.basename(s["path"]): s["reason"] for s in report.skipped}
    assert reasons["locked.pdf"] == "encrypted PDF, and no password was given"
    # ingest/ says what is wrong; the faces say which flag fixes it
    assert phrase_skip(reasons["locked.pdf"]) == "encrypted PDF (pass --password to read it)"
    assert phrase_skip(too_large(200)) == "larger than the 200 MB limit (raise it with --max-file-mb)"
    assert phrase_skip(reasons["empty.txt"]) == reasons["empty.txt"]
    assert reasons["corrupt.pdf"].startswith("not a readable PDF")
    assert reasons["empty.txt"].startswith("empty file")
    assert reasons["binary.txt"].startswith("binary data")
    assert sorted(seen) == sorted(reasons) and report.added == 4
    again = _run(index, [docs], embedder)
    assert len(again.skipped) == 4, "still reported, without parsing again"
    index.close()


def test_index_refuses_another_embedder_and_a_second_writer(tmp_path, docs, embedder):
    index = _index(tmp_path, embedder)
    with pytest.raises(
        IndexMismatch, match=r"built with the embedder all-MiniLM-L6-v2 .*with multilingual-e5-small\.$"
    ) as refused:
        index.check_embedder("multilingual-e5-small", 384, action="extended")
    # ingest/ names the fix; the CLI and the server phrase it as the command to type
    assert (refused.value.remedy, refused.value.index, refused.value.embedder) == ("embedder", "t", "all-MiniLM-L6-v2")
    assert explain(refused.value).endswith(
        "Use --embedder all-MiniLM-L6-v2, or rebuild it: rag ingest PATH --index t --rebuild"
    )
    other = Index.open(tmp_path / "indexes", "t")
    with index.writer():
        with pytest.raises(IndexBusy, match=rf"index 't' is being written by process {os.getpid()}"):
            with other.writer():
                pass
    other.close()
    index.close()


def test_crash_between_stores_is_repaired(tmp_path, docs, embedder, monkeypatch):
    """A kill after a batch's vectors were written but before the catalog marked them leaves
    journalled vectors; if the file then changes, the next run deletes them, embeds the new
    version and leaves no orphans."""
    index = _index(tmp_path, embedder)
    _run(index, [docs], embedder)
    (docs / "notes.md").write_text("# Notes\n\nNew text about solar panels.\n", encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(index.catalog, "mark_embedded", crash)
    with pytest.raises(KeyboardInterrupt):
        _run(index, [docs], embedder)
    monkeypatch.undo()
    assert index.catalog.journal(), "the interrupted vector write is journalled"
    assert index.catalog.pending_count() > 0, "the new version is searchable by its words, its vectors unmarked"
    assert index.store.count() > index.catalog.embedded_count()
    (docs / "notes.md").write_text("# Notes\n\nWind turbines, changed again before the next run.\n", encoding="utf-8")
    report = _run(index, [docs], embedder)
    assert report.changed == 1 and report.pending_vectors == 0
    assert index.catalog.chunk_count() == index.store.count() == index.catalog.embedded_count()
    assert not index.catalog.journal() and index.verify()["consistent"]
    index.close()


def test_files_are_searchable_before_their_vectors_and_the_next_run_embeds_them(tmp_path, docs, embedder):
    """Stage 1 alone (the run killed before stage 2): search finds the files by their words, a
    search says how many chunks wait, and the next run embeds exactly those."""
    index = _index(tmp_path, embedder)
    _run(index, [docs], embedder)
    ids = sorted(index.catalog.all_chunk_ids())
    index.store.delete(ids)  # as if stage 2 never ran
    index.catalog.mark_pending(ids)
    from rag.retriever import Retriever

    retrieval = Retriever(index, embedder).retrieve("What torque does the valve need?", 3)
    assert retrieval.pending == len(ids) and retrieval.hits[0].source.endswith("pumps.pdf"), "found by BM25 alone"
    assert retrieval.waiting_hits == len(retrieval.hits)
    counting = CountingEmbedder(embedder)
    report = _run(index, [docs], counting)
    assert (report.added, report.changed, report.vectors_added, report.pending_vectors) == (0, 0, len(ids), 0)
    assert counting.embedded == len(ids), "only the waiting chunks are embedded, no file is read again"
    assert index.verify()["consistent"] and index.verify()["pending_vectors"] == 0
    index.close()


class PoisonedEmbedder(CountingEmbedder):
    """The real embedder, failing on any batch that holds a chunk with the word POISON."""

    def embed_documents(self, texts):
        if any("POISON" in t for t in texts):
            raise ValueError("the embedder cannot read this text")
        return super().embed_documents(texts)


def test_a_chunk_that_fails_to_embed_or_a_file_to_store_costs_only_itself(tmp_path, docs, embedder, monkeypatch):
    (docs / "bad.md").write_text(
        "# Bad\n\nPOISON in this section breaks the embedder.\n\n# Fine\n\nThis section of bad.md embeds well.\n",
        encoding="utf-8",
    )
    (docs / "cursed.md").write_text("# Cursed\n\nThis file's rows cannot be written.\n", encoding="utf-8")
    index = _index(tmp_path, embedder)
    real_replace = index.catalog.replace_file

    def replace_file(record, chunks, **kwargs):
        if record.path.endswith("cursed.md"):
            raise ValueError("constraint failed")
        return real_replace(record, chunks, **kwargs)

    monkeypatch.setattr(index.catalog, "replace_file", replace_file)
    report = _run(index, [docs], PoisonedEmbedder(embedder))
    skipped = {os.path.basename(s["path"]): s["reason"] for s in report.skipped}
    assert skipped == {
        "cursed.md": "could not be indexed (ValueError: constraint failed); it will be tried again next run",
    }
    assert report.added == 5, "the other files are indexed, and bad.md is searchable by its words"
    assert [n for n in report.notes if "bad.md: 1 chunk(s) could not be embedded (ValueError: the embedder" in n]
    bad_chunks = index.catalog.chunk_ids(str(docs / "bad.md"))
    assert len(bad_chunks) == 2 and report.pending_vectors == 1, "only the poisoned chunk waits; its neighbour is in"
    monkeypatch.undo()
    again = _run(index, [docs], embedder)
    assert (again.added, again.unchanged, again.skipped) == (1, 5, []), "cursed.md is tried again and indexed"
    assert again.pending_vectors == 0 and again.vectors_added == 1 + again.chunks_added
    assert index.verify()["consistent"]
    index.close()


def test_an_unchanged_sync_does_not_open_the_vector_store(tmp_path, docs, embedder):
    index = _index(tmp_path, embedder)
    _run(index, [docs], embedder)
    index.close()
    again = Index.open(tmp_path / "indexes", "t")
    report = _run(again, [docs], embedder)
    assert report.unchanged == 4 and again._store is None, "opening Chroma costs most of an unchanged re-run"
    again.close()


def test_a_lost_page_costs_that_page_and_the_next_run_retries_only_that_file(tmp_path, docs, embedder, monkeypatch):
    """A page whose extractors raise (injected) is left out with its reason, the rest of the
    file is indexed; status lists the partial file; the next run reads that file again (and
    only it), without new vectors while it reads the same, and completes it once the page reads."""
    import json

    from click.testing import CliRunner
    from conftest import break_pdf_pages

    from rag.cli import cli

    break_pdf_pages(monkeypatch, "torque", "FPDF_LoadPage failed")
    index = _index(tmp_path, embedder)
    report = _run(index, [docs], embedder, workers=0)
    lost = [{"page": 2, "reason": "PDFium: FPDF_LoadPage failed; pypdf: broken content stream"}]
    assert report.skipped == [] and report.added == 4
    assert report.partial == [{"path": str(docs / "pumps.pdf"), "lost": lost}]
    pages = {c.page for c in index.catalog.chunks_of(str(docs / "pumps.pdf"))}
    assert pages == {1, 3}
    index.close()
    status = CliRunner().invoke(cli, ["status", "--index", "t", "--index-dir", str(tmp_path / "indexes"), "--json"])
    assert json.loads(status.output)["partial"] == [{"path": str(docs / "pumps.pdf"), "lost": lost}]
    text = CliRunner().invoke(cli, ["status", "--index", "t", "--index-dir", str(tmp_path / "indexes")]).output
    assert "pumps.pdf: page 2: PDFium: FPDF_LoadPage failed" in text

    index = Index.open(tmp_path / "indexes", "t")
    counting = CountingEmbedder(embedder)
    still = _run(index, [docs], counting, workers=0)
    assert (still.unchanged, still.changed, counting.embedded) == (4, 0, 0), "read again, the same: nothing re-embedded"
    assert still.partial == [{"path": str(docs / "pumps.pdf"), "lost": lost}]
    monkeypatch.undo()
    fixed = _run(index, [docs], counting, workers=0)
    assert (fixed.changed, fixed.unchanged, fixed.partial) == (1, 3, [])
    assert {c.page for c in index.catalog.chunks_of(str(docs / "pumps.pdf"))} == {1, 2, 3}
    assert index.catalog.partial_files() == {} and index.verify()["consistent"]
    assert _run(index, [docs], counting, workers=0).unchanged == 4
    index.close()


def test_a_block_the_chunker_fails_on_costs_that_page_only(tmp_path, docs, embedder, monkeypatch):
    import ingest.pipeline as pipeline

    real = pipeline.chunk_document

    def chunk_document(document, *args, **kwargs):
        if any("torque" in block.text for block in document.blocks):
            raise ValueError("chunker bug")
        return real(document, *args, **kwargs)

    monkeypatch.setattr(pipeline, "chunk_document", chunk_document)
    index = _index(tmp_path, embedder)
    report = _run(index, [docs], embedder, workers=0)
    assert report.skipped == [] and report.added == 4
    assert report.partial == [
        {
            "path": str(docs / "pumps.pdf"),
            "lost": [{"page": 2, "reason": "could not be split into chunks (ValueError: chunker bug)"}],
        }
    ]
    assert {c.page for c in index.catalog.chunks_of(str(docs / "pumps.pdf"))} == {1, 3}
    index.close()


def test_a_pdf_with_math_letters_and_emoji_is_indexed_and_found(tmp_path, embedder):
    from conftest import make_unicode_pdf
    from test_loaders import ENGLISH_WITH_MATH, HEBREW_WITH_MATH

    from rag.retriever import Retriever

    root = tmp_path / "math"
    root.mkdir()
    make_unicode_pdf(root / "equations.pdf", [HEBREW_WITH_MATH, ENGLISH_WITH_MATH])
    index = _index(tmp_path, embedder)
    report = _run(index, [root], embedder)
    assert (report.added, report.skipped, report.partial) == (1, [], [])
    retriever = Retriever(index, embedder)
    assert len(index.catalog.lexical_search("𝑒", 5)) == 2, "the math letter is a term of both pages (NFKC: e)"
    assert retriever.search("mass times light squared", 1)[0].text.startswith("Energy 𝑒 equals")
    assert retriever.search("האנרגיה של הגוף", 1)[0].page == 1
    index.close()


def _sentence_rows(index, path=None):
    query = "SELECT count(*) FROM sentence_vectors" + (
        " WHERE chunk IN (SELECT rowid FROM chunks WHERE path = ?)" if path else ""
    )
    return index.catalog.db.execute(query, (path,) if path else ()).fetchone()[0]


def test_each_chunks_sentences_are_embedded_once_and_follow_their_file(tmp_path, docs, embedder):
    """Stage 2 keeps a vector for every sentence of every chunk (what a question's evidence
    scores), found by its text, the same vector the embedder gives; a changed file's old
    sentences go, a renamed file keeps its own, a deleted file's go with it."""
    import numpy as np

    from ingest.sentences import pieces_of

    index = _index(tmp_path, embedder)
    _run(index, [docs], embedder)
    sentences = [p for path in index.catalog.files() for c in index.catalog.chunks_of(path) for p in pieces_of(c.text)]
    stored = index.sentence_vectors(sentences)
    assert set(stored) == set(sentences) and "The valve torque is 42 newton metres." in stored
    fresh = embedder.embed_documents(sentences[:3])
    assert np.abs(np.stack([stored[s] for s in sentences[:3]]) - fresh).max() < 1e-3
    assert np.abs((np.stack([stored[s] for s in sentences[:3]]) - fresh) @ fresh.T).max() < 5e-4

    notes = str(docs / "notes.md")
    (docs / "notes.md").write_text("# Notes\n\nThe generator now runs on petrol.\n", encoding="utf-8")
    _run(index, [docs], embedder)
    assert "The generator now runs on petrol." in index.sentence_vectors(["The generator now runs on petrol."])
    assert not index.sentence_vectors(["The generator runs on diesel fuel only."]), "the old version's went"

    pumps = _sentence_rows(index, str(docs / "pumps.pdf"))
    os.rename(docs / "pumps.pdf", docs / "pumps-renamed.pdf")
    _run(index, [docs], embedder)
    assert _sentence_rows(index, str(docs / "pumps-renamed.pdf")) == pumps > 0
    assert _sentence_rows(index, str(docs / "pumps.pdf")) == 0

    (docs / "pumps-renamed.pdf").unlink()
    _run(index, [docs], embedder)
    assert not index.sentence_vectors(["The valve torque is 42 newton metres."])
    left = {p for path in index.catalog.files() for c in index.catalog.chunks_of(path) for p in pieces_of(c.text)}
    assert _sentence_rows(index) == len(left) and set(index.sentence_vectors(list(left))) == left, notes

    # an index from before sentence vectors: the next run, with nothing changed, embeds them
    index.catalog.db.execute("DELETE FROM sentence_vectors")
    index.catalog.db.execute("UPDATE chunks SET sentences = 0")
    report = _run(index, [docs], embedder)
    assert report.unchanged == 3 and report.sentences_added == len(left)
    assert set(index.sentence_vectors(list(left))) == left
    index.close()

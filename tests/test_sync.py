from ingest.catalog import FileRecord
from ingest.sync import plan_sync
from ingest.walk import FoundFile

ROOTS = ["/docs"]


def _hashes(table):
    def hash_file(file: FoundFile) -> str:
        calls.append(file.path)
        return table[file.path]

    calls: list[str] = []
    return hash_file, calls


def test_unchanged_files_are_not_even_hashed():
    manifest = {"/docs/a.md": FileRecord("/docs/a.md", 10, 100, "h1")}
    hash_file, calls = _hashes({})
    plan = plan_sync([FoundFile("/docs/a.md", 10, 100)], manifest, ROOTS, hash_file)
    assert [r.path for r in plan.unchanged] == ["/docs/a.md"] and calls == []


def test_touched_changed_new_deleted_renamed():
    manifest = {
        "/docs/touched.md": FileRecord("/docs/touched.md", 10, 100, "t"),
        "/docs/changed.md": FileRecord("/docs/changed.md", 10, 100, "c1"),
        "/docs/old-name.md": FileRecord("/docs/old-name.md", 10, 100, "r"),
        "/docs/gone.md": FileRecord("/docs/gone.md", 10, 100, "g"),
        "/elsewhere/kept.md": FileRecord("/elsewhere/kept.md", 10, 100, "k"),
    }
    found = [
        FoundFile("/docs/touched.md", 10, 200),
        FoundFile("/docs/changed.md", 11, 200),
        FoundFile("/docs/sub/new-name.md", 10, 300),
        FoundFile("/docs/new.md", 5, 300),
    ]
    hash_file, _ = _hashes(
        {"/docs/touched.md": "t", "/docs/changed.md": "c2", "/docs/sub/new-name.md": "r", "/docs/new.md": "n"}
    )
    plan = plan_sync(found, manifest, ROOTS, hash_file)
    assert [r.path for r in plan.touched] == ["/docs/touched.md"]
    assert [(r.path, r.sha256) for r in plan.changed] == [("/docs/changed.md", "c2")]
    assert [(old, r.path) for old, r in plan.renamed] == [("/docs/old-name.md", "/docs/sub/new-name.md")]
    assert [r.path for r in plan.new] == ["/docs/new.md"]
    assert plan.deleted == ["/docs/gone.md"], "files outside the roots are never deleted"


def test_known_bad_files_are_not_retried_until_they_change():
    bad = {"/docs/bad.pdf": (10, 100, "encrypted PDF, and no password was given")}
    hash_file, calls = _hashes({"/docs/bad.pdf": "b2"})
    plan = plan_sync([FoundFile("/docs/bad.pdf", 10, 100)], {}, ROOTS, hash_file, bad)
    assert plan.unreadable == [("/docs/bad.pdf", "encrypted PDF, and no password was given")] and calls == []
    plan = plan_sync([FoundFile("/docs/bad.pdf", 12, 101)], {}, ROOTS, hash_file, bad)
    assert [r.path for r in plan.new] == ["/docs/bad.pdf"]


def test_unreadable_while_hashing():
    def failing(file):
        raise PermissionError(13, "Permission denied")

    plan = plan_sync([FoundFile("/docs/locked.md", 1, 1)], {}, ROOTS, failing)
    assert plan.unreadable == [("/docs/locked.md", "cannot be read (Permission denied)")]


def test_a_catalog_from_before_ocr_is_upgraded_in_place(tmp_path):
    """Indexes built before chunks had an origin and files a reading record open as they are."""
    import sqlite3

    from ingest.catalog import Catalog

    path = tmp_path / "catalog.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL, chunks INTEGER NOT NULL, indexed_at REAL NOT NULL);
        CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, path TEXT NOT NULL,
            file_hash TEXT NOT NULL, ordinal INTEGER NOT NULL, page INTEGER, heading TEXT NOT NULL,
            start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
        INSERT INTO files VALUES ('/docs/a.md', 10, 1, 'abc', 1, 0);
        INSERT INTO chunks (id, path, file_hash, ordinal, page, heading, start, "end", text)
            VALUES ('c1', '/docs/a.md', 'abc', 0, NULL, 'A', 0, 5, 'hello');
        """
    )
    old.commit()
    old.close()
    catalog = Catalog(path)
    try:
        chunk = catalog.get_chunks(["c1"])["c1"]
        assert chunk.text == "hello" and chunk.origin == ""
        assert catalog.chunks_of("/docs/a.md")[0].origin == ""
        assert catalog.reading_totals() == {}
    finally:
        catalog.close()

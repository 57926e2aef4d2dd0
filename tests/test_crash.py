"""Kill `rag ingest` with SIGKILL mid-run, run it again: the index ends as a clean run's would."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = 48  # about 5 chunks each: two embedding batches, so the run is mid-way at either kill


def _corpus(folder: Path, files: int) -> None:
    folder.mkdir()
    for i in range(files):
        body = " ".join(f"Station {i} sentence {j} records river level {i * j} centimetres." for j in range(60))
        (folder / f"log-{i:03d}.md").write_text(f"# Log {i}\n\n{body}\n", encoding="utf-8")


def _ingest(folder: Path, index_dir: Path, **popen):
    env = dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "rag", "ingest", str(folder), "--json", "-q"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _catalog(index_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(index_dir / "default" / "catalog.sqlite")


def _snapshot(index_dir: Path) -> tuple:
    sys.path.insert(0, str(ROOT))
    from ingest.index import Index

    index = Index.open(index_dir, "default")
    try:
        # chunk ids start with a hash of the folder path, which differs between runs
        ids = sorted(r[0].split("-", 1)[1] for r in index.catalog.db.execute("SELECT id FROM chunks"))
        vectors = index.store.count()
        files = sorted((os.path.basename(p), r.sha256, r.chunks) for p, r in index.catalog.files().items())
        return ids, vectors, files, index.catalog.journal()
    finally:
        index.close()


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    _corpus(base / "docs", FILES)
    process = _ingest(base / "docs", base / "indexes")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    ids, vectors, files, journal = _snapshot(base / "indexes")
    return ids, vectors, files




@pytest.mark.parametrize(
    "moment",
    ["SELECT count(*) FROM journal", "SELECT count(*) FROM files"],
    ids=["during-first-vector-write", "during-first-commits"],
)
def test_sigkill_then_rerun_matches_a_clean_run(tmp_path, clean_run, moment):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    process = _ingest(docs, index_dir)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if _catalog(index_dir).execute(moment).fetchone()[0] >= 1:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    assert process.poll() is None, "the ingest finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {os.path.basename(p) for (p,) in _catalog(index_dir).execute("SELECT path FROM files")}
    assert len(finished) < FILES

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    report = json.loads(out)
    assert report["unchanged"] == len(finished), "files finished before the kill are not embedded again"
    assert report["added"] == FILES - len(finished)

    ids, vectors, files, journal = _snapshot(index_dir)
    clean_ids, clean_vectors, clean_files = clean_run
    assert ids == clean_ids, "same chunks as a clean run"
    assert vectors == clean_vectors == len(ids), "no orphan or missing vectors"
    assert files == clean_files and journal == []

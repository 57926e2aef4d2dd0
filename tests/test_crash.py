"""Faults during `rag ingest` never lose the index (issue #14), each tested on a real ingest
in a subprocess and checked with `rag status --verify` (every chunk has exactly one vector;
the fingerprint equals a clean run's):

- SIGKILL at ten points spread over a run, re-running after each;
- a full disk (RLIMIT_FSIZE): one clear line, then the next run completes;
- a deleted or damaged vectors/ folder: rebuilt from the catalog without re-reading files;
- a damaged catalog: one clear line with the rebuild command;
- `rag search` while an ingest of the same index runs: never fails.
"""

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = 48  # about 5 chunks each: two embedding batches, so the run is mid-way at either kill
KILL_POINTS = 10

pytestmark = pytest.mark.slow


def _corpus(folder: Path, files: int) -> None:
    folder.mkdir()
    for i in range(files):
        body = " ".join(f"Station {i} sentence {j} records river level {i * j} centimetres." for j in range(60))
        (folder / f"log-{i:03d}.md").write_text(f"# Log {i}\n\n{body}\n", encoding="utf-8")


def _env(index_dir: Path) -> dict:
    return dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT))


def _ingest(folder: Path, index_dir: Path, **popen):
    command = [sys.executable, "-m", "rag", "ingest", str(folder), "--json", "-q"]
    return subprocess.Popen(
        command, env=_env(index_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def _rag(index_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], env=_env(index_dir), capture_output=True, text=True, timeout=600
    )


def _verified(index_dir: Path) -> dict:
    """`rag status --verify --json`: the project's own checker."""
    result = _rag(index_dir, "status", "--verify", "--json")
    info = json.loads(result.stdout)
    assert (result.returncode == 0) == info["verify"]["consistent"], result.stderr
    return info


def _catalog(index_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(index_dir / "default" / "catalog.sqlite")


def _count(index_dir: Path, sql: str) -> int:
    try:
        return _catalog(index_dir).execute(sql).fetchone()[0]
    except sqlite3.Error:
        return -1


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    _corpus(base / "docs", FILES)
    process = _ingest(base / "docs", base / "indexes")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    info = _verified(base / "indexes")
    assert info["verify"]["consistent"] and info["chunks"] > FILES
    return info


def _kill_when(process, index_dir: Path, ready) -> bool:
    """SIGKILL ``process`` once ``ready()`` holds; False if it finished first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if ready():
            break
        time.sleep(0.01)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def test_sigkill_at_ten_points_then_rerun_matches_a_clean_run(tmp_path, clean_run):
    """Each run is killed at the next point, the next run continues from what the last left:
    at start-up, during the first vector write, and after 1, 5, 10, … files are committed."""
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    files_done = lambda: _count(index_dir, "SELECT count(*) FROM files")  # noqa: E731
    points = [
        ("start-up", lambda started: time.monotonic() - started > 0.5),
        ("first vector write", lambda started: _count(index_dir, "SELECT count(*) FROM journal") >= 1),
    ] + [(f"{n} files committed", lambda started, n=n: files_done() >= n) for n in (1, 5, 10, 16, 22, 29, 36, 42)]
    assert len(points) == KILL_POINTS
    killed = 0
    for name, ready in points:
        started = time.monotonic()
        process = _ingest(docs, index_dir)
        killed += _kill_when(process, index_dir, lambda ready=ready, started=started: ready(started))
        if index_dir.exists() and (index_dir / "default" / "catalog.sqlite").exists():
            journal = _count(index_dir, "SELECT count(*) FROM journal")
            assert journal >= 0, f"catalog readable after a kill at {name}"
    assert killed >= KILL_POINTS - 1, "the ingest finished before most kill points"

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    info = _verified(index_dir)
    assert info["verify"]["consistent"], "every chunk has exactly one vector and the journal is empty"
    assert info["verify"]["fingerprint"] == clean_run["verify"]["fingerprint"], "same chunks as a clean run"
    assert info["chunks"] == info["verify"]["vectors"] == clean_run["chunks"]


def test_sigkill_between_the_stages_leaves_a_searchable_index_that_the_next_run_finishes(tmp_path, clean_run):
    """Killed once every file is in the catalog (stage 1) but before all vectors are stored
    (stage 2): search works and says how many chunks wait, status shows them, and the next run
    embeds exactly those, reading no file again."""
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    waiting = lambda: _count(index_dir, "SELECT count(*) FROM chunks WHERE embedded = 0")  # noqa: E731
    stage_one_done = lambda: _count(index_dir, "SELECT count(*) FROM files") == FILES and waiting() > 0  # noqa: E731
    assert _kill_when(_ingest(docs, index_dir), index_dir, stage_one_done), "the ingest finished before the kill"
    pending = waiting()
    assert 0 < pending <= clean_run["chunks"]

    search = _rag(index_dir, "search", "Station 47 river level", "--json", "-k", "3")
    assert search.returncode == 0, search.stderr
    found = json.loads(search.stdout)
    assert found["pending_vectors"] == pending and found["hits"][0]["source"].endswith("log-047.md")
    assert f"{pending} chunks of index 'default' are still waiting for their vectors" in search.stderr
    assert json.loads(_rag(index_dir, "status", "--json").stdout)["pending_vectors"] == pending

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["vectors_added"]) == (0, FILES, pending)
    assert report["pending_vectors"] == 0
    info = _verified(index_dir)
    assert info["verify"]["consistent"] and info["verify"]["fingerprint"] == clean_run["verify"]["fingerprint"]
    assert info["chunks"] == info["verify"]["vectors"] and info["verify"]["pending_vectors"] == 0


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_stops_with_one_line_and_the_next_run_completes(tmp_path, clean_run):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    # files under the index may grow to 1.5 MB: the catalog fills up part-way through the run
    process = _ingest(docs, index_dir, preexec_fn=_limit_file_size(1_500_000))
    out, err = process.communicate(timeout=600)
    assert process.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("Error: cannot write to the index in ") and str(index_dir / "default") in lines[0]
    assert "MB free there" in lines[0] and "need up to about" in lines[0] and "run the same command again" in lines[0]

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    info = _verified(index_dir)
    assert info["verify"]["consistent"]
    assert info["verify"]["fingerprint"] == clean_run["verify"]["fingerprint"]


def test_deleted_vectors_are_rebuilt_from_the_catalog(tmp_path, clean_run):
    import shutil

    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    assert _ingest(docs, index_dir).wait(timeout=600) == 0
    shutil.rmtree(index_dir / "default" / "vectors")
    assert _rag(index_dir, "status", "--verify").returncode == 1

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    report = json.loads(out)
    assert report["unchanged"] == FILES and report["added"] == 0, "no file is parsed again"
    assert report["vectors_repaired"] == clean_run["chunks"]
    assert "rebuilt them from the catalog" in err
    info = _verified(index_dir)
    assert info["verify"]["consistent"] and info["verify"]["fingerprint"] == clean_run["verify"]["fingerprint"]


def test_damaged_vectors_are_set_aside_and_rebuilt(tmp_path, clean_run):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    assert _ingest(docs, index_dir).wait(timeout=600) == 0
    (index_dir / "default" / "vectors" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)

    search = _rag(index_dir, "search", "river level")
    assert search.returncode == 1 and "Traceback" not in search.stderr
    assert (
        search.stderr.startswith("Error: the vectors of index 'default'")
        and "Run: rag ingest PATH --index default" in search.stderr
    )

    rerun = _ingest(docs, index_dir)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert json.loads(out)["vectors_repaired"] == clean_run["chunks"]
    assert "moved it to" in err and list((index_dir / "default").glob("vectors.damaged-*"))
    info = _verified(index_dir)
    assert info["verify"]["consistent"] and info["verify"]["fingerprint"] == clean_run["verify"]["fingerprint"]


def test_damaged_catalog_gets_one_line_with_the_rebuild_command(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, 3)
    assert _ingest(docs, index_dir).wait(timeout=600) == 0
    catalog = index_dir / "default" / "catalog.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{catalog}{extra}").unlink(missing_ok=True)
    catalog.write_bytes(b"garbage" * 1000)
    for command in (["search", "river"], ["ingest", str(docs)], ["status"]):
        result = _rag(index_dir, *command)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("Error: the catalog of index 'default'")
        assert "rag ingest PATH --index default --rebuild" in result.stderr
    assert _rag(index_dir, "ingest", str(docs), "--rebuild").returncode == 0


def test_search_while_ingesting_never_fails_or_sees_half_a_file(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    _corpus(docs, FILES)
    process = _ingest(docs, index_dir)
    searches = 0
    while process.poll() is None and searches < 40:
        if _count(index_dir, "SELECT count(*) FROM files") < 1:
            time.sleep(0.05)
            continue
        result = _rag(index_dir, "search", "river level centimetres", "--json", "-k", "50")
        assert result.returncode == 0, result.stderr
        searches += 1
        committed = {r[0]: r[1] for r in _catalog(index_dir).execute("SELECT path, chunks FROM files")}
        for hit in json.loads(result.stdout)["hits"]:
            assert hit["source"] in committed, "a hit comes only from a file whose rows are all committed"
    process.communicate(timeout=600)
    assert process.returncode == 0 and searches >= 2

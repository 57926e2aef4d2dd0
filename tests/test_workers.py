"""Parsing in worker processes: a hang, a crash or a memory hog costs one file, not the run."""

from __future__ import annotations

import time

from ingest.types import Document
from ingest.workers import ParseLimits, ParsePool

HOSTILE = {
    ext: f"hostile_parsers:{name}"
    for ext, name in ((".hang", "hang"), (".crash", "crash"), (".hog", "hog"), (".fine", "fine"))
}


def test_hang_crash_and_memory_hog_each_cost_one_file(tmp_path):
    files = []
    for name in ("a.fine", "b.hang", "c.fine", "d.crash", "e.hog", "f.fine", "g.fine"):
        (tmp_path / name).write_text(f"text of {name}", encoding="utf-8")
        files.append((str(tmp_path / name), 10))
    limits = ParseLimits(memory_mb=1024, seconds=3, seconds_per_mb=0)
    started = time.monotonic()
    with ParsePool(2, limits, loaders=HOSTILE) as pool:
        results = dict(pool.parse(files))
    elapsed = time.monotonic() - started
    assert sorted(results) == list(range(len(files))), "every file gets exactly one outcome"
    for job in (0, 2, 5, 6):
        assert isinstance(results[job], Document) and results[job].blocks[0].text.startswith("text of")
    assert results[1].startswith("parsing took longer than 3 s and was stopped")
    assert results[3].startswith("the parser crashed on this file")
    assert "memory" in results[4]
    assert elapsed < 60, "the hung parser was stopped, not waited for"


def test_pool_starts_no_process_without_work():
    pool = ParsePool(2)
    assert list(pool.parse([])) == []
    assert pool._workers == []
    pool.close()


def test_a_worker_that_died_between_files_is_replaced(tmp_path):
    """Sending to a dead worker raises BrokenPipeError; the file goes to a fresh worker."""
    files = []
    for name in ("a.fine", "b.fine", "c.fine"):
        (tmp_path / name).write_text(f"text of {name}", encoding="utf-8")
        files.append((str(tmp_path / name), 10))
    with ParsePool(1, ParseLimits(memory_mb=1024, seconds=10, seconds_per_mb=0), loaders=HOSTILE) as pool:
        dead = pool._spawn()
        dead.process.kill()
        dead.process.join(5)
        pool._workers.append(dead)
        results = dict(pool.parse(files))
        assert dead not in pool._workers
    assert sorted(results) == [0, 1, 2]
    assert all(isinstance(result, Document) for result in results.values())

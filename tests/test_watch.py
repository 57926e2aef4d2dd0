"""rag ingest --watch: a sync runs again when a file appears, changes or goes, and only then."""

from __future__ import annotations

import threading
import time

from rag.api import watch
from rag.settings import load_settings


def _wait_for(reports, count, timeout=120):
    deadline = time.monotonic() + timeout
    while len(reports) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(reports) >= count, f"only {len(reports)} syncs"


def test_watch_syncs_on_change_and_idles_otherwise(env_clean, model_cache):
    docs = env_clean / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nThe spare fuse is in the red box.\n", encoding="utf-8")
    settings = load_settings({"index_dir": str(env_clean / "indexes"), "cache_dir": str(model_cache)})
    reports, stop = [], threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(settings, [str(docs)]),
        kwargs={"interval": 0.2, "on_report": reports.append, "stop": stop.is_set},
    )
    thread.start()
    try:
        _wait_for(reports, 1)
        assert reports[0].added == 1
        time.sleep(1.0)
        assert len(reports) == 1, "nothing changed, so no sync"
        (docs / "b.md").write_text("# B\n\nThe radio battery lasts two days.\n", encoding="utf-8")
        _wait_for(reports, 2)
        assert reports[1].added == 1 and reports[1].unchanged == 1
        (docs / "a.md").unlink()
        _wait_for(reports, 3)
        assert reports[2].deleted == 1
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()

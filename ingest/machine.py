"""Facts about this machine that several parts size themselves by: usable cores, the cache folder."""

from __future__ import annotations

import os
import re
from pathlib import Path


def physical_cores() -> int:
    """Cores this process may use, not counting hyper-threads (they rarely help matrix work)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    try:
        with open("/proc/cpuinfo") as handle:
            info = handle.read()
        siblings = int(re.search(r"^siblings\s*:\s*(\d+)", info, re.M).group(1))
        cores = int(re.search(r"^cpu cores\s*:\s*(\d+)", info, re.M).group(1))
    except (OSError, AttributeError, ValueError):
        return max(1, available)
    return max(1, available // max(1, siblings // max(1, cores)))


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("RAG_CACHE_DIR") or Path(base) / "rag")

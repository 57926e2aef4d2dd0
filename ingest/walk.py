"""Find the files to index under the given roots.

Regular files only. Links are followed only when they lead to a place inside one of the
roots; a file or folder reached twice (through links) is visited once; hidden entries and
Office lock files are passed over silently; everything else that cannot be indexed is
reported with a reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError, too_large
from ingest.loaders import supported

MAX_FILE_MB = 200
"""Files larger than this are skipped unread (the ``max_file_mb`` setting's default)."""


@dataclass(frozen=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int


@dataclass
class WalkResult:
    files: list[FoundFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def is_ignored_name(name: str) -> bool:
    """Hidden files and folders, Office lock files (~$report.docx, .~lock.report.odt#)."""
    return name.startswith((".", "~$"))


def inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def resolve_roots(paths: Sequence[str | Path]) -> list[str]:
    missing = [str(p) for p in paths if not os.path.exists(p)]
    if missing:
        raise IngestError(f"no such file or folder: {', '.join(missing)}")
    return [os.path.realpath(p) for p in paths]


def discover(roots: Sequence[str], *, max_file_bytes: int) -> WalkResult:
    """Walk resolved ``roots``; returns files sorted by path and (path, reason) for the rest."""
    result = WalkResult()
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()

    def consider_file(shown: str, real: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return
        seen_files.add(key)
        if not stat.S_ISREG(st.st_mode):
            result.skipped.append((shown, "not a regular file (FIFO, socket or device); not read"))
        elif not supported(Path(real)):
            suffix = Path(real).suffix or Path(real).name
            result.skipped.append((shown, f"unsupported file type '{suffix}'"))
        elif st.st_size > max_file_bytes:
            limit = max_file_bytes // (1024 * 1024)
            result.skipped.append((shown, too_large(limit)))
        else:
            result.files.append(FoundFile(real, st.st_size, st.st_mtime_ns))

    stack: list[str] = []
    for root in roots:
        st = os.stat(root)
        if stat.S_ISDIR(st.st_mode):
            stack.append(root)
        else:
            consider_file(root, root, st)

    while stack:
        directory = stack.pop()
        try:
            dst = os.stat(directory)
            if (dst.st_dev, dst.st_ino) in seen_dirs:
                continue
            seen_dirs.add((dst.st_dev, dst.st_ino))
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except PermissionError:
            result.skipped.append((directory, "permission denied (folder not read)"))
            continue
        except OSError as exc:
            result.skipped.append((directory, f"folder not readable ({exc.strerror})"))
            continue
        for entry in entries:
            if is_ignored_name(entry.name):
                continue
            shown = entry.path
            try:
                if entry.is_symlink():
                    real = os.path.realpath(entry.path)
                    if not os.path.exists(real):
                        result.skipped.append((shown, "dangling link (its target does not exist)"))
                        continue
                    if not inside(real, roots):
                        result.skipped.append(
                            (shown, "link to a place outside the folders being ingested; not followed")
                        )
                        continue
                else:
                    real = entry.path
                st = os.stat(real)
            except OSError as exc:
                result.skipped.append((shown, f"cannot be read ({exc.strerror})"))
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(real)
            else:
                consider_file(shown, os.path.realpath(real), st)
    result.files.sort(key=lambda f: f.path)
    return result

"""Manifest diff: which files are new, changed, renamed, deleted or unchanged.

Unchanged means same size and modification time: such files are never opened. A file whose
size or time changed is hashed; the same hash means only its time changed ("touched").
A new path with the hash of a vanished path is a rename: its vectors are reused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from ingest.catalog import FileRecord
from ingest.walk import FoundFile, inside


@dataclass
class Plan:
    unchanged: list[FileRecord] = field(default_factory=list)
    touched: list[FileRecord] = field(default_factory=list)
    new: list[FileRecord] = field(default_factory=list)
    changed: list[FileRecord] = field(default_factory=list)
    renamed: list[tuple[str, FileRecord]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def plan_sync(
    found: Sequence[FoundFile],
    manifest: dict[str, FileRecord],
    roots: Sequence[str],
    hash_file: Callable[[FoundFile], str],
    known_bad: dict[str, tuple[int, int, str]] | None = None,
    partial: Collection[str] = (),
) -> Plan:
    """Compare what is on disk under ``roots`` with the manifest.

    ``hash_file`` returns the file's sha256, or raises OSError when it cannot be read.
    Files of the manifest outside ``roots`` are left alone: ingesting one folder never
    deletes what another folder added to the same index. ``known_bad`` holds files that
    failed before (path -> size, mtime, reason); unchanged since, they are not tried again.
    ``partial`` holds files indexed without some pages: unchanged, they are read again (as
    changed), so their lost pages are retried.
    """
    known_bad = known_bad or {}
    plan = Plan()
    new_by_hash: dict[str, list[FileRecord]] = {}
    present = set()
    for file in found:
        present.add(file.path)
        bad = known_bad.get(file.path)
        if bad and bad[:2] == (file.size, file.mtime_ns):
            plan.unreadable.append((file.path, bad[2]))
            continue
        known = manifest.get(file.path)
        if known and (known.size, known.mtime_ns) == (file.size, file.mtime_ns):
            (plan.changed if file.path in partial else plan.unchanged).append(known)
            continue
        try:
            digest = hash_file(file)
        except OSError as exc:
            plan.unreadable.append((file.path, f"cannot be read ({exc.strerror or exc})"))
            continue
        record = FileRecord(file.path, file.size, file.mtime_ns, digest)
        if known and known.sha256 == digest:
            plan.touched.append(record)
        elif known:
            plan.changed.append(record)
        else:
            new_by_hash.setdefault(digest, []).append(record)

    vanished = [path for path in manifest if path not in present and inside(path, roots)]
    for path in vanished:
        candidates = new_by_hash.get(manifest[path].sha256)
        if candidates:
            plan.renamed.append((path, candidates.pop(0)))
        else:
            plan.deleted.append(path)
    plan.new = sorted((r for records in new_by_hash.values() for r in records), key=lambda r: r.path)
    return plan

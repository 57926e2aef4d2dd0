"""The exceptions `ingest` raises. Messages are plain sentences that say what to do next."""


class IngestError(Exception):
    """Base class: something the user can fix."""


class UnreadableFile(IngestError):
    """One file cannot be turned into text; the run skips it and goes on.

    The message is the reason only (the caller adds the path), e.g.
    ``encrypted PDF (pass --password to read it)``.
    """


class IndexMismatch(IngestError):
    """The index was built with another embedder than the one asked for."""


class IndexBusy(IngestError):
    """Another process is writing to the index."""


class IndexWriteError(IngestError):
    """The index itself cannot be written (disk full, read-only, damaged): the run stops.

    What was committed before stays; the next run picks up from there.
    """


def is_storage_failure(exc: BaseException) -> bool:
    """Does ``exc`` come from the disk under the index (full, over quota, read-only, I/O error)
    rather than from one file's content?"""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG):
        return True
    text = str(exc).lower()
    if isinstance(exc, sqlite3.DatabaseError):
        return any(
            w in text for w in ("disk is full", "disk i/o", "readonly", "malformed", "not a database", "unable to open")
        )
    return any(
        w in text
        for w in ("no space left", "disk is full", "file too large", "quota exceeded", "read-only file system")
    )

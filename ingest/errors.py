"""The exceptions `ingest` raises. Messages are plain sentences that say what to do next."""


class IngestError(Exception):
    """Base class: something the user can fix.

    ``remedy`` names the fix in the library's own terms, for the face in use to phrase (the CLI
    as a command line: ``rag.errors.explain``): ``"ingest"`` (sync the index again), ``"repair"``
    (sync again; the vectors are rebuilt from the catalog), ``"rebuild"`` (rebuild the index
    from its files), ``"embedder"`` (open it with the embedder it was built with, ``embedder``).
    """

    def __init__(
        self, message: str, *, remedy: str | None = None, index: str | None = None, embedder: str | None = None
    ):
        super().__init__(message)
        self.remedy, self.index, self.embedder = remedy, index, embedder


NEEDS_PASSWORD = "encrypted PDF, and no password was given"
TOO_LARGE = "larger than the {} MB limit"
"""Skip reasons whose fix each face phrases its own way (``rag.errors.phrase_skip``: a flag)."""


def too_large(limit_mb: int) -> str:
    """Why a file over the size limit is skipped."""
    return TOO_LARGE.format(limit_mb)


class UnreadableFile(IngestError):
    """One file cannot be turned into text; the run skips it and goes on.

    The message is the reason only (the caller adds the path), e.g.
    ``unsupported file type '.xyz'``.
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

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

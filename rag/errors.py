"""Exceptions of the query side; the CLI prints them as ``Error: <message>``."""

import re

from ingest.errors import NEEDS_PASSWORD, TOO_LARGE, IngestError


class RagError(IngestError):
    """Something the user can fix; the message says how."""


class ModelError(RagError):
    """A model file is missing, damaged or unusable."""


class Cancelled(Exception):
    """The answer was stopped (the reader pressed Stop, the client went away): not an error."""


def explain(exc: IngestError) -> str:
    """The error's message with its remedy (``IngestError.remedy``) as the command that applies it."""
    index = exc.index or "NAME"
    commands = {
        "ingest": f"Run: rag ingest PATH --index {index}",
        "repair": f"Run: rag ingest PATH --index {index} (it rebuilds them from the catalog, without re-reading files)",
        "rebuild": f"Rebuild the index from your files: rag ingest PATH --index {index} --rebuild",
        "embedder": f"Use --embedder {exc.embedder}, or rebuild it: rag ingest PATH --index {index} --rebuild",
    }
    command = commands.get(exc.remedy or "")
    return f"{exc} {command}" if command else str(exc)


_TOO_LARGE = re.compile(re.escape(TOO_LARGE).replace(re.escape("{}"), r"\d+"))


def phrase_skip(reason: str) -> str:
    """A skip reason from ``ingest`` with the way to fix it that this face offers (a flag)."""
    if reason == NEEDS_PASSWORD:
        return "encrypted PDF (pass --password to read it)"
    if _TOO_LARGE.fullmatch(reason):
        return f"{reason} (raise it with --max-file-mb)"
    return reason

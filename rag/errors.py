"""Exceptions of the query side; the CLI prints them as ``Error: <message>``."""

from ingest.errors import IngestError


class RagError(IngestError):
    """Something the user can fix; the message says how."""


class ModelError(RagError):
    """A model file is missing, damaged or unusable."""


def explain(exc: IngestError) -> str:
    """The error's message with its remedy (``IngestError.remedy``) as the command that applies it."""
    index = exc.index or "NAME"
    commands = {
        "ingest": f"Run: rag ingest PATH --index {index}",
        "repair": f"Run: rag ingest PATH --index {index} (it rebuilds them from the catalog, without re-reading files)",
        "rebuild": f"Rebuild the index from your files: rag ingest PATH --index {index} --rebuild",
        "embedder": f"Use --embedder {exc.embedder}, or rebuild it: rag ingest PATH --index {index} --rebuild",
    }
    command = commands.get(getattr(exc, "remedy", None) or "")
    return f"{exc} {command}" if command else str(exc)

"""Exceptions of the query side; the CLI prints them as ``Error: <message>``."""

from ingest.errors import IngestError


class RagError(IngestError):
    """Something the user can fix; the message says how."""


class ModelError(RagError):
    """A model file is missing, damaged or unusable."""

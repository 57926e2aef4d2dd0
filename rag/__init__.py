"""Ask questions of your own documents, offline. `rag` imports `ingest`; never the reverse."""

__version__ = "0.1.0"

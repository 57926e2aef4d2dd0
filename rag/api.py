"""The library's face for the CLI (and later the server): settings in, objects out."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.embedder import LazyEmbedder
from ingest.index import Index
from ingest.pipeline import SyncOptions, SyncReport, sync
from rag.engine import Engine
from rag.retriever import Retriever
from rag.settings import Settings


def run_ingest(
    settings: Settings,
    paths: Sequence[str],
    *,
    password: str | None = None,
    rebuild: bool = False,
    progress=None,
    on_skip: Callable[[str, str], None] | None = None,
) -> SyncReport:
    from ingest.walk import resolve_roots

    resolve_roots(paths)  # fail on a missing path before touching the index
    directory = settings.index_path / settings.index
    if rebuild and directory.exists():
        shutil.rmtree(directory)
    existing = (directory / "catalog.sqlite").exists()
    embedder_key = settings.embedder
    if existing and settings.origins.get("embedder") == "default":
        embedder_key = Index.open(settings.index_path, settings.index).embedder_name or embedder_key
    embedder = LazyEmbedder(embedder_key, settings.effective_threads())
    index = Index.create(settings.index_path, settings.index, embedder_name=embedder.name, dimension=embedder.dimension)
    try:
        index.check_embedder(embedder.name, embedder.dimension, action="extended")
        options = SyncOptions(
            password=password,
            max_file_bytes=settings.max_file_mb * 1024 * 1024,
            chunk_tokens=min(settings.chunk_tokens, embedder.max_tokens - 8),
        )
        with index.writer():
            return sync(paths, index, embedder, options, progress=progress, on_skip=on_skip)
    finally:
        index.close()


def open_index(settings: Settings) -> Index:
    return Index.open(settings.index_path, settings.index)


def open_retriever(settings: Settings, index: Index) -> Retriever:
    embedder = LazyEmbedder(index.embedder_name or settings.embedder, settings.effective_threads())
    return Retriever(index, embedder)


def load_generator(settings: Settings):
    from rag.generator import LlamaCppGenerator
    from rag.models import resolve_model

    path = resolve_model(settings.model, settings.cache_path)
    return LlamaCppGenerator(path, threads=settings.effective_threads(), context_tokens=settings.context_tokens)


def build_engine(settings: Settings, index: Index) -> Engine:
    return Engine(
        open_retriever(settings, index),
        lambda: load_generator(settings),
        top_k=settings.top_k,
        min_relevance=settings.min_relevance,
        max_answer_tokens=settings.max_answer_tokens,
        context_tokens=settings.context_tokens,
    )


def display_path(path: str) -> str:
    """A path as a person would type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path

"""What the server holds: settings, one engine per index sharing the loaded models, and the
answer queue. Every face (page, JSON API, OpenAI API, MCP) answers through ``Service.answer``."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rag.engine import DEFAULT_OPTIONS, AnswerOptions
from rag.errors import Cancelled
from rag.serve.http import in_thread, thread_events
from rag.serve.queue import AnswerQueue, SearchGate, lower_priority
from rag.settings import Settings


def with_index(settings: Settings, name: str) -> Settings:
    return dataclasses.replace(settings, index=name, origins=dict(settings.origins))


class Service:
    """An index is reopened when its catalog's last sync changes, so an `rag ingest` into it
    while serving is seen by the next request."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.models: dict[str, object] = {}
        self._engines: dict[str, tuple[str | None, object, object]] = {}
        self._open = threading.Lock()
        self.queue = AnswerQueue()
        self.searches = SearchGate()
        self.answering = ThreadPoolExecutor(1, thread_name_prefix="rag-answer", initializer=lower_priority)
        """The one thread the model answers in; the threads llama.cpp starts from it inherit its
        lower CPU priority, so that searches keep their speed while an answer streams."""

    def index_names(self) -> list[str]:
        from rag.api import index_names

        return index_names(self.settings.index_path)

    def _has_catalog(self, name: str) -> bool:
        return (self.settings.index_path / name / "catalog.sqlite").is_file()

    def check_index(self, name: str | None) -> str:
        """``name`` (default: the served index) if it is an index here; IndexNotFound if not.
        One stat, not a listing: every request asks this on the event loop."""
        name = name or self.settings.index
        if name in ("", ".", "..") or name != Path(name).name or not self._has_catalog(name):
            from ingest.index import IndexNotFound

            raise IndexNotFound(self.settings.index_path, name)
        return name

    def engine(self, name: str):
        """The engine over index ``name``, reopened if an ingest changed the index since."""
        from rag.api import build_engine, open_index

        with self._open:
            cached = self._engines.get(name)
            if cached is not None:
                last_sync, index, engine = cached
                if index.catalog.get_meta("last_sync") == last_sync:
                    return engine
                index.close()
            settings = with_index(self.settings, name)
            index = open_index(settings)
            engine = build_engine(settings, index, models=self.models)
            self._engines[name] = (index.catalog.get_meta("last_sync"), index, engine)
            return engine

    def catalog(self, name: str):
        return self.engine(name).retriever.index.catalog

    def _run_answer(
        self,
        name: str,
        question: str,
        history: list,
        options: AnswerOptions,
        events: Callable,
        stop: threading.Event,
        files: list[str] | None = None,
    ):
        """Blocking: rewrite a follow-up, then answer; every step is told to ``events``. Raises
        ``Cancelled`` soon after ``stop`` is set."""
        from rag.conversation import standalone_question

        if stop.is_set():  # the client left while this waited for the thread
            raise Cancelled()
        engine = self.engine(name)
        standalone = standalone_question(engine, history, question, stopped=stop.is_set)
        if standalone != question:
            events("rewrite", {"question": standalone})

        def text(piece: str) -> None:
            events("text", {"text": piece})
            self.searches.let_searches_pass()

        paths = None
        if files:
            from rag.api import resolve_files

            paths = resolve_files(engine.retriever.index, files)
        return engine.ask(
            standalone,
            on_text=text,
            on_evidence=lambda evidence: events("evidence", evidence.as_dict()),
            files=paths,
            options=options,
            stopped=stop.is_set,
            on_progress=lambda message: events("progress", {"message": message}),
        )

    async def answer(
        self,
        name: str,
        question: str,
        history: list,
        options: AnswerOptions = DEFAULT_OPTIONS,
        stop: threading.Event | None = None,
        files: list[str] | None = None,
    ) -> AsyncIterator[tuple[str, object]]:
        """(event, data) for one answer: "queue" (its place, at once and as it moves), "rewrite",
        "evidence", "progress" (a summary's), "text", then "done" with the answer (``Answer``).
        ``files``: file ids, paths or names the answer is limited to. When the consumer stops
        listening (a client gone: the stream closed or cancelled), or ``stop`` is set, the model
        stops within a moment and the next answer in the queue starts."""
        stop = stop or threading.Event()
        try:
            # opened here, not in the answer thread: threads that Chroma starts would inherit its lower priority
            await in_thread(self.engine, name)
            async with self.queue.ticket() as ticket:
                async for place in self.queue.places(ticket):
                    yield "queue", {"position": place}
                async for kind, data in thread_events(
                    lambda put: self._run_answer(name, question, history, options, put, stop, files), self.answering
                ):
                    yield kind, data
        finally:
            stop.set()

    def close(self) -> None:
        self.answering.shutdown(wait=False, cancel_futures=True)
        with self._open:
            for _, index, _ in self._engines.values():
                index.close()
            self._engines.clear()

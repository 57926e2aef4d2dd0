"""Parsing in worker processes: a parser that hangs, crashes or eats memory costs one file.

Each worker is a spawned process with an address-space limit that reads one file at a
time (``load_document``) and sends the Document back. The parent keeps two files queued
per worker, so workers go on parsing while the parent embeds. A worker that dies takes only
the file it was reading with it, and one that runs past the file's time limit is killed;
either is replaced and the run goes on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Document

QUEUED_PER_WORKER = 2
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ParseLimits:
    memory_mb: int = 2048
    """Address space of a worker; a parser that needs more gets MemoryError for that file."""
    seconds: float = 60.0
    seconds_per_mb: float = 2.0
    """A file may take ``seconds + seconds_per_mb * size in MB`` to parse."""

    def timeout(self, size: int) -> float:
        return self.seconds + self.seconds_per_mb * size / 2**20


def _serve(conn, memory_mb: int, loaders: dict[str, str]) -> None:  # pragma: no cover - runs in the worker
    import resource

    from ingest.loaders import LOADERS, load_document
    from ingest.offline import enforce_offline

    enforce_offline()
    LOADERS.update(loaders)
    limit = memory_mb * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        job_id, path, read = job
        conn.send(("start", job_id))
        try:
            result = load_document(Path(path), **read)
        except UnreadableFile as exc:
            result = str(exc)
        except MemoryError:
            result = f"needs more than the parser's {memory_mb} MB of memory (raise parse_memory_mb to read it)"
        try:
            conn.send(("done", job_id, result))
        except MemoryError:
            conn.send(("done", job_id, f"needs more than the parser's {memory_mb} MB of memory"))


@dataclass
class _Worker:
    process: object
    conn: object
    queued: deque = field(default_factory=deque)
    started_at: float | None = None


class ParsePool:
    """``parse(jobs)`` yields (job index, Document or reason it could not be read), in the
    order the files finish. Workers start on the first job; ``close()`` stops them."""

    def __init__(
        self,
        workers: int,
        limits: ParseLimits | None = None,
        *,
        read: dict | None = None,
        loaders: dict[str, str] | None = None,
    ):
        """``read``: keyword arguments of ``load_document`` for every file (password, ocr);
        ``loaders`` adds entries to the workers' loader registry (extension -> "module:function")."""
        import multiprocessing

        self.size = max(1, workers)
        self.limits = limits or ParseLimits()
        self.read = dict(read or {})
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._loaders = dict(loaders or {})

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self.limits.memory_mb, self._loaders), daemon=True, name="rag-parse"
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if kill:
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        self._workers.remove(worker)

    def parse(
        self, jobs: Sequence[tuple[str, int]], *, when_idle: Callable[[], bool] | None = None
    ) -> Iterator[tuple[int, Document | str]]:
        """``jobs`` are (path, size in bytes). ``when_idle`` is called whenever no file is ready
        (it does a short piece of other work and says whether there was any), so the caller's
        own work fills the time without delaying the next finished file by more than one piece."""
        waiting = deque(range(len(jobs)))
        from multiprocessing.connection import wait

        def feed(worker: _Worker) -> None:
            while waiting and len(worker.queued) < QUEUED_PER_WORKER:
                job = waiting.popleft()
                try:
                    worker.conn.send((job, jobs[job][0], self.read))
                except OSError:  # the worker died since its last message
                    waiting.appendleft(job)
                    if not worker.queued:  # nothing of its own left to report; replace it now
                        self._retire(worker, kill=True)
                    return  # otherwise its end of the pipe reports the crash on the next wait
                worker.queued.append(job)

        def lost(worker: _Worker, reason: str) -> tuple[int, str]:
            job = worker.queued.popleft()
            waiting.extendleft(reversed(worker.queued))  # the others go to the next worker
            self._retire(worker, kill=True)
            return job, reason

        while waiting or any(w.queued for w in self._workers):
            while len(self._workers) < min(self.size, len(waiting) + sum(len(w.queued) for w in self._workers)):
                self._workers.append(self._spawn())
            for worker in list(self._workers):
                feed(worker)
            busy = [w for w in self._workers if w.queued]
            ready = wait([w.conn for w in busy], timeout=0)
            if not ready and not (when_idle and when_idle()):
                ready = wait([w.conn for w in busy], timeout=POLL_SECONDS)
            for conn in ready:
                worker = next(w for w in busy if w.conn is conn)
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    worker.process.join(1)
                    code = worker.process.exitcode
                    yield lost(
                        worker, f"the parser crashed on this file (exit code {code}); the run went on without it"
                    )
                    continue
                if message[0] == "start":
                    worker.started_at = time.monotonic()
                else:
                    worker.queued.popleft()
                    worker.started_at = None
                    yield message[1], message[2]
            now = time.monotonic()
            for worker in list(self._workers):
                if worker.queued and worker.started_at is not None:
                    allowed = self.limits.timeout(jobs[worker.queued[0]][1])
                    if now - worker.started_at > allowed:
                        yield lost(
                            worker,
                            f"parsing took longer than {allowed:.0f} s and was stopped (raise parse_timeout_s to allow more)",
                        )

    def close(self) -> None:
        for worker in list(self._workers):
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(2)
            self._retire(worker, kill=worker.process.is_alive())

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_in_process(jobs: Sequence[tuple[str, int]], read: dict) -> Iterator[tuple[int, Document | str]]:
    """The same contract as ParsePool.parse, in this process (no isolation; for debugging)."""
    from ingest.loaders import load_document

    for job, (path, _) in enumerate(jobs):
        try:
            yield job, load_document(Path(path), **read)
        except UnreadableFile as exc:
            yield job, str(exc)

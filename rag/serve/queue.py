"""The one model's answer queue: answers take turns, each waiting request hears its place as
it changes, and searches slip in between an answer's tokens."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

ANSWER_NICENESS = 10
"""How much lower than the server's other threads (searches, status, files) answers run."""


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread, and the threads it
    starts inherit it). Where that is not possible, nothing changes."""
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + ANSWER_NICENESS)
    except (AttributeError, OSError):
        pass


class AnswerQueue:
    """Answers in order of arrival, one at a time. ``turn()`` yields the request's place (the
    number of answers ahead of it) at once and each time it changes, and returns when it is
    the request's turn; leaving the ``async with`` (done, or the client gone) frees the place."""

    def __init__(self) -> None:
        self._tickets: list[object] = []
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def ticket(self) -> AsyncIterator[object]:
        ticket = object()
        async with self._changed:
            self._tickets.append(ticket)
        try:
            yield ticket
        finally:
            async with self._changed:
                self._tickets.remove(ticket)
                self._changed.notify_all()

    async def places(self, ticket: object) -> AsyncIterator[int]:
        """The ticket's place while it waits: at once, then on every change; ends at its turn."""
        told = None
        while True:
            async with self._changed:
                place = self._tickets.index(ticket)
                while place == told and place > 0:
                    await self._changed.wait()
                    place = self._tickets.index(ticket)
            if place == 0:
                return
            told = place
            yield place

    @property
    def waiting(self) -> int:
        return len(self._tickets)


class SearchGate:
    """Searches in flight, so that a streaming answer pauses between its tokens while one runs:
    a search costs milliseconds, a token's pause is not seen, and the search does not share the
    CPU and memory bandwidth with the model."""

    PAUSE_S = 0.25
    """Longest pause of the answer at one token, however many searches follow one another."""

    def __init__(self) -> None:
        self._running = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self):
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def let_searches_pass(self) -> None:
        """Called by the answering thread between tokens: wait while searches run (bounded)."""
        deadline = time.monotonic() + self.PAUSE_S
        while self._running and time.monotonic() < deadline:
            time.sleep(0.002)

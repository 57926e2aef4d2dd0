"""Progress bars on stderr, drawn from the library's progress(stage, done, total) callback."""

from __future__ import annotations

import sys
import time

LABELS = {
    "hash": "checking",
    "parse": "parsing",
    "searchable": "searchable",
    "embed": "embedding",
    "queries": "searching",
    "answers": "answering",
}


def _eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressPrinter:
    def __init__(self, stream=None, *, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = 0.1 if self.tty else 5.0
        self._started: dict[str, float] = {}
        self._drawn = 0.0
        self._line = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage == "searchable":
            if done:  # once per run, never throttled, on a line of its own so that it stays on screen
                clear = "\r\x1b[2K" if self.tty else ""
                self.stream.write(
                    f"{clear}searchable: the {done} new or changed files, by their words; their vectors follow\n"
                )
                self.stream.flush()
                self._line = False
            return
        now = time.monotonic()
        start = self._started.setdefault(stage, now)
        final = done >= total and stage != "embed"
        if now - self._drawn < self.interval and not (final and self.tty):
            return
        self._drawn = now
        elapsed = now - start
        rate = done / elapsed if elapsed > 0.5 else 0.0
        label = LABELS.get(stage, stage)
        if stage == "embed" and total <= done:
            text = f"{label:>9} {done} chunks" + (f"  {rate:.1f}/s" if rate else "")
        else:
            width = 24
            filled = int(width * done / total) if total else width
            text = f"{label:>9} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            if rate:
                text += f"  {rate:.1f}/s  ETA {_eta((total - done) / rate)}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self._line = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._line:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._line = False

"""Pure: keep only citation markers that point at a passage the model was given.

Works on a stream: ``feed`` returns the text that is safe to show so far, holding back a
possibly unfinished marker such as ``[1`` until it is complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MARKER = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")
_OPEN_TAIL = re.compile(r"\[[\d\s,;]*$")


@dataclass
class CitationFilter:
    valid: set[int]
    cited: list[int] = field(default_factory=list)
    removed: int = 0
    _held: str = ""

    def _rewrite(self, match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", match.group(1))]
        kept = [n for n in numbers if n in self.valid]
        self.removed += len(numbers) - len(kept)
        for n in kept:
            if n not in self.cited:
                self.cited.append(n)
        return "".join(f"[{n}]" for n in kept)

    def feed(self, text: str) -> str:
        text = self._held + text
        tail = _OPEN_TAIL.search(text)
        if tail and len(text) - tail.start() < 24:
            self._held, text = text[tail.start() :], text[: tail.start()]
        else:
            self._held = ""
        return _MARKER.sub(self._rewrite, text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return _MARKER.sub(self._rewrite, text)


def clean_citations(text: str, valid: set[int]) -> tuple[str, list[int], int]:
    """Whole-text form: (text with invalid markers removed, cited numbers, markers removed)."""
    f = CitationFilter(valid)
    out = f.feed(text) + f.flush()
    return out, f.cited, f.removed

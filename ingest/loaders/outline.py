"""The heading path that loaders keep while they walk a document."""

from __future__ import annotations


class Outline:
    """Section titles above the current point, outermost first.

    ``enter(level, title)`` closes every open section at ``level`` or deeper, then opens
    the new one; ``path`` is what a Block stores as its ``headings``.
    """

    def __init__(self, *titles: str):
        self._stack: list[tuple[int, str]] = [(-1, t) for t in titles if t]

    def enter(self, level: int, title: str) -> None:
        title = " ".join(title.split())
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        if title:
            self._stack.append((level, title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)

    def __bool__(self) -> bool:
        return bool(self._stack)

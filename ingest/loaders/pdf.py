"""PDF via pypdf: one block per page, page numbers kept, section titles from the outline."""

from __future__ import annotations

import bisect
import logging
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block


def load_pdf(path: Path, *, password: str | None = None, **_: object) -> list[Block]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(password or ""):
            if password:
                raise UnreadableFile("encrypted PDF and the password given does not open it")
            raise UnreadableFile("encrypted PDF (pass --password to read it)")
        pages = reader.pages
        count = len(pages)
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise UnreadableFile(f"not a readable PDF ({_short(exc)})") from exc

    titles = _outline_titles(reader)
    starts = [p for p, _ in titles]
    blocks = []
    for number in range(1, count + 1):
        try:
            text = pages[number - 1].extract_text() or ""
        except Exception:  # one broken page must not cost the others
            continue
        text = _tidy(text)
        if not text:
            continue
        at = bisect.bisect_right(starts, number) - 1
        headings = titles[at][1] if at >= 0 else ()
        blocks.append(Block(text, page=number, headings=headings))
    if not blocks:
        raise UnreadableFile("no extractable text (scanned image? OCR is not enabled)")
    return blocks


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\x00", "").split("\n")]
    return "\n".join(lines).strip()


def _outline_titles(reader) -> list[tuple[int, tuple[str, ...]]]:
    """(first page, heading path) for each outline entry, sorted by page."""
    found: list[tuple[int, tuple[str, ...]]] = []

    def walk(items, parents: tuple[str, ...]) -> None:
        last: tuple[str, ...] = parents
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            try:
                title = str(item.title).strip()
                page = reader.get_destination_page_number(item) + 1
            except Exception:
                continue
            last = parents + (title,)
            found.append((page, last))

    try:
        walk(reader.outline, ())
    except Exception:
        return []
    found.sort(key=lambda entry: entry[0])
    return found


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]

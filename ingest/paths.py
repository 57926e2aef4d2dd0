"""Pure: file paths as the index stores them and as people read them.

A POSIX file name is any bytes but "/" and NUL. Python hands a name that is not valid UTF-8
(a latin-1 or cp1255 name from an old Windows archive) over as a str with lone surrogates,
which SQLite and Chroma cannot store. ``stored`` turns such a path into plain text that
maps back to the same bytes (``from_stored``); every other path is stored as it is, so an
existing index reads the same. ``readable`` is for output only: undecodable bytes become
U+FFFD and control characters (a newline or tab in a name) are written as escapes, so one
file stays one line and ``--json`` stays valid.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote_from_bytes, unquote_to_bytes

ESCAPED = "fsbytes:"
"""Prefix of a stored path kept as percent-encoded bytes. Indexed paths are absolute, so a
real path never starts with it; one that does is escaped too, which keeps the map reversible."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _is_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stored(path: str) -> str:
    """The text the catalog and the vector store keep for ``path``; ``from_stored`` undoes it."""
    if _is_text(path) and not path.startswith(ESCAPED):
        return path
    return ESCAPED + quote_from_bytes(os.fsencode(path), safe="/")


def from_stored(text: str) -> str:
    """The path (as the OS names it) that ``stored`` gave ``text`` for."""
    if text.startswith(ESCAPED):
        return os.fsdecode(unquote_to_bytes(text[len(ESCAPED) :]))
    return text


def readable(path: str) -> str:
    """``path`` for people: bytes that are not UTF-8 as U+FFFD, control and bidi-control
    characters as visible escapes (``\\n``, ``\\x1b``, ``\\u202e``)."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def file_name(path: str) -> str:
    """The last part of ``path``, for people (see ``readable``)."""
    return readable(path.rsplit("/", 1)[-1])


def file_id(path: str) -> str:
    """A short, stable name of an indexed file that says nothing of its place: what the server's
    links carry (``/files/{id}``) instead of a path."""
    import hashlib

    return hashlib.sha1(stored(path).encode("utf-8")).hexdigest()[:16]

"""Pure: the one border every extracted text passes before anything else sees it.

Extractors hand back text that Python holds but UTF-8 cannot encode. PDFium gives a character
outside the Basic Multilingual Plane (mathematical letters such as 𝑒 from XeTeX or Word
equations, emoji, symbol fonts) one UTF-16 unit at a time, so a str holds its surrogate pair;
a damaged file holds lone surrogates, non-characters (U+FFFE, U+FDD0…) or control characters.
Any of these makes a later ``encode("utf-8")`` raise (SQLite, the tokenizers, JSON), and a
whole file was lost for one symbol. ``clean`` makes the text valid, encodable Unicode and
changes nothing else: no normalisation, so Hebrew marks and spacing stay exactly as the
Hebrew repairs (ingest.hebrew) leave them.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_DROPPED = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17))
    + "]"
)
"""C0 and C1 control characters but tab, line feed, form feed and carriage return; the 66
non-characters Unicode promises never to assign."""


def clean(text: str) -> str:
    """``text`` as valid Unicode that every encoder accepts: surrogate pairs joined into the
    character they stand for, lone surrogates replaced by U+FFFD, control characters (but tab
    and line breaks) and non-characters dropped, line breaks made ``\\n``."""
    if text.isascii() and text.isprintable():
        return text
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _DROPPED.sub("", text)


def is_clean(text: str) -> bool:
    """Would ``clean`` leave ``text`` as it is?"""
    return clean(text) == text

"""Pure: the sentences of a chunk's text, as every later stage reads them.

The evidence sentence, the context fitted to the budget, the sentence checks and the extractive
summary all cut a passage into the same pieces; ingest embeds those pieces beside the chunk
(``Index.store_sentences``), so a question's evidence needs no embedding of its passages' sentences.
"""

from __future__ import annotations

import hashlib
import re

from ingest import hebrew
from ingest.chunker import sentence_spans

MAX_PIECE_CHARS = 400
_SPACE = re.compile(r"\s+")
_SOFT_WRAP = re.compile(f'(?<=[^\\s.!?:;])[ \\t]*\\n[ \\t]*(?=[a-z0-9({hebrew.LETTERS}]|["“„«][a-z{hebrew.LETTERS}])')


def reflow(text: str) -> str:
    """Join lines that a PDF's layout broke inside a sentence ("for one minute. At\\naltitudes above"):
    a line break after a character that ends no sentence and before a lower-case letter, a digit,
    a Hebrew letter or a quotation mark opening a word ("הוא מציע להקים\\n"קרן קיימת חדשה"") becomes
    a space. Lists and headings (a capital after the break) stay apart."""
    return _SOFT_WRAP.sub(" ", text)


def pieces_of(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """Sentences of ``text``; a sentence longer than ``max_chars`` is cut at spaces."""
    out: list[str] = []
    text = reflow(text)
    for start, end in sentence_spans(text):
        sentence = _SPACE.sub(" ", text[start:end]).strip()
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out


def sentence_key(embedder: str, text: str) -> bytes:
    """What a sentence's stored vector is found by: its text and the embedder that made it."""
    return hashlib.blake2b(f"{embedder}\0{text}".encode("utf-8", "surrogateescape"), digest_size=16).digest()

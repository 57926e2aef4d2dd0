"""Pure: what rag knows about Hebrew text, in one place.

PDF producers write Hebrew in ways that extractors read back wrongly (measured on the PDFs in
../shared/data/hebrew-pdf/, see docs/benchmarks.md):

- *visual order*: every line stored left to right as printed, so the text comes out reversed.
  Real Hebrew never starts a word with a final letter (ך ם ן ף ץ) and nearly always ends the
  words that have one with it, so more words starting than ending with a final letter means
  the line reads backwards (``reads_backwards``); ``to_logical`` turns it round, keeping Latin
  words and numbers left to right and mirroring brackets;
- *Latin runs in right-to-left lines*: PDFium puts a run of several Latin words in a Hebrew line
  in right-to-left word order ("Source Open" for "Open Source"); ``fix_latin_runs`` restores it;
- *mirrored brackets and moved punctuation*: in a Hebrew line the glyph drawn for "(" is ")", so
  extractors give ")קארל פון לינה("; and a full stop after a number lands before it (".100").
  ``fix_brackets`` and ``fix_number_punctuation`` put them back;
- *acronyms split at the gershayim*: a print driver's PDF gives "ם\"רמב" for "רמב\"ם"
  (``fix_acronyms``).
"""

from __future__ import annotations

import re

BLOCK = "\u0590-\u05ff"
"""The Unicode block: letters, marks and Hebrew punctuation."""
LETTERS = "\u05d0-\u05ea"
MARKS = "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
"""Niqqud and cantillation: combining marks written over and under the letters."""
FINALS = frozenset("ךםןףץ")

_HEBREW = re.compile(f"[{LETTERS}]")
_MARK = re.compile(f"[{MARKS}]")
_STRIPPED = re.compile(r"[\u0591-\u05BD\u05BF-\u05C7]")  # for search: cantillation and niqqud, not maqaf (U+05BE)
_FOLD_FINALS = str.maketrans("ךםןףץ", "כמנפצ")
WORD = re.compile(f"^[{LETTERS}]+$")
"""A word of Hebrew letters only (after ``strip_marks``)."""
PREFIXES = "והבכלמש"
"""The one-letter prefixes Hebrew writes onto a word (and, the, in, as, to, from, that)."""
MAX_PREFIXES = 3
_MIN_STEM = 3
STOP_WORDS = frozenset(
    "של את על עם זה זו זאת הוא היא הם הן אני אתה אנחנו כי גם לא כל או אם אשר יש אין היה היתה היו "
    "מה מי כמו רק עוד כך אבל בין לפני אחרי אל עד".translate(_FOLD_FINALS).split()
)
"""Hebrew words too common to search by (final letters folded)."""


def strip_marks(text: str) -> str:
    """Text without niqqud and cantillation, as search compares it."""
    return _STRIPPED.sub("", text)


def fold_finals(text: str) -> str:
    """Final letters written as their base form (ך -> כ …), as search compares them."""
    return text.translate(_FOLD_FINALS)


def variants(word: str) -> list[str]:
    """A Hebrew word and the forms left after stripping up to three prefix letters ("בבית" -> "בית")."""
    found = [word]
    rest = word
    for _ in range(MAX_PREFIXES):
        if len(rest) - 1 < _MIN_STEM or rest[0] not in PREFIXES:
            break
        rest = rest[1:]
        found.append(rest)
    return found


_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(f"[{LETTERS}{MARKS}]+")
_LTR_RUN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9@._\-/:+*=<>|'\"\[\]{}()^$\\ ,%&#]*[A-Za-z0-9])?")
# A run of two or more Latin words or numbers (with the spaces and hyphens between them) in a line.
_LATIN_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.]*(?:[ \-]+[A-Za-z0-9][A-Za-z0-9.]*)+")
_LATIN_PIECE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.]*|[ \-]+")


def has_hebrew(text: str) -> bool:
    return bool(_HEBREW.search(text))


def script(text: str) -> str:
    """ "hebrew" or "latin": the letters ``text`` has more of ("" when it has neither)."""
    hebrew, latin = len(_HEBREW.findall(text)), len(_LATIN.findall(text))
    if not hebrew and not latin:
        return ""
    return "hebrew" if hebrew >= latin else "latin"


def crosses_script(question: str, text: str) -> bool:
    """Is ``text`` written mostly in the other script than ``question``? Then no word of the one
    can match a word of the other, and only meaning (the embedder) relates them."""
    asked, written = script(question), script(text)
    return bool(asked and written and asked != written)


def is_letter(char: str) -> bool:
    return "\u05d0" <= char <= "\u05ea"


def is_mark(char: str) -> bool:
    """A vowel point or cantillation mark (written over or under a letter)."""
    return bool(_MARK.fullmatch(char))


def is_right_to_left(line: str) -> bool:
    """Does the line read right to left (more Hebrew letters than Latin ones)?"""
    return len(_HEBREW.findall(line)) > len(_LATIN.findall(line))


def final_letter_counts(text: str) -> tuple[int, int]:
    """(words starting with a final letter, words ending with one), over Hebrew words of 2+ letters."""
    starts = ends = 0
    for word in _WORD.findall(text):
        letters = [c for c in word if "\u05d0" <= c <= "\u05ea"]
        if len(letters) < 2:
            continue
        starts += letters[0] in FINALS
        ends += letters[-1] in FINALS
    return starts, ends


def reads_backwards(text: str) -> bool:
    """Is this Hebrew text in visual (reversed) order? (the final-letter test)"""
    starts, ends = final_letter_counts(text)
    return starts >= 2 and starts > ends


def to_logical(line: str) -> str:
    """A visual-order line in reading order: reversed, with Latin and digit runs kept left to
    right (brackets are left to ``fix_brackets``)."""
    return _LTR_RUN.sub(lambda m: m.group()[::-1], line[::-1])


def fix_latin_runs(line: str) -> tuple[str, int]:
    """In a right-to-left line, put multi-word Latin runs back in reading order; returns the
    line and how many runs were turned."""
    if not is_right_to_left(line):
        return line, 0
    turned = 0

    def turn(match: re.Match) -> str:
        nonlocal turned
        pieces = _LATIN_PIECE.findall(match.group())
        if len(pieces) < 3 or not _LATIN.search(match.group()):  # numbers alone ("1 2 3") keep their order
            return match.group()
        turned += 1
        return "".join(reversed(pieces))

    return _LATIN_WORDS.sub(turn, line), turned


_OPEN, _CLOSE = "([", ")]"
_PUNCT_BEFORE_NUMBER = re.compile(r"(^|\s)([.,:;])(\d+(?:[.,]\d+)*%?)(?=\s|$)")
_SPACE_BEFORE_PUNCT = re.compile(f"(?<=[{LETTERS}{MARKS}]) +(?=[.,:;!?](?:\\s|$))")


def fix_brackets(line: str) -> tuple[str, int]:
    """In a right-to-left line whose brackets do not pair up in reading order (a closer before
    any opener, or openers left open), flip them so that they do; returns the line and the
    number of brackets flipped. Lines whose brackets already pair are left alone."""
    if not is_right_to_left(line) or _pairs_up(line):
        return line, 0
    chars = list(line)
    flipped = 0
    for kind in range(len(_OPEN)):
        opener, closer = _OPEN[kind], _CLOSE[kind]
        depth = 0
        for i, c in enumerate(chars):
            if c not in (opener, closer):
                continue
            want = closer if depth > 0 else opener  # no nesting in prose: alternate open, close
            if c != want:
                chars[i] = want
                flipped += 1
            depth += 1 if want == opener else -1
    fixed = "".join(chars)
    if not _pairs_up(fixed):
        return line, 0
    # the space that stood outside the mirrored glyph now stands inside the bracket: "X( Y" -> "X (Y"
    fixed = re.sub(r"(?<=\S)([(\[]) (?=\S)", r" \1", fixed)
    fixed = re.sub(r"(?<=\S) ([)\]])(?=\S)", r"\1 ", fixed)
    return fixed, flipped


def _pairs_up(line: str) -> bool:
    for opener, closer in zip(_OPEN, _CLOSE):
        depth = 0
        for c in line:
            depth += (c == opener) - (c == closer)
            if depth < 0:
                return False
        if depth:
            return False
    return True


def fix_number_punctuation(line: str) -> tuple[str, int]:
    """In a right-to-left line, a full stop, comma or colon written before the number it follows
    (".100" for "100.") goes back after it, and a space before a full stop is dropped."""
    if not is_right_to_left(line):
        return line, 0
    line, moved = _PUNCT_BEFORE_NUMBER.subn(lambda m: f"{m.group(1)}{m.group(3)}{m.group(2)}", line)
    line, spaces = _SPACE_BEFORE_PUNCT.subn("", line)
    return line, moved + spaces


_REVERSED_ACRONYM = re.compile(f'(?<![\\w"״])([{LETTERS}])(["״])([{LETTERS}]{{2,3}})(?![\\w"״])')
_EMPTY_BRACKETS = re.compile(r"\(\s*([,.;:]?)\s*\)([^\s()\[\]]+)")


def fix_acronyms(line: str) -> tuple[str, int]:
    """In a right-to-left line, put back acronyms and Hebrew year numbers whose two halves an
    extractor swapped around the gershayim: "ם\"רמב" -> "רמב\"ם", "ב\"תרס" -> "תרס\"ב" (the
    gershayim stands before the last letter, never after the first of three or four); and text
    pushed out of its brackets: "( , )קק\"ח" -> "(קק\"ח),"."""
    if not is_right_to_left(line):
        return line, 0
    line, moved = _EMPTY_BRACKETS.subn(lambda m: f"({m.group(2)}){m.group(1)}", line)
    line, swapped = _REVERSED_ACRONYM.subn(lambda m: f"{m.group(3)}{m.group(2)}{m.group(1)}", line)
    return line, moved + swapped


def repair_line(line: str, counts, *, visual: bool = False) -> str:
    """A line as PDFium gives it, in reading order, with the repairs above counted in
    ``counts``; ``visual``: the page is in visual order (its Latin runs are already right)."""
    if visual and has_hebrew(line):
        line = to_logical(line)
        counts["visual_order_lines"] += 1
    repairs = [("brackets", fix_brackets), ("number_punctuation", fix_number_punctuation)]
    if not visual:
        repairs[:0] = [("latin_runs", fix_latin_runs), ("acronyms", fix_acronyms)]
    for name, repair in repairs:
        line, n = repair(line)
        if n:
            counts[name] += n
    return line

"""Tables (CSV, TSV, spreadsheet sheets) as text: each row written with its column names.

A row alone ("42, 17.5, yes") means nothing to an embedder or a reader; "Row 12: Station:
North; Depth m: 17.5" does, so every chunk keeps its row and column context.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block

ROWS_PER_BLOCK = 40


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the spreadsheet letter of a column."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def row_text(number: int, header: list[str], values: list[str]) -> str:
    cells = []
    for i, value in enumerate(values):
        value = " ".join(str(value).split())
        if value:
            name = header[i] if i < len(header) and header[i] else column_name(i)
            cells.append(f"{name}: {value}")
    return f"Row {number}: " + "; ".join(cells) if cells else ""


def row_blocks(rows: Iterable[tuple[int, list[str]]], headings: tuple[str, ...] = ()) -> Iterator[Block]:
    """(row number, cell values) -> blocks of up to ROWS_PER_BLOCK written rows.

    The first row with any value is the header; every later row is written with its names.
    """
    header: list[str] | None = None
    lines: list[str] = []
    for number, values in rows:
        if header is None:
            if any(str(v).strip() for v in values):
                header = [" ".join(str(v).split()) for v in values]
            continue
        line = row_text(number, header, values)
        if line:
            lines.append(line)
        if len(lines) == ROWS_PER_BLOCK:
            yield Block("\n".join(lines), headings=headings)
            lines = []
    if lines:
        yield Block("\n".join(lines), headings=headings)
    elif header is not None:
        yield Block("Columns: " + "; ".join(h for h in header if h), headings=headings)


def load_csv(path: Path, **_: object) -> list[Block]:
    from ingest.loaders.text import read_text

    text = read_text(path)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    try:
        rows = ((n, row) for n, row in enumerate(csv.reader(io.StringIO(text), dialect), 1))
        blocks = list(row_blocks(rows))
    except csv.Error as exc:
        raise UnreadableFile(f"not a readable CSV file ({exc})") from None
    if not blocks:
        raise UnreadableFile("empty table (no cells with text)")
    return blocks

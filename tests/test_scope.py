"""Questions about one document (rag.scope) and its extractive summary (rag.summary): pure logic."""

import pytest

from ingest.types import Chunk
from rag.scope import named_files, wants_summary
from rag.summary import summary_points

PATHS = [
    "/docs/injection.txt",
    "/docs/pump-manual.pdf",
    "/docs/radio procedures.md",
    "/docs/notes.md",
    "/d/מדריך-שטח.pdf",
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Summarise injection.txt", ["/docs/injection.txt"]),
        ("What are the key points of the Pump Manual?", ["/docs/pump-manual.pdf"]),
        ("what does pump_manual.pdf say about seals?", ["/docs/pump-manual.pdf"]),
        ("Which channel do radio-procedures use?", ["/docs/radio procedures.md"]),
        ("סכם את מדריך-שטח.pdf", ["/d/מדריך-שטח.pdf"]),
        ("What is in notes?", []),  # a common word is not a file's name
        ("How do I inject a dependency?", []),
        ("Compare injection.txt and notes.md", ["/docs/injection.txt", "/docs/notes.md"]),
    ],
)
def test_a_question_that_names_indexed_files_is_about_those_files(question, expected):
    assert named_files(question, PATHS) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Summarise injection.txt", True),
        ("Give me a summary of the manual", True),
        ("key points of radio.md", True),
        ("TL;DR of notes.md", True),
        ("תן לי סיכום של המסמך", True),
        ("What does notes.md say about the summit?", False),
        ("How long should water boil?", False),
    ],
)
def test_a_request_for_a_summary_is_told_from_a_question(question, expected):
    assert wants_summary(question) is expected


def _chunks(sections):
    chunks, offset = [], 0
    for n, (page, heading, text) in enumerate(sections):
        chunks.append(Chunk(text, n, offset, offset + len(text), page, (heading,) if heading else ()))
        offset += len(text) + 2
    return chunks


def test_the_summary_covers_the_whole_document_in_order_with_its_own_sentences():
    sections = [
        (1, "Contents", "1. Pumps .......... 2\n2. Seals .......... 5"),
        (2, "Pumps", "The bilge pump moves water out of the hull. It runs on 12 volts. Check the pump weekly."),
        (3, "Pumps", "Pump impellers wear out and the pump impeller is replaced every 400 hours of pump use."),
        (5, "Seals", "Shaft seals keep water out; a dripping seal must be replaced before the next trip."),
        (7, "Radio", "The radio check-in is at 08:00 on channel 16, and the radio log records each call."),
    ]
    points = summary_points(_chunks(sections), max_points=3)
    assert len(points) == 3
    pages = [p.chunk.page for p in points]
    assert pages == sorted(pages) and pages[0] in (2, 3) and pages[-1] in (5, 7), pages
    for point in points:
        assert point.text in " ".join(point.chunk.text.split()), "a sentence of the document, unchanged"
    assert not any("....." in p.text for p in points), "a table of contents is not a point"
    heard = []
    summary_points(_chunks(sections), max_points=2, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(1, 2), (2, 2)]

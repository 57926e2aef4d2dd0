import re

from ingest.chunker import chunk_document, document_text, embedding_text, sentence_spans
from ingest.types import Block, Document


def _long_text(sentences: int) -> str:
    return " ".join(
        f"Sentence number {i} explains how the pump valve number {i} is serviced safely." for i in range(sentences)
    )


def test_chunks_fit_the_embedder_and_never_cut_words(embedder):
    url = "https://example.org/" + "verylongpathsegment" * 80
    blocks = [
        Block(_long_text(60), page=1, headings=("Manual", "Pumps")),
        Block("Short paragraph. " + url + " ends here.", page=2, headings=("Manual",)),
        Block("\n".join(f"line {i} of a table-like list without full stops" for i in range(200)), page=3),
    ]
    document = Document("x.pdf", blocks)
    text = document_text(document)
    chunks = chunk_document(document, embedder.count_tokens, max_tokens=200, overlap_tokens=40)
    assert len(chunks) > 10
    sizes = embedder.count_tokens([embedding_text(c.heading, c.text) for c in chunks])
    assert max(sizes) <= embedder.max_tokens
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        if "verylongpathsegment" in chunk.text:
            continue  # a single 1,500-character "word" has to be cut somewhere
        assert chunk.start == 0 or not text[chunk.start - 1].isalnum() or not text[chunk.start].isalnum()
        assert chunk.end == len(text) or not (text[chunk.end - 1].isalnum() and text[chunk.end].isalnum())


def test_chunks_carry_page_and_heading_and_overlap(embedder):
    document = Document("x.pdf", [Block(_long_text(40), page=7, headings=("Guide", "Valves"))])
    chunks = chunk_document(document, embedder.count_tokens, max_tokens=120, overlap_tokens=30)
    assert len(chunks) >= 3
    assert all(c.page == 7 and c.heading == "Guide > Valves" for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for first, second in zip(chunks, chunks[1:]):
        assert second.start < first.end, "consecutive chunks share a sentence"
        assert second.start > first.start


def test_sections_are_not_mixed():
    count = lambda texts: [len(t.split()) for t in texts]  # noqa: E731 - a word count is enough here
    document = Document("x.md", [Block("alpha beta.", headings=("A",)), Block("gamma delta.", headings=("B",))])
    chunks = chunk_document(document, count, max_tokens=100)
    assert [(c.text, c.headings) for c in chunks] == [("alpha beta.", ("A",)), ("gamma delta.", ("B",))]


def test_hebrew_text_is_chunked_at_sentences(embedder):
    sentence = "המים במחנה חייבים לרתוח דקה אחת לפחות לפני השתייה. "
    document = Document("he.md", [Block(sentence * 60)])
    chunks = chunk_document(document, embedder.count_tokens, max_tokens=150, overlap_tokens=0)
    assert len(chunks) > 1
    assert all(re.search(r"השתייה\.$", c.text) for c in chunks)


def test_initials_and_abbreviations_do_not_end_a_sentence():
    text = (
        "French explorer Jean Ribault charted the St. Johns River in 1562. The hymn was translated by John C. Messenger. "
        "Written by J. R. R. Tolkien, e.g. in letters. Diesel is in tank B. The U.S. Supreme Court ruled."
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "French explorer Jean Ribault charted the St. Johns River in 1562.",
        "The hymn was translated by John C. Messenger.",
        "Written by J. R. R. Tolkien, e.g. in letters.",
        "Diesel is in tank B.",
        "The U.S. Supreme Court ruled.",
    ]

"""The text border (ingest.unicode.clean): what it makes of extractors' text, and that every
later stage (chunker, lexical index, embedders, catalog) accepts whatever it returns."""

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.catalog import Catalog, FileRecord
from ingest.chunker import chunk_document
from ingest.lexical import terms
from ingest.types import Block, Document
from ingest.unicode import clean, is_clean

MATH_E = "\U0001d452"  # 𝑒, MATHEMATICAL ITALIC SMALL E
HIGH, LOW = "\ud835", "\udc52"  # its UTF-16 halves, as PDFium hands them over


def test_surrogate_pairs_become_their_character_and_lone_halves_a_replacement():
    assert clean(f"E = m{HIGH}{LOW}c²") == f"E = m{MATH_E}c²"
    assert clean(f"a{HIGH}b") == "a\ufffdb"
    assert clean(f"a{LOW}") == "a\ufffd"
    assert clean("😀 and \ud83d\ude00") == "😀 and 😀"


def test_controls_and_non_characters_go_and_everything_else_stays():
    assert clean("a\x00b\x07c\x1bd\x85e\ufffef\uffff\ufdd0g\U0001fffeh") == "abcdefgh"
    assert clean("line one\r\nline two\rthree\tfour\fpage") == "line one\nline two\nthree\tfour\fpage"
    pointed = "בְּרֵאשִׁית בָּרָא  אֱלֹהִים\u200f (RTL mark kept) ﬁ"
    assert clean(pointed) == pointed, "no normalisation: the Hebrew repairs' output is kept as it is"
    assert clean("plain ASCII, nothing to do.") == "plain ASCII, nothing to do."


_ANY_CODE_POINT = st.one_of(
    st.integers(0, 0x10FFFF),
    st.integers(0xD800, 0xDFFF),  # surrogates, often
    st.integers(0x0590, 0x05FF),  # Hebrew letters and marks
    st.integers(0x1D400, 0x1D7FF),  # mathematical letters
    st.sampled_from([0, 0x0A, 0x0D, 0x20, 0x2E, 0xFFFE, 0xFFFF, 0xFFFD, 0x1F600]),
)
ANY_TEXT = st.lists(_ANY_CODE_POINT, max_size=300).map(lambda points: "".join(map(chr, points)))


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_clean_text_encodes_and_is_stable(text):
    cleaned = clean(text)
    cleaned.encode("utf-8")
    assert is_clean(cleaned)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    catalog = Catalog(tmp_path_factory.mktemp("catalog") / "catalog.sqlite")
    yield catalog
    catalog.close()


@pytest.fixture(scope="module")
def multilingual(model_cache):
    from ingest.e5 import E5Embedder

    return E5Embedder(threads=2, cache_dir=model_cache)


@given(text=ANY_TEXT)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_stage_accepts_whatever_the_border_returns(text, catalog, embedder, multilingual):
    """Chunker, lexical terms, both embedders and the catalog (FTS5 included) each take any
    string ``clean`` can return, random code points and lone surrogates included."""
    cleaned = clean(f"Intro {text} outro.")
    document = Document("/docs/any.txt", [Block(cleaned, page=1, headings=(clean(text[:20]),))])
    chunks = chunk_document(document, embedder.count_tokens, max_tokens=64, overlap_tokens=8)
    assert chunks and all(c.text for c in chunks)
    terms(cleaned)
    assert embedder.embed_documents([c.text for c in chunks]).shape == (len(chunks), embedder.dimension)
    assert multilingual.embed_documents([cleaned]).shape[0] == 1
    embedder.embed_query(cleaned)
    record = FileRecord("/docs/any.txt", 1, 1, "f" * 64)
    catalog.replace_file(record, chunks, reading={"lost": [{"page": 1, "reason": cleaned[:40]}]})
    assert [c.text for c in catalog.chunks_of(record.path)] == [c.text for c in chunks]
    assert catalog.lexical_search("outro", 3)
    with pytest.raises(UnicodeEncodeError):  # what the border is for: the raw text fails
        sqlite3.connect(":memory:").execute("SELECT ?", (f"a{HIGH}",))

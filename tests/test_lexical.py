from ingest.hebrew import variants as hebrew_variants
from ingest.lexical import match_expression, normalize, terms


def test_hebrew_prefixes_find_the_bare_word():
    assert "בית" in terms("בבית")
    assert "בית" in terms("ובבית")
    assert set(hebrew_variants("והבית")) == {"והבית", "הבית", "בית"}


def test_niqqud_cantillation_and_final_letters():
    assert normalize("שָׁלוֹם") == normalize("שלום")
    assert normalize("בְּרֵאשִׁ֖ית") == "בראשית"
    assert terms("ספרים") == terms("ספרימ")
    assert "מלכ" in terms("מלך")


def test_english_is_stemmed_and_stop_words_dropped():
    assert terms("The boiling of waters") == ["boil", "water"]


def test_mixed_text_and_query_expression():
    query = match_expression(terms('Is "GPS" in בבית?'))
    assert '"gps"' in query and '"בית"' in query and " OR " in query
    assert match_expression(terms("the of and")) is None
    assert match_expression(['say "hi"']) == '"say ""hi"""'


def test_common_terms_are_pruned_only_on_large_indexes(tmp_path, monkeypatch):
    from ingest.catalog import Catalog, FileRecord
    from ingest.types import Chunk

    catalog = Catalog(tmp_path / "c.sqlite")
    chunks = [Chunk(f"water report number {i}" + (" rare" if i == 3 else ""), i, 0, 10, None, ()) for i in range(50)]
    catalog.replace_file(FileRecord("/d/a.md", 1, 1, "h" * 64), chunks)
    assert set(catalog.query_terms("water rare report")) == {"water", "rare", "report"}, "small index: keep all"
    monkeypatch.setattr("ingest.catalog.COMMON_FLOOR", 10)  # as if the index were large
    fresh = Catalog(tmp_path / "c.sqlite")
    assert fresh.query_terms("water rare report") == ["rare"]
    assert fresh.lexical_search("water rare report", 5)[0][0].endswith("-3")
    fresh.close()
    catalog.close()


def test_lexical_search_among_chosen_chunks_keeps_the_scores(tmp_path):
    from ingest.catalog import Catalog, FileRecord
    from ingest.types import Chunk

    catalog = Catalog(tmp_path / "c.sqlite")
    texts = ["pump seal replaced yearly", "radio channel sixteen", "pump priming with water", "seal kit for the pump"]
    catalog.replace_file(
        FileRecord("/d/a.md", 1, 1, "h" * 64), [Chunk(t, i, 0, 10, None, ()) for i, t in enumerate(texts)]
    )
    everywhere = dict(catalog.lexical_search("pump seal", 10))
    ids = sorted(catalog.chunk_ids("/d/a.md"))
    chosen = [ids[1], ids[3]]  # the radio chunk (neither word) and the seal kit
    among = catalog.lexical_search("pump seal", 10, ids=chosen)
    assert among == [(ids[3], everywhere[ids[3]])], "same scale as the whole search; a chunk without a term is left out"
    assert catalog.lexical_search("the of and", 10, ids=chosen) == []
    catalog.close()

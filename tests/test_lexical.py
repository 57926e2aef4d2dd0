from ingest.lexical import hebrew_variants, match_query, normalize, terms


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
    query = match_query('Is "GPS" in בבית?')
    assert '"gps"' in query and '"בית"' in query and " OR " in query
    assert match_query("the of and") is None

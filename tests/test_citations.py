from rag.citations import CitationFilter, clean_citations


def test_invalid_markers_are_removed_and_counted():
    text, cited, removed = clean_citations("Boil water [1]. Filters work [7]. Both [2, 9][3].", {1, 2, 3})
    assert text == "Boil water [1]. Filters work . Both [2][3]."
    assert cited == [1, 2, 3] and removed == 2


def test_streaming_holds_back_an_unfinished_marker():
    f = CitationFilter({1, 2})
    pieces = ["Boil for one minute ", "[", "1", "]", " or three [", "4] at altitude [2", "]."]
    out = "".join(f.feed(p) for p in pieces) + f.flush()
    assert out == "Boil for one minute [1] or three  at altitude [2]."
    assert f.cited == [1, 2] and f.removed == 1


def test_plain_brackets_pass_through():
    f = CitationFilter({1})
    assert f.feed("see [the map] and array[") + f.flush() == "see [the map] and array["

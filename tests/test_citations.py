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


def test_an_index_glued_to_a_name_is_text_not_a_citation():
    f = CitationFilter({1, 2})
    pieces = ["Its output is read from NAME[", "0] and its input goes to NAME[1", "] [2]."]
    assert (
        "".join(f.feed(p) for p in pieces) + f.flush()
        == "Its output is read from NAME[0] and its input goes to NAME[1] [2]."
    )
    assert f.cited == [2] and f.removed == 0
    text, cited, removed = clean_citations("Read the array element [0] of the coprocess [1].", {1})
    assert text == "Read the array element [0] of the coprocess [1]." and cited == [1] and removed == 0


PASSAGES = {
    1: "Water Treatment in the Field. Untreated water can carry bacteria. This chapter describes boiling, chemicals and filters.",
    2: "Boiling. Bring the water to a rolling boil for one minute. At altitudes above 2,000 metres keep it at a rolling boil for three minutes.",
}


def test_a_wrong_number_is_moved_to_the_supporting_passage():
    f = CitationFilter({1, 2}, PASSAGES)
    text = "Above 2,000 metres, keep water at a rolling boil for three minutes. [1]"
    assert f.feed(text) + f.flush() == "Above 2,000 metres, keep water at a rolling boil for three minutes. [2]"
    assert f.cited == [2] and f.corrected == 1


def test_a_right_number_is_kept_and_each_sentence_is_judged_alone():
    f = CitationFilter({1, 2}, PASSAGES)
    text = "Untreated water can carry bacteria [1]. Boil it for one minute [2]. Filters help too [1]."
    assert f.feed(text) + f.flush() == text
    assert f.corrected == 0 and f.cited == [1, 2]


def test_a_short_sentence_is_judged_with_the_one_before():
    passages = {
        1: "Radio: after two consecutive missed check-ins, base camp starts the search and rescue plan.",
        2: "Pacing: count double steps to measure distance on a course.",
    }
    f = CitationFilter({1, 2}, passages)
    out = (
        f.feed("The search and rescue plan starts after two missed check-ins. This is stated in passage [2].")
        + f.flush()
    )
    assert out.endswith("passage [1].") and f.cited == [1]

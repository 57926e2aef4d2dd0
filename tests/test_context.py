"""Pure: the context budget keeps the sentences that answer the question."""

from ingest.sentences import pieces_of
from rag.context import GAP, budget_for, merge_same_place, select_context
from rag.prompt import Passage


def words(text: str) -> int:
    return len(text.split())


FILLER = "The committee met again in spring. Minutes were taken by the secretary. Tea was served at noon."


def test_passages_that_fit_are_kept_whole():
    passages = [Passage(1, "a.md", None, "", "Short one."), Passage(2, "b.md", 3, "", "Short two.")]
    assert select_context("anything", passages, words, 50) == passages
    assert select_context("anything", passages, words, 0) == passages


def test_the_answering_sentence_and_the_one_before_it_survive_a_tight_budget():
    text = f"{FILLER} The Kestrel pump was installed in 2019. Its rated flow is 40 litres a minute. {FILLER}"
    passages = [Passage(1, "pumps.md", 2, "Pumps", text), Passage(2, "other.md", None, "", FILLER * 3)]
    kept = select_context("What is the rated flow of the Kestrel pump?", passages, words, 18)
    assert len(kept) == 1 and kept[0].n == 1 and kept[0].page == 2 and kept[0].heading == "Pumps"
    assert kept[0].text == "The Kestrel pump was installed in 2019. Its rated flow is 40 litres a minute."
    assert sum(words(p.label() + p.text) for p in kept) <= 18  # the label "[1] Pumps:" is paid for too


def test_kept_sentences_stay_in_order_with_gaps_marked_and_passages_renumbered():
    first = Passage(1, "a.md", None, "", FILLER)
    second = Passage(2, "b.md", None, "", f"Diesel is stored in tank B. {FILLER} Petrol is stored in tank C.")
    kept = select_context("where are diesel and petrol stored", [first, second], words, 16)
    assert [p.n for p in kept] == [1] and kept[0].source == "b.md"
    assert kept[0].text == f"Diesel is stored in tank B.{GAP}Petrol is stored in tank C."


def test_long_sentences_are_cut_at_spaces():
    pieces = pieces_of("word " * 200, max_chars=100)
    assert all(len(p) <= 100 for p in pieces) and " ".join(pieces).split() == ["word"] * 200


def test_a_similarity_function_finds_a_paraphrase_that_shares_no_words():
    text = f"{FILLER} He was renowned for his showmanship. {FILLER}"
    passages = [Passage(1, "bio.md", None, "", text)]
    by_meaning = lambda texts: [1.0 if "showmanship" in t else 0.1 for t in texts]  # noqa: E731
    assert "showmanship" not in select_context("What was Tesla famous for?", passages, words, 8)[0].text
    kept = select_context("What was Tesla famous for?", passages, words, 8, by_meaning)
    assert kept[0].text == "He was renowned for his showmanship."


def test_a_sentence_two_passages_share_goes_in_once():
    shared = "The Panthers defense gave up just 308 points."
    first = Passage(1, "a.md", None, "", f"{FILLER} {shared}")
    second = Passage(2, "a.md", None, "", f"{shared} The Broncos kicker scored 12 points. {FILLER}")
    kept = select_context(
        "How many points did the Panthers defense give up, and the kicker?", [first, second], words, 22
    )
    text = " ".join(p.text for p in kept)
    assert text.count(shared) == 1 and "kicker scored 12" in text, kept


def test_spare_budget_fills_opened_passages_but_opens_no_new_one():
    answer = Passage(1, "pumps.md", 2, "Pumps", f"The Kestrel pump's rated flow is 40 litres a minute. {FILLER}")
    stray = Passage(2, "other.md", None, "Canteen", "Lunch is at one. Dinner is at seven.")
    kept = select_context("What is the rated flow of the Kestrel pump?", [answer, stray], words, 34)
    assert [p.source for p in kept] == ["pumps.md"]
    assert kept[0].text.startswith("The Kestrel pump's rated flow") and "Tea was served" in kept[0].text


def test_a_label_that_does_not_fit_keeps_its_passage_out():
    passages = [
        Passage(1, "a.md", None, "Flow", "The Kestrel pump moves 40 litres a minute. " + FILLER),
        Passage(2, "b.md", None, "A very long section heading", "Kestrel pump spare parts are in store four."),
    ]
    kept = select_context("Kestrel pump", passages, words, 14)
    assert [p.source for p in kept] == ["a.md"], kept  # b.md's sentence fits only without its 6-word label


def test_passages_citing_the_same_place_share_one_number():
    a1 = Passage(1, "a.md", 3, "Pumps", "Flow is 40 litres a minute.")
    b = Passage(2, "b.md", 3, "Pumps", "Tank B holds diesel.")
    a2 = Passage(3, "a.md", 3, "Pumps", "The pump weighs 12 kg.")
    a_other_page = Passage(4, "a.md", 4, "Pumps", "Spare seals are in store four.")
    merged = merge_same_place([a1, b, a2, a_other_page])
    assert [(p.n, p.source, p.page) for p in merged] == [(1, "a.md", 3), (2, "b.md", 3), (3, "a.md", 4)]
    assert merged[0].text == f"Flow is 40 litres a minute.{GAP}The pump weighs 12 kg."


def test_parts_of_one_place_are_joined_in_document_order_not_rank_order():
    # bash's manual: the better-ranked chunk holds step 3, the one before it steps 1 and 2
    step3 = Passage(1, "bash.pdf", 33, "Command Search", "3. Bash searches each element of $PATH.", ordinal=41)
    other = Passage(2, "bash.pdf", 93, "Startup Files", "Bash reads /etc/profile.", ordinal=160)
    steps12 = Passage(3, "bash.pdf", 33, "Command Search", "1. A shell function. 2. A builtin.", ordinal=40)
    merged = merge_same_place([step3, other, steps12])
    assert [(p.n, p.page) for p in merged] == [(1, 33), (2, 93)]  # the place keeps its best rank
    assert merged[0].text == f"1. A shell function. 2. A builtin.{GAP}3. Bash searches each element of $PATH."


def test_a_hebrew_question_gets_a_larger_budget_for_the_same_text():
    assert budget_for("How long should water boil?", 90) == 90
    assert budget_for("כמה זמן להרתיח מים?", 90) == 150
    assert budget_for("כמה זמן להרתיח מים?", 0) == 0  # no limit stays no limit


def test_lines_broken_inside_a_sentence_are_joined_before_scoring():
    from ingest.sentences import pieces_of, reflow

    pdf_text = (
        "Boil for one minute. At\naltitudes above 2,000 metres, boil it for\nthree minutes.\nStorage\nKeep it covered."
    )
    assert (
        reflow(pdf_text)
        == "Boil for one minute. At altitudes above 2,000 metres, boil it for three minutes.\nStorage\nKeep it covered."
    )
    assert "At altitudes above 2,000 metres, boil it for three minutes." in pieces_of(pdf_text)
    assert reflow("- first item\n- second item") == "- first item\n- second item", "list lines stay apart"


def test_list_items_a_pdf_ran_into_one_line_are_sentences_of_their_own():
    """A Hebrew design document's bullets (real text layer of hebrew-pdf's moh file): the backup
    retention item must be a sentence of its own, or the quote is the whole list."""
    text = (
        "גיבוי • גיבוי מסד נתונים (RDS) o יעשה שימוש במנגנון הגיבוי המובנה בשירות "
        "o גיבויים ישמרו למשך 10 ימים ▪ ניתן להאריך את תקופת השמירה עד 35 ימים"
    )
    assert "גיבויים ישמרו למשך 10 ימים" in pieces_of(text)
    assert pieces_of("Backups • Daily o The service keeps them for 10 days.") == [
        "Backups",
        "Daily",
        "The service keeps them for 10 days.",
    ]
    assert pieces_of("Set o to 1 to enable it.") == ["Set o to 1 to enable it."], "a lone o before a lower-case word"


def test_a_line_broken_before_a_quoted_name_is_joined():
    text = 'הוא אהוד טוקטלי. הוא מציע להקים\n"קרן קיימת חדשה" (קק"ח), שתרכוש קרקעות.'
    assert pieces_of(text) == ["הוא אהוד טוקטלי.", 'הוא מציע להקים "קרן קיימת חדשה" (קק"ח), שתרכוש קרקעות.']


def test_a_sentence_in_the_other_script_is_scored_by_meaning_alone():
    """A Hebrew question, English passages: the English sentence that means the answer beats a
    Hebrew sentence that only shares a common word with the question."""
    from rag.context import score_sentences

    passages = [
        Passage(1, "first-aid.md", None, "", "Hypothermia begins when the core body temperature falls below 35 °C."),
        Passage(2, "אש.md", None, "", "הגחלים ממשיכים לבעור מתחת לחול שעות רבות."),
    ]
    by_meaning = lambda texts: [0.83 if "Hypothermia" in t else 0.79 for t in texts]  # noqa: E731
    scored = score_sentences("מתחת לאיזו טמפרטורת גוף מתחילה היפותרמיה?", passages, words, by_meaning)
    assert scored.best().text.startswith("Hypothermia")
    # without the embedder's meaning nothing crosses: the words decide
    assert score_sentences("מתחת לאיזו טמפרטורת גוף מתחילה היפותרמיה?", passages, words).best().passage == 1

"""Pure: is a drafted answer backed by its passages? The cases are the wrong answers seen on
real manuals (manuals-qa) with the 1.5B model."""

import pytest

from rag.support import (
    check_answer,
    off_question,
    specifics,
    unfounded_words,
    unsupported_specifics,
    with_antecedent,
)

GNUPLOT = (
    "Command-line options: -p tells the program not to close any remaining interactive plot windows "
    "when the program exits. GNUTERM, if defined, is used to set the terminal type on start-up. "
    "The qt terminal uses the Qt library; set term qt size 600,400."
)


def test_specific_tokens_are_numbers_flags_identifiers_and_acronyms():
    found = specifics("Use -p or --persist [1]; GNUTERM and $HOME/.gnuplot, set_size 4.2, port 8080, step 3.")
    assert found == ["-p", "--persist", "GNUTERM", "$HOME", "/.gnuplot", "set_size", "4.2", "8080"]


def test_a_number_or_name_in_no_passage_is_unsupported():
    check = check_answer(
        "Qt support was added in gnuplot 4.2 [1].", GNUPLOT, "Which gnuplot release added the Qt terminal?"
    )
    assert not check.supported and check.unsupported == ["4.2"] and check.reason == "4.2 appears in no passage"
    check = check_answer(
        "SQLite encrypts with AES-256 [2].", "SQLite stores the database in one file.", "Which cipher does SQLite use?"
    )
    assert not check.supported and "AES-256" in check.unsupported


def test_tokens_from_the_question_or_passages_count_as_supported():
    assert unsupported_specifics("Set GNUTERM to qt [1].", GNUPLOT, "Which variable sets the terminal?") == []
    assert (
        unsupported_specifics("Use gnuplot -p script.gp.", GNUPLOT, "How do I run script.gp so the window stays?") == []
    )
    # extraction quirks: "$ HOME" in the PDF text, ligatures, case
    assert unsupported_specifics("It reads $HOME/.gnuplot.", "looks in $ HOME for a file called .gnuplot", "") == []


def test_a_restated_question_or_general_knowledge_without_specifics_is_not_retracted():
    """Measured on manuals-qa: rules against these retracted answerable drafts and caught no
    unanswerable one that the specifics rule missed, so only specific tokens retract."""
    assert check_answer(
        "The switch that keeps the window open is the switch [2].", GNUPLOT, "Which switch keeps it open?"
    ).supported
    assert check_answer(
        "Install the driver and restart to render faster.", GNUPLOT, "How do I render on the GPU?"
    ).supported


@pytest.mark.parametrize(
    "answer",
    [
        "Run gnuplot with -p: it does not close the remaining interactive plot windows when the program exits [1].",
        "Define GNUTERM; it sets the terminal type on start-up [1].",
    ],
)
def test_answers_drawn_from_the_passages_are_supported(answer):
    assert check_answer(
        answer, GNUPLOT, "How do I keep the plot window open, and how do I choose my terminal?"
    ).supported


def test_hebrew_answers_are_checked_the_same_way():
    passages = "הוועדה התכנסה בשנת 1948 בירושלים ודנה בחוקה."
    assert check_answer("הוועדה התכנסה בירושלים [1].", passages, "איפה התכנסה הוועדה?").supported
    assert not check_answer("הוועדה התכנסה בשנת 1952 [1].", passages, "מתי התכנסה הוועדה?").supported


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        # the 1.5B's draft on the Hebrew PDFs: the question's own words, the country never named
        (
            "האיחוד האירופי הוא מדינה שבה יאוחסנו רכיבי המערכת בענן. [1]",
            "איזו מדינה, שבה יאוחסנו רכיבי המערכת בענן, מצוינת במסמך כחברה באיחוד האירופי?",
        ),
        ("The reset button resets the device [2].", "What does the reset button do to the device?"),
        ("The tank holds a lot of water [1].", "How much water does the tank hold?"),
        ("בחלק הראשון נבדק מדגם ידני [1].", "מה היה אחוז ההסכמה בין המתייגים?"),
        ("הגיבויים נשמרים במסד הנתונים.", "לכמה זמן יישמרו הגיבויים?"),
    ],
)
def test_a_sentence_that_cannot_answer_the_question_is_off_question(answer, question):
    assert off_question(answer, question)
    assert not check_answer(answer, answer, question).supported


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ("במדינה איראן, לפי הסיכום, החוק מתיר סחר בכליות. [1]", "באיזו מדינה, לפי הסיכום, החוק מתיר סחר בכליות?"),
        ("למשך 10 ימים [1].", "לכמה זמן יישמרו הגיבויים האוטומטיים?"),
        ("Boil it for three minutes [1].", "How long should water be boiled?"),
        ("It holds two litres [1].", "How much water does the tank hold?"),
        ("פעמיים בשנה [1].", "כמה פעמים בשנה מתכנסת הוועדה?"),
        ("Claude תרגם היטב 87 משפטים מתוך 100.", "כמה מתוך 100 המשפטים תרגם Claude היטב?"),
        # a yes or a no is an answer, though every other word comes from the question
        (
            "Copying the database file with cp while it runs is not safe [1].",
            "Is copying the database file with cp while it runs safe?",
        ),
        ("לא, המערכת אינה שומרת גיבויים.", "האם המערכת שומרת גיבויים?"),
        # the question offers the answer: it picks one
        (
            "The tapes were restored and processed without destroying historical legitimacy [1].",
            "Were the tapes restored and processed without destroying historical legitimacy or did they lose it?",
        ),
    ],
)
def test_an_answer_that_adds_what_was_asked_is_not_off_question(answer, question):
    assert off_question(answer, question) == ""


KIDNEYS = (
    "בישראל נחקק חוק ההשתלות בשנת 2008. מחלת כליות היא בעיה רפואית קשה. "
    "ברוב המדינות התור להשתלת כליות ארוך. החוק ברוב המדינות אוסר סחר באיברים. "
    "יש מדינה אחת שבה החוק מתיר סחר בכליות והיא איראן."
)


def test_a_word_the_passages_do_not_say_about_the_question_is_unfounded():
    question = "באיזו מדינה, לפי הסיכום, החוק מתיר סחר בכליות?"
    assert unfounded_words("במדינה איראן החוק מתיר סחר בכליות [1].", KIDNEYS, question) == []
    # Israel is in the passages, but not where they speak of trade in kidneys
    assert unfounded_words("בישראל החוק מתיר סחר בכליות [1].", KIDNEYS, question) == ["בישראל"]
    assert unfounded_words("בספרד החוק מתיר סחר בכליות.", KIDNEYS, question) == ["בספרד"]


def test_hebrew_and_latin_letters_run_together_are_unsupported():
    passages = "כלל רכיבי המערכת יאוחסנו ב-Ireland, באזור eu-west-1."
    assert unsupported_specifics("הרכיבים יאוחסנו ב-Ireland [1].", passages, "היכן יאוחסנו?") == []
    assert unsupported_specifics("המדען שuoודי הציע זאת.", passages, "מי הציע?") == ["שuoודי"]


CONTENTS = (
    "Contents: Styles 112, Terminals 275, Fonts 301. Data files are read with the using modifier. "
    "Bash-5.2 will unset an element with key '@'. "
    "The plot command draws one or more curves; each curve is given its own title and style. "
    "The R*Tree module supports from 1 to 15 dimensions. An R*Tree index with 15 dimensions is the largest."
)


def test_a_number_the_passages_give_only_about_something_else_is_unsupported():
    """Asked for a number, the model took one from a table of contents or another feature's note."""
    check = check_answer(
        "The maximum number of curves in one plot command is 275 [1].",
        CONTENTS,
        "What is the maximum number of curves I can put in a single gnuplot plot command?",
    )
    assert not check.supported and check.unsupported == ["275"]
    assert check.reason == "the passages give 275 only about something else"
    version = check_answer(
        "Bash-5.2 introduced them [1].", CONTENTS, "Which bash version introduced associative arrays?"
    )
    assert not version.supported and version.unsupported == ["Bash-5.2"]


def test_a_number_stated_beside_the_question_words_is_supported():
    check = check_answer(
        "An R*Tree index supports up to 15 dimensions; 112 pages cover styles [1].",
        CONTENTS,
        "What is the largest number of dimensions an R*Tree index supports?",
    )
    assert check.unsupported == ["112"], "15 is stated beside 'dimensions'; the page number is not"
    assert check_answer("Use the using modifier; see page 275 [1].", CONTENTS, "How are data files read?").supported, (
        "a question that asks for no number is not checked this way"
    )


def test_a_quote_that_starts_with_he_or_she_brings_the_sentence_that_names_them():
    passage = (
        "כעבור 50 שנה תוחזר כל נחלה. למיטב ידיעתי, היחיד שהציע תכנית מעשית הוא אהוד טוקטלי. "
        'הוא מציע להקים "קרן קיימת חדשה", שתמכור נחלות.'
    )
    quote = 'הוא מציע להקים "קרן קיימת חדשה", שתמכור נחלות.'
    assert with_antecedent(quote, passage) == "למיטב ידיעתי, היחיד שהציע תכנית מעשית הוא אהוד טוקטלי. " + quote
    assert with_antecedent("She wrote it in 1901.", "Ada Smith lived here. She wrote it in 1901.") == (
        "Ada Smith lived here. She wrote it in 1901."
    )
    assert with_antecedent("She wrote it.", "Intro … She wrote it.") == "She wrote it.", "not across a gap"
    assert with_antecedent("Theory holds.", "A. Theory holds.") == "Theory holds.", "no pronoun, no change"
    assert with_antecedent("She wrote it.", "She wrote it. More.") == "She wrote it.", "nothing before it"


def test_a_question_for_a_date_or_a_measure_needs_a_number_in_its_answer():
    """Found by an outside tester's own Hebrew documents: "until when" answered by the notice's
    opening sentence, "how many days" withheld although "עד יומיים" answers it."""
    works = "עד מתי יימשכו העבודות ברחוב הרצל?"
    assert off_question("העירייה מתחילה בעבודות ברחוב הרצל", works)
    assert not off_question("העבודות ברחוב הרצל יימשכו עד יום שני, 30 ביוני 2025", works)
    assert off_question("המשאבה מיועדת להגברת לחץ במבנים", "מה משקל המשאבה?")
    assert not off_question("מותר לעבוד מהבית עד יומיים בשבוע", "כמה ימים בשבוע מותר לעבוד מהבית?")
    assert off_question("The dumb terminal plots into a text block.", "How large is the dumb terminal's plot?")
    assert not off_question("Gnuplot assumes UTC.", "Which time zone does gnuplot assume?"), "a time zone is no hour"
    assert not off_question("נסיעה במונית מוכרת כאשר אין תחבורה ציבורית", "מתי נסיעה במונית מוכרת?"), (
        "a bare when may ask a condition"
    )


def test_the_sentence_a_reply_points_at_across_languages():
    """A Hebrew question over English passages: the model's English reply is matched to the
    passages' own sentence; over Hebrew passages an English reply can point only by a name or a
    number, and only at a sentence that alone holds the most of them."""
    from rag.prompt import Passage
    from rag.support import pointed_sentence

    english = [
        Passage(
            1,
            "first-aid.md",
            None,
            "",
            "Hypothermia begins when the core body temperature falls below 35 °C. "
            "Early signs are shivering and slurred speech.",
        ),
        Passage(2, "first-aid.md", None, "", "Move the person out of wind and rain."),
    ]
    reply = "Hypothermia begins when the core body temperature falls below 35 °C [1]."
    assert pointed_sentence(reply, english) == (
        "Hypothermia begins when the core body temperature falls below 35 °C.",
        1,
    )
    assert pointed_sentence("The person must rest in a warm room [1].", english) is None  # no copy, no paraphrase

    hebrew = [
        Passage(1, "a.pdf", 4, "", "המערכת מבוססת מוצר Open Source בשם OpenEMR. היא כוללת פיתוחים רבים."),
        Passage(2, "b.pdf", 9, "", "אחוז ההסכמה בין המתייגים היה 85.16% בשלב הראשון. בשלב השני הוא עלה."),
    ]
    assert pointed_sentence("The Clinikal system is based on OpenEMR [1].", hebrew)[1] == 1
    assert pointed_sentence("It was agreed in the first stage [2].", hebrew) is None
    assert pointed_sentence("The agreement rate was 85.16% [2].", hebrew) is None, "a number alone points at nothing"
    hebrew.append(Passage(3, "c.pdf", 2, "", "את המאגר תרגם Claude, והוא תרגם היטב 87 משפטים מתוך 100."))
    assert pointed_sentence("Claude translated 87 of the 100 sentences well [3].", hebrew)[1] == 3


def test_a_reply_that_says_the_request_back_points_at_nothing():
    from rag.prompt import Passage, across_request
    from rag.support import pointed_sentence

    passages = [Passage(1, "a.pdf", 2, "", "תרגום אוטומטי (דרך Google Translate) של כ54% מהרשומות נמצא עובר סף.")]
    reply = "The passages are written in English. In passage [1] it says that Google Translate passed 54%."
    assert pointed_sentence(reply, passages) is not None
    assert pointed_sentence(reply, passages, echo=across_request("באיזו תווית מתייגים שם של עיתון?")) is None

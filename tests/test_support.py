"""Pure: is a drafted answer backed by its passages? The cases are the wrong answers seen on
real manuals (manuals-qa) with the 1.5B model."""

import pytest

from rag.support import check_answer, specifics, unsupported_specifics

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

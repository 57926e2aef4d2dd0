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

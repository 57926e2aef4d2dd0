"""Progress lines on stderr: redrawn in place on a terminal, plain and sparse in a log."""

import io

from rag.progress import ProgressPrinter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_redrawn_and_cleared():
    out = Terminal()
    progress = ProgressPrinter(out)
    progress("parse", 3, 10)
    progress("parse", 10, 10)
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 2 and "parsing [" in text and "10/10" in text and "\n" not in text
    progress.close()
    assert out.getvalue().endswith("\r\x1b[2K")


def test_a_log_gets_whole_lines_at_most_every_few_seconds():
    out = io.StringIO()
    progress = ProgressPrinter(out)
    for done in range(1, 101):
        progress("embed", done * 10, 0)
    lines = out.getvalue().splitlines()
    assert lines == ["embedding 10 chunks"], lines
    assert "\x1b" not in out.getvalue()


def test_quiet_prints_nothing():
    out = Terminal()
    progress = ProgressPrinter(out, enabled=False)
    progress("hash", 1, 2)
    progress.close()
    assert out.getvalue() == ""

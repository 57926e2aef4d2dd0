"""Hebrew end to end: the multilingual embedder, Hebrew lexical search, a Hebrew answer with a
correct citation from the default bundled model."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli

CORPORA = Path(__file__).resolve().parent.parent / "corpora"


@pytest.fixture(scope="module")
def hebrew_index(tmp_path_factory):
    home = tmp_path_factory.mktemp("hebrew")
    docs = home / "docs"
    docs.mkdir()
    shutil.copy(CORPORA / "he" / "בטיחות-אש.md", docs)
    shutil.copy(CORPORA / "first-aid.md", docs)
    shutil.copy(CORPORA / "radio-procedures.txt", docs)
    index_dir = home / "indexes"
    result = CliRunner().invoke(
        cli, ["ingest", str(docs), "--index-dir", str(index_dir), "--embedder", "multilingual", "-q", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
    return docs, index_dir


def test_hebrew_question_finds_the_hebrew_section(hebrew_index):
    docs, index_dir = hebrew_index
    result = CliRunner().invoke(cli, ["search", "איך מכבים מדורה?", "--index-dir", str(index_dir), "--json", "-k", "2"])
    rows = json.loads(result.stdout)["hits"]
    assert rows[0]["source"].endswith("בטיחות-אש.md") and rows[0]["heading"].endswith("כיבוי המדורה")


def test_prefixed_hebrew_word_is_found_lexically(hebrew_index):
    from ingest.index import Index

    docs, index_dir = hebrew_index
    index = Index.open(index_dir, "default")
    try:
        ids = [chunk_id for chunk_id, _ in index.catalog.lexical_search("לכירת", 3)]  # the text says "כירת"
        texts = [c.text for c in index.catalog.get_chunks(ids).values()]
    finally:
        index.close()
    assert any("כירת גז" in t for t in texts)


@pytest.mark.slow
def test_hebrew_answer_cites_the_right_passage(hebrew_index):
    docs, index_dir = hebrew_index
    result = CliRunner().invoke(
        cli, ["ask", "מתי אסור להדליק אש גלויה?", "--index-dir", str(index_dir), "--json", "-k", "3"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["abstained"], answer["answer"]
    assert any("\u05d0" <= ch <= "\u05ea" for ch in answer["answer"]), "answered in Hebrew"
    cited = [s for s in answer["sources"] if s["cited"]]
    assert cited and all(s["heading"].endswith("ימי שרב") for s in cited), cited


def test_a_hebrew_folder_gets_the_multilingual_embedder_without_a_flag(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPORA / "he" / "בטיחות-אש.md", docs)
    english = tmp_path / "english"
    english.mkdir()
    shutil.copy(CORPORA / "first-aid.md", english)
    index_dir = tmp_path / "indexes"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(docs), "--index-dir", str(index_dir), "--index", "he"])
    assert result.exit_code == 0, result.output
    assert "is built with the multilingual embedder" in result.stderr
    result = runner.invoke(cli, ["ingest", str(english), "--index-dir", str(index_dir), "--index", "en"])
    assert result.exit_code == 0 and "multilingual" not in result.stderr
    embedders = {}
    for name in ("he", "en"):
        status = runner.invoke(cli, ["status", "--index-dir", str(index_dir), "--index", name, "--json"])
        embedders[name] = json.loads(status.stdout)["embedder"]
    assert embedders["he"].startswith("multilingual") and "MiniLM" in embedders["en"], embedders
    # the choice is the index's: English added later does not change it
    result = runner.invoke(cli, ["ingest", str(english), "--index-dir", str(index_dir), "--index", "he"])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(cli, ["status", "--index-dir", str(index_dir), "--index", "he", "--json"]).stdout)
    assert status["embedder"] == embedders["he"] and status["files"] == 2


@pytest.mark.slow
def test_a_hebrew_question_over_a_scanned_hebrew_page_cites_that_page(tmp_path):
    """OCR end to end: a scan (no text layer) of a Hebrew page, indexed with no flags, answers a
    Hebrew question with a citation of its page, marked as read by OCR."""
    from conftest import make_scanned_pdf, text_image

    docs = tmp_path / "docs"
    docs.mkdir()
    page = text_image(
        [
            "נוהל תחזוקה למשאבת המים הראשית",
            "יש להחליף את מסנן השמן של המשאבה כל שלושה חודשים.",
            "את הרצועה בודקים פעם בשבוע.",
        ],
        rtl=True,
    )
    make_scanned_pdf(docs / "תחזוקה.pdf", ["Pump maintenance log, typed page.", page])
    index_dir = tmp_path / "indexes"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(docs), "--index-dir", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, ["ask", "כל כמה זמן מחליפים את מסנן השמן של המשאבה?", "--index-dir", str(index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["abstained"], answer
    assert "שלושה חודשים" in answer["answer"], answer["answer"]
    cited = [s for s in answer["sources"] if s["cited"]] or [
        s for s in answer["sources"] if s["n"] in answer["supported_by"]
    ]
    assert cited and all(s["page"] == 2 and s["ocr"] for s in cited), answer["sources"]
    assert answer["evidence"]["page"] == 2 and answer["evidence"]["ocr"] is True


def test_the_embedder_rule_counts_hebrew_documents_not_only_letters():
    from rag.api import embedder_choice, script_shares

    english = ["Install the package and run the command to print the manual page. " * 200] * 11
    hebrew = ["מכבים את המדורה במים לפני השינה ובודקים שאין חום. " * 20]
    letters, documents = script_shares(english + hebrew)
    assert letters < 0.10 and documents == 1 / 12
    assert embedder_choice(english + hebrew, "minilm-int8")[0] == "multilingual"
    assert embedder_choice(english, "minilm-int8")[0] == "minilm-int8"
    # a Hebrew word or two inside English documents is not a Hebrew document
    assert embedder_choice([t + " שלום" for t in english], "minilm-int8")[0] == "minilm-int8"
    # Latin letters in another language: the English-only embedder does not read Italian either
    italian = ["Il pacchetto è installato con il comando e poi la pagina del manuale viene stampata. " * 50]
    assert embedder_choice(italian * 3, "minilm-int8")[0] == "multilingual"
    code = ["def add(x, y):\n    return x + y  # the sum of the two values\n" * 30]
    assert embedder_choice(code * 3, "minilm-int8")[0] == "minilm-int8"


def test_a_few_hebrew_files_among_long_english_ones_get_the_multilingual_embedder(tmp_path):
    """The folder of issue 32: mostly long English documents, a few Hebrew ones (few Hebrew
    letters in all), indexed with no flags."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(9):
        (docs / f"manual-{n}.md").write_text(
            f"# Manual {n}\n\n" + "Run the command with the option to print every page of the manual. " * 300,
            encoding="utf-8",
        )
    shutil.copy(CORPORA / "he" / "בטיחות-אש.md", docs)
    result = CliRunner().invoke(cli, ["ingest", str(docs), "--index-dir", str(tmp_path / "indexes"), "-q"])
    assert result.exit_code == 0, result.output
    assert "of the documents are mostly Hebrew" in result.stderr and "multilingual embedder" in result.stderr, (
        result.stderr
    )


def _answered(index_dir: Path, question: str) -> tuple[dict, list[dict]]:
    """`rag ask --json` over the index: the answer, which must not be an abstention, and the
    sources it points to (those it cites, else those holding most of its words)."""
    result = CliRunner().invoke(cli, ["ask", question, "--index-dir", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["abstained"], answer
    cited = [s for s in answer["sources"] if s["cited"]] or [
        s for s in answer["sources"] if s["n"] in answer.get("supported_by", [])
    ]
    return answer, cited


@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="issue 39, open defect: passes alone and with this module, but after the suite's earlier model runs "
    "the 1.5B's greedy reply no longer copies the sentence (cause not yet found)",
)
def test_a_hebrew_question_over_an_english_document_quotes_it_in_a_hebrew_answer(hebrew_index):
    """Cross-language: the English first-aid notes, asked in Hebrew. The best passage is English:
    the model points at the answering sentence in its English words, and the answer, introduced
    in Hebrew, quotes the document's own sentence and cites the English file."""
    answer, cited = _answered(hebrew_index[1], "מתחת לאיזו טמפרטורת גוף מתחילה היפותרמיה?")
    assert answer["answer"].startswith("במסמכים כתוב, באנגלית: „Hypothermia begins"), answer["answer"]
    assert "35" in answer["answer"] and answer["extractive"], answer["answer"]
    assert answer["timings"]["across"] is True
    assert cited and all(s["source"].endswith("first-aid.md") for s in cited), answer["sources"]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 39, open: an answer in Hebrew words from an English passage needs a translation, and the "
    "bundled 1.5B translates wrongly (docs/benchmarks.md); rag answers in the passage's English instead",
)
def test_a_hebrew_question_over_an_english_document_is_answered_in_hebrew_words(hebrew_index):
    answer, _ = _answered(hebrew_index[1], "מתחת לאיזו טמפרטורת גוף מתחילה היפותרמיה?")
    body = answer["answer"].removeprefix("במסמכים כתוב, באנגלית: ")
    assert "35" in body and sum("\u05d0" <= ch <= "\u05ea" for ch in body) > sum(
        ch.isascii() and ch.isalpha() for ch in body
    )


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 39, open: the 4-bit multilingual-e5-small still ranks an English file first here, and over "
    "Hebrew passages the 1.5B writes English that can point at a Hebrew sentence only by a name",
)
def test_an_english_question_over_a_hebrew_document_is_answered_in_english(hebrew_index):
    answer, cited = _answered(hebrew_index[1], "How far from the tents must a campfire be?")
    text = answer["answer"]
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    hebrew = sum("\u05d0" <= ch <= "\u05ea" for ch in text)
    assert latin > hebrew, f"answered in the question's language: {text}"
    assert "three" in text.lower() or "3" in text, text
    assert cited and all(s["source"].endswith("בטיחות-אש.md") for s in cited), answer["sources"]

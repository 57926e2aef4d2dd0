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
    result = CliRunner().invoke(cli, ["ingest", str(docs), "--index-dir", str(index_dir), "--embedder", "multilingual", "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
    return docs, index_dir


def test_hebrew_question_finds_the_hebrew_section(hebrew_index):
    docs, index_dir = hebrew_index
    result = CliRunner().invoke(cli, ["search", "איך מכבים מדורה?", "--index-dir", str(index_dir), "--json", "-k", "2"])
    rows = json.loads(result.stdout)
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

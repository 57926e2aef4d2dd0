"""The `rag` command, through click's CliRunner and as a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_pdf

from rag.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner(env_clean):
    return CliRunner()


@pytest.fixture
def folder(env_clean):
    docs = env_clean / "docs"
    docs.mkdir()
    make_pdf(
        docs / "manual.pdf",
        [
            "Chapter one introduces the field station and its staff.",
            "The water tank holds 800 litres and is refilled every Tuesday.",
            "Generator maintenance: change the oil every 250 running hours.",
        ],
    )
    (docs / "birds.md").write_text("# Birds\n\nThe hoopoe nests in old walls near the station.\n", encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really")
    return docs


def test_ingest_json_summary_and_rerun(runner, folder):
    result = runner.invoke(cli, ["ingest", str(folder), "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == {
        "added",
        "changed",
        "deleted",
        "renamed",
        "unchanged",
        "skipped",
        "partial",
        "chunks_added",
        "chunks_removed",
        "vectors_repaired",
        "vectors_added",
        "sentences_added",
        "pending_vectors",
        "searchable_seconds",
        "seconds",
    }
    assert summary["added"] == 2 and summary["chunks_added"] >= 2
    assert summary["sentences_added"] >= summary["chunks_added"], "every chunk's sentences have their vectors"
    assert summary["vectors_added"] == summary["chunks_added"] and summary["pending_vectors"] == 0
    assert 0 < summary["searchable_seconds"] <= summary["seconds"]
    assert [os.path.basename(s["path"]) for s in summary["skipped"]] == ["broken.pdf"]
    assert "skipped" in result.stderr and "broken.pdf: not a readable PDF" in result.stderr
    again = json.loads(runner.invoke(cli, ["ingest", str(folder), "--json", "-q"]).stdout)
    assert (again["unchanged"], again["chunks_added"]) == (2, 0)


def test_search_json_returns_file_and_page(runner, folder):
    runner.invoke(cli, ["ingest", str(folder), "-q"])
    result = runner.invoke(cli, ["search", "How often is the generator oil changed?", "--json", "-k", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["index"], data["pending_vectors"]) == ("default", 0), "the shape of the server's /api/search"
    rows = data["hits"]
    assert rows[0]["source"] == str(folder / "manual.pdf") and rows[0]["page"] == 3
    assert set(rows[0]) == {"rank", "score", "source", "file", "page", "heading", "chunk", "text", "ocr"}
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_missing_index_and_missing_path_errors(runner):
    result = runner.invoke(cli, ["search", "anything", "--index", "nope"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no index 'nope' in indexes. Run: rag ingest PATH --index nope\n"
    result = runner.invoke(cli, ["ingest", "does-not-exist"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no such file or folder: does-not-exist\n"


def test_config_shows_origins(runner, env_clean, monkeypatch):
    (env_clean / "rag.toml").write_text('top_k = 7\nindex = "notes"\n')
    monkeypatch.setenv("RAG_INDEX", "work")
    rows = json.loads(runner.invoke(cli, ["config", "--json"]).stdout)
    assert rows["top_k"] == {"value": 7, "from": str(env_clean / "rag.toml")}
    assert rows["index"] == {"value": "work", "from": "RAG_INDEX"}
    assert rows["model"]["from"] == "default"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom rag.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\nassert r.exit_code == 0 and 'ingest' in r.output\n"
        "heavy = [m for m in ('torch', 'chromadb', 'llama_cpp', 'sentence_transformers', 'numpy', 'pypdf') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_status_sources_and_forget(runner, folder):
    runner.invoke(cli, ["ingest", str(folder), "-q"])
    status = json.loads(runner.invoke(cli, ["status", "--json"]).stdout)
    assert (status["files"], status["embedder"]) == (2, "all-MiniLM-L6-v2-int8") and status["chunks"] >= 2
    assert [os.path.basename(s["path"]) for s in status["skipped"]] == ["broken.pdf"]
    listed = json.loads(runner.invoke(cli, ["sources", "--json"]).stdout)
    assert sorted(os.path.basename(r["path"]) for r in listed) == ["birds.md", "manual.pdf"]
    result = runner.invoke(cli, ["forget", str(folder / "birds.md")])
    assert result.exit_code == 0 and "removed 1 file(s)" in result.stderr
    assert json.loads(runner.invoke(cli, ["status", "--json"]).stdout)["files"] == 1
    result = runner.invoke(cli, ["forget", str(folder / "birds.md")])
    assert result.exit_code == 1 and "nothing indexed under" in result.stderr


def test_hebrew_text_in_an_english_only_index_gets_one_note(runner, env_clean):
    english = env_clean / "en"
    english.mkdir()
    (english / "a.md").write_text("Plain English text about fire safety.", encoding="utf-8")
    assert "note:" not in runner.invoke(cli, ["ingest", str(english), "-q"]).stderr
    docs = env_clean / "he"
    docs.mkdir()
    (docs / "אש.md").write_text("# בטיחות אש\n\nמכבים את המדורה במים לפני השינה ובודקים שאין חום.\n", encoding="utf-8")
    result = runner.invoke(cli, ["ingest", str(docs), "-q"])  # into the English index built above
    assert result.exit_code == 0
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "--embedder multilingual --rebuild" in notes[0]
    result = runner.invoke(cli, ["ingest", str(docs), "-q", "--index", "he"])  # a new index: Hebrew chooses
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "is built with the multilingual embedder" in notes[0], notes


def test_right_to_left_paths_and_headings_are_isolated():
    from rag.cli import _source_line

    line = _source_line(2, "/docs/בטיחות.md", None, "כיבוי המדורה")
    assert line == "[2] \u2068/docs/בטיחות.md\u2069 — \u2068כיבוי המדורה\u2069"
    assert _source_line(1, "/docs/a.pdf", 3, "Boiling") == "[1] /docs/a.pdf, p. 3 — Boiling"


@pytest.mark.slow
def test_an_outlook_msg_goes_through_unstructured_offline_and_keeps_json_clean(env_clean):
    """.msg is the one format read by `unstructured`: a damaged one is skipped with its reason,
    and nothing unstructured prints (its sign-up notice) reaches the JSON on stdout."""
    docs = env_clean / "mail"
    docs.mkdir()
    (docs / "note.md").write_text("The depot opens at six.\n", encoding="utf-8")
    (docs / "forwarded.msg").write_bytes(b"not an Outlook message")
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", str(docs), "--json", "-q"],
        capture_output=True,
        text=True,
        cwd=env_clean,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # the whole of stdout is the JSON summary
    assert summary["added"] == 1
    assert [(os.path.basename(s["path"]), s["reason"]) for s in summary["skipped"]] == [
        ("forwarded.msg", "not a readable msg file (ValueError: forwarded.msg is not an Outlook MSG file)")
    ]


def test_a_skip_reason_names_the_flag_that_fixes_it(runner, env_clean):
    docs = env_clean / "locked"
    docs.mkdir()
    make_pdf(docs / "secret.pdf", ["The launch code is 1234."], password="pw")
    (docs / "open.md").write_text("The gate opens at six.\n", encoding="utf-8")
    result = runner.invoke(cli, ["ingest", str(docs), "--json", "-q"])
    wanted = "encrypted PDF (pass --password to read it)"
    assert [s["reason"] for s in json.loads(result.stdout)["skipped"]] == [wanted]
    assert f"secret.pdf: {wanted}" in result.stderr
    status = json.loads(runner.invoke(cli, ["status", "--json"]).stdout)  # read back from the catalog
    assert [s["reason"] for s in status["skipped"]] == [wanted]

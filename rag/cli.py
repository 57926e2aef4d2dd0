"""The `rag` command: click commands only. Parse flags, call the library, print.

Heavy libraries are imported inside the commands, so `rag --help` starts instantly.
"""

from __future__ import annotations

import functools
import json
import sys

import click

from rag.settings import HELP, load_settings, setting_names


def _fail_cleanly(command):
    """Library errors become `Error: <message>` and exit 1; tracebacks are for bugs only."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from ingest.errors import IngestError

        try:
            return command(*args, **kwargs)
        except IngestError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def index_options(command):
    command = click.option("--index-dir", type=click.Path(file_okay=False), help="Folder holding the indexes [./indexes, $RAG_INDEX_DIR].")(command)
    command = click.option("--index", "-i", "index", help="Index name [default].")(command)
    return command


def _settings(**flags):
    return load_settings({k: v for k, v in flags.items() if v is not None})


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


def _source_line(n: int | None, source: str, page, heading: str) -> str:
    from rag.api import display_path

    text = display_path(source)
    if page is not None:
        text += f", p. {page}"
    if heading:
        text += f" — {heading}"
    return f"[{n}] {text}" if n is not None else text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag", message="rag %(version)s")
def cli():
    """Ask questions of your own documents, offline.

    \b
    Example:
      rag ingest ./docs
      rag ask "How do I purify water?"
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_options
@click.option("--embedder", help="Embedder for a new index: minilm or multilingual.")
@click.option("--password", help="Password for encrypted PDFs.")
@click.option("--max-file-mb", type=int, help="Skip files larger than this many MB [200].")
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again from scratch.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_fail_cleanly
def ingest(paths, index, index_dir, embedder, password, max_file_mb, rebuild, as_json, quiet):
    """Index the files under PATHS; a second run only processes what changed.

    \b
    Example:
      rag ingest ./docs ~/notes --index work
    """
    from rag.api import display_path, run_ingest
    from rag.progress import ProgressPrinter

    settings = _settings(index=index, index_dir=index_dir, embedder=embedder, max_file_mb=max_file_mb)
    progress = ProgressPrinter(enabled=not quiet)

    def on_skip(path: str, reason: str) -> None:
        progress.close()
        _echo_err(f"skipped {display_path(path)}: {reason}")

    try:
        report = run_ingest(settings, paths, password=password, rebuild=rebuild, progress=progress, on_skip=on_skip)
    finally:
        progress.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    _echo_err(
        f"index '{settings.index}': {report.added} new, {report.changed} changed, {report.deleted} deleted, "
        f"{report.renamed} renamed, {report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"chunks +{report.chunks_added} -{report.chunks_removed}; {report.seconds:.1f} s"
    )


@cli.command()
@click.argument("query")
@index_options
@click.option("-k", "top_k", type=int, help="Number of passages [5].")
@click.option("--where", help="Only files whose path matches this glob, e.g. 'manuals/*.pdf'.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@_fail_cleanly
def search(query, index, index_dir, top_k, where, as_json):
    """Show the passages that best match QUERY (no language model).

    \b
    Example:
      rag search "water purification tablets" -k 3
    """
    from rag.api import open_index, open_retriever

    settings = _settings(index=index, index_dir=index_dir, top_k=top_k)
    idx = open_index(settings)
    try:
        hits = open_retriever(settings, idx).search(query, settings.top_k, where=where)
    finally:
        idx.close()
    if as_json:
        rows = [
            {"rank": r, "score": round(h.score, 6), "source": h.source, "page": h.page, "heading": h.heading, "text": h.text}
            for r, h in enumerate(hits, 1)
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not hits:
        _echo_err("no passage matches.")
    for rank, hit in enumerate(hits, 1):
        click.echo(_source_line(rank, hit.source, hit.page, hit.heading))
        snippet = " ".join(hit.text.split())
        click.echo("    " + (snippet[:300] + "…" if len(snippet) > 300 else snippet))


@cli.command()
@click.argument("question")
@index_options
@click.option("--model", "-m", help="GGUF file or bundled model name [qwen2.5-coder-1.5b].")
@click.option("-k", "top_k", type=int, help="Passages given to the model [5].")
@click.option("--threads", type=int, help="CPU threads [physical cores].")
@click.option("--where", help="Only use files whose path matches this glob.")
@click.option("--show-passages", is_flag=True, help="Print each cited passage under its source.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer, sources and timings as JSON.")
@_fail_cleanly
def ask(question, index, index_dir, model, top_k, threads, where, show_passages, as_json):
    """Answer QUESTION from the indexed documents, with citations.

    \b
    Example:
      rag ask "How long must water boil to be safe?"
    """
    from rag.api import build_engine, open_index

    settings = _settings(index=index, index_dir=index_dir, model=model, top_k=top_k, threads=threads)
    idx = open_index(settings)
    try:
        engine = build_engine(settings, idx)
        stream = None if as_json else (lambda text: (sys.stdout.write(text), sys.stdout.flush()))
        answer = engine.ask(question, on_text=stream, where=where)
    finally:
        idx.close()
    if as_json:
        click.echo(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo()
    if answer.abstained:
        return
    listed = [p for p in answer.passages if p.n in answer.cited]
    if not listed:
        _echo_err("\nwarning: the answer cites no source; check it against these passages:")
        listed = answer.passages
    else:
        _echo_err("\nSources:")
    for passage in listed:
        _echo_err(_source_line(passage.n, passage.source, passage.page, passage.heading))
        if show_passages:
            _echo_err("    " + " ".join(passage.text.split()))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_fail_cleanly
def config(as_json):
    """Print the effective settings and where each one came from.

    \b
    Settings come from built-in defaults, then rag.toml (here, else ~/.config/rag/),
    then RAG_* environment variables (e.g. RAG_INDEX_DIR), then flags.
    """
    settings = load_settings()
    rows = {name: {"value": getattr(settings, name), "from": settings.origins[name]} for name in setting_names()}
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for name, row in rows.items():
        click.echo(f"{name:<18} {str(row['value']):<24} {row['from']:<14} {HELP[name]}")


def main() -> None:  # pragma: no cover - console entry point
    cli()

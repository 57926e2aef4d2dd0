"""The `rag` command: click commands only. Parse flags, call the library, print.

Heavy libraries are imported inside the commands, so `rag --help` starts instantly.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

import click

from ingest.paths import readable
from rag.settings import HELP, Settings, load_settings, setting_names


def _fail_cleanly(command):
    """Library errors become `Error: <message>` and exit 1; tracebacks are for bugs only."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from ingest.errors import IngestError
        from rag.errors import explain

        try:
            return command(*args, **kwargs)
        except IngestError as exc:
            raise click.ClickException(explain(exc)) from None

    return wrapper


def index_options(command):
    command = click.option(
        "--index-dir", type=click.Path(file_okay=False), help="Folder holding the indexes [./indexes, $RAG_INDEX_DIR]."
    )(command)
    command = click.option("--index", "-i", "index", help="Index name [default].")(command)
    return command


def _settings(**flags):
    return load_settings({k: v for k, v in flags.items() if v is not None})


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")


def isolate(text: str) -> str:
    """Wrap right-to-left text in Unicode bidi isolates (FSI … PDI), so that a terminal that
    reorders bidirectional text keeps each path or heading whole and its punctuation in place."""
    return f"\u2068{text}\u2069" if _RTL.search(text) else text


def _source_line(n: int | None, source: str, page, heading: str, origin: str = "") -> str:
    from rag.api import display_path

    text = isolate(display_path(source))
    if page is not None:
        text += f", p. {page}"
    if heading:
        text += f" — {isolate(heading)}"
    if origin == "ocr":
        text += " (OCR: read from a scan, check the page)"
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
@click.option(
    "--embedder",
    help="Embedder for a new index: minilm-int8, minilm or multilingual [chosen from the documents: multilingual when 10%+ of their letters are not Latin].",
)
@click.option("--password", help="Password for encrypted PDFs.")
@click.option("--max-file-mb", type=int, help=f"Skip files larger than this many MB [{Settings.max_file_mb}].")
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again from scratch.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--watch", is_flag=True, help="Keep running; sync again whenever files under PATHS change (Ctrl-C stops)."
)
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between checks with --watch.")
@_fail_cleanly
def ingest(paths, index, index_dir, embedder, password, max_file_mb, rebuild, as_json, quiet, watch, interval):
    """Index the files under PATHS; a second run only processes what changed.

    \b
    Example:
      rag ingest ./docs ~/notes --index work
    """
    from rag.api import display_path, language_note, run_ingest
    from rag.progress import ProgressPrinter

    settings = _settings(index=index, index_dir=index_dir, embedder=embedder, max_file_mb=max_file_mb)
    progress = ProgressPrinter(enabled=not quiet)

    def on_skip(path: str, reason: str) -> None:
        progress.close()
        _echo_err(f"skipped {isolate(display_path(path))}: {reason}")

    def summarize(report) -> None:
        progress.close()
        for line in report.notes:
            _echo_err(f"note: {line}")
        for row in report.partial:
            _echo_err(f"partial {isolate(display_path(row['path']))}: {lost_parts(row['lost'])}")
        note = language_note(settings, report, paths)
        if note:
            _echo_err(note)
        if as_json:
            click.echo(json.dumps(report.as_dict(), ensure_ascii=False), nl=True)
            sys.stdout.flush()
            return
        _echo_err(
            f"index '{settings.index}': {report.added} new, {report.changed} changed, {report.deleted} deleted, "
            f"{report.renamed} renamed, {report.unchanged} unchanged, {len(report.skipped)} skipped; "
            f"chunks +{report.chunks_added} -{report.chunks_removed}; searchable after {report.searchable_seconds:.1f} s, "
            f"vectors done after {report.seconds:.1f} s"
        )
        if report.pending_vectors:
            _echo_err(
                f"note: {report.pending_vectors} chunks are still waiting for their vectors (searchable by their "
                f"words); run the same command again to finish them"
            )

    if watch:
        from rag.api import watch as watch_folders

        if rebuild:
            run_ingest(settings, paths, password=password, rebuild=True, progress=progress, on_skip=on_skip)
        _echo_err(f"watching {', '.join(isolate(p) for p in paths)} every {interval:g} s; Ctrl-C stops")
        try:
            watch_folders(
                settings,
                paths,
                interval=interval,
                on_report=summarize,
                password=password,
                progress=progress,
                on_skip=on_skip,
            )
        except KeyboardInterrupt:
            _echo_err("stopped watching")
        return
    try:
        report = run_ingest(settings, paths, password=password, rebuild=rebuild, progress=progress, on_skip=on_skip)
    finally:
        progress.close()
    summarize(report)


@cli.command()
@click.argument("query")
@index_options
@click.option("-k", "top_k", type=int, help=f"Number of passages [{Settings.top_k}].")
@click.option("--where", help="Only files whose path matches this glob, e.g. 'manuals/*.pdf'.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@_fail_cleanly
def search(query, index, index_dir, top_k, where, as_json):
    """Show the passages that best match QUERY (no language model).

    \b
    Example:
      rag search "water purification tablets" -k 3
    """
    from rag.api import hit_rows, open_retriever, opened_index

    settings = _settings(index=index, index_dir=index_dir, top_k=top_k)
    with opened_index(settings) as idx:
        retrieval = open_retriever(settings, idx).retrieve(query, settings.top_k, where=where)
    hits = retrieval.hits
    _note_pending(settings.index, retrieval.pending)
    if as_json:
        data = {"index": settings.index, "hits": hit_rows(hits), "pending_vectors": retrieval.pending}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not hits:
        _echo_err("no passage matches.")
    for rank, hit in enumerate(hits, 1):
        click.echo(_source_line(rank, hit.source, hit.page, hit.heading, hit.origin))
        snippet = " ".join(hit.text.split())
        click.echo("    " + (snippet[:300] + "…" if len(snippet) > 300 else snippet))


@cli.command()
@click.argument("question")
@index_options
@click.option(
    "--model",
    "-m",
    help=f"GGUF file, bundled model name, or auto (0.5B for English, 1.5B for Hebrew and follow-ups) [{Settings.model}].",
)
@click.option("-k", "top_k", type=int, help=f"Passages given to the model [{Settings.top_k}].")
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
    from rag.api import build_engine, opened_index

    settings = _settings(index=index, index_dir=index_dir, model=model, top_k=top_k, threads=threads)
    stream = None if as_json else (lambda text: (sys.stdout.write(text), sys.stdout.flush()))
    evidence = None if as_json else _print_evidence
    with opened_index(settings) as idx:
        _note_pending(settings.index, idx.catalog.pending_count())
        answer = build_engine(settings, idx).ask(question, on_text=stream, on_evidence=evidence, where=where)
    if as_json:
        click.echo(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo()
    _print_sources(answer, show_passages)


def _note_pending(index: str, pending: int) -> None:
    """One line on stderr while an ingest's second stage (vectors) is not finished."""
    if pending:
        _echo_err(
            f"note: {pending} chunks of index '{index}' are still waiting for their vectors; until `rag ingest` "
            f"finishes they are found by their words only"
        )


def _print_evidence(evidence) -> None:
    """The documents' own best sentence, on stderr, before the model's answer starts."""
    where = _source_line(None, evidence.source, evidence.page, evidence.heading, evidence.origin)
    _echo_err(f"Evidence: \u201c{' '.join(evidence.text.split())}\u201d ({where})\n")


def _print_sources(answer, show_passages: bool) -> None:
    """Under a shown answer, the passages it rests on (``Answer.shown_sources``); under an
    abstention, the closest passage, labelled as not stating the answer."""
    shown = answer.shown_sources()
    if answer.abstained:
        if answer.evidence is not None:
            e = answer.evidence
            where = _source_line(None, e.source, e.page, e.heading, e.origin).strip()
            _echo_err(f"\nClosest passage (it does not state the answer): {where}")
        return
    listed = [p for p in answer.passages if p.n in shown]
    if answer.cited:
        _echo_err("\nSources:")
    else:
        _echo_err("\nSources (the model cited none; this passage holds the answer's words):")
    for passage in listed:
        _echo_err(_source_line(passage.n, passage.source, passage.page, passage.heading, passage.origin))
        if show_passages:
            _echo_err("    " + " ".join(passage.text.split()))


CHAT_HELP = "Ask a question. /sources shows the last answer's passages, /reset forgets the conversation, /exit ends."


@cli.command()
@index_options
@click.option(
    "--model",
    "-m",
    help=f"GGUF file, bundled model name, or auto (0.5B for English, 1.5B for Hebrew and follow-ups) [{Settings.model}].",
)
@click.option("--threads", type=int, help="CPU threads [physical cores].")
@click.option("--where", help="Only use files whose path matches this glob.")
@click.option("--save", "save_to", type=click.Path(dir_okay=False), help="Append each turn to this file as JSON lines.")
@_fail_cleanly
def chat(index, index_dir, model, threads, where, save_to):
    """Talk with the indexed documents: the model stays loaded between questions and
    follow-ups ("and the second one?") are understood from the conversation.

    History stays in memory unless --save is given.

    \b
    Example:
      rag chat --index work --save notes.jsonl
    """
    from rag.api import build_engine, opened_index
    from rag.conversation import Conversation

    settings = _settings(index=index, index_dir=index_dir, model=model, threads=threads)
    stream = lambda text: (sys.stdout.write(text), sys.stdout.flush())  # noqa: E731
    with opened_index(settings) as idx:
        _note_pending(settings.index, idx.catalog.pending_count())
        conversation = Conversation(build_engine(settings, idx))
        _echo_err(f"rag chat on index '{settings.index}'. {CHAT_HELP}")
        while True:
            try:
                line = input("\n> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not line:
                continue
            if line in ("/exit", "/quit"):
                break
            if line == "/reset":
                conversation.reset()
                _echo_err("(conversation forgotten)")
            elif line == "/sources":
                if conversation.last is None:
                    _echo_err("(no answer yet)")
                else:
                    _print_sources(conversation.last.answer, show_passages=True)
            elif line.startswith("/"):
                _echo_err(f"unknown command {line}. {CHAT_HELP}")
            else:
                turn = _chat_turn(conversation, line, stream, where)
                if save_to:
                    _save_turn(Path(save_to), turn)
    click.echo()


def _chat_turn(conversation, line: str, stream, where):
    understood = lambda standalone: _echo_err(f"(understood as: {isolate(standalone)})")  # noqa: E731
    turn = conversation.ask(line, on_text=stream, where=where, on_rewrite=understood)
    click.echo()
    _print_sources(turn.answer, show_passages=False)
    return turn


def _save_turn(path: Path, turn) -> None:
    row = {**turn.answer.as_dict(), "question": turn.asked, "standalone": turn.standalone}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")


@cli.command()
@index_options
@click.option("--verify", is_flag=True, help="Also check that every chunk has exactly one vector (exit 1 if not).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_fail_cleanly
def status(index, index_dir, verify, as_json):
    """Show an index: files, chunks, embedder, last sync, files skipped and why.

    \b
    Example:
      rag status --index work --verify
    """
    from rag.api import index_status, opened_index

    with opened_index(_settings(index=index, index_dir=index_dir)) as idx:
        info = index_status(idx)
        check = idx.verify() if verify else None
    if check is not None:
        info["verify"] = {
            "consistent": check["consistent"],
            "vectors": check["vectors"],
            "missing_vectors": len(check["missing_vectors"]),
            "orphan_vectors": len(check["orphan_vectors"]),
            "pending_vectors": check["pending_vectors"],
            "fingerprint": check["fingerprint"],
        }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        _print_status(info)
    if check is not None and not check["consistent"]:
        raise click.ClickException(
            f"index '{info['index']}' is not consistent: {len(check['missing_vectors'])} chunks without a vector, "
            f"{len(check['orphan_vectors'])} vectors without a chunk. Run: rag ingest PATH --index {info['index']} to repair it"
        )


def _print_status(info: dict) -> None:
    from rag.api import display_path

    for key in ("index", "directory", "embedder", "files", "chunks", "last_sync"):
        click.echo(f"{key:<10} {info[key]}")
    if info.get("pending_vectors"):
        click.echo(f"{'pending':<10} {info['pending_vectors']} chunks waiting for vectors (run rag ingest to finish)")
    if "verify" in info:
        v = info["verify"]
        click.echo(f"{'vectors':<10} {v['vectors']} ({'consistent' if v['consistent'] else 'NOT consistent'})")
    reading = info.get("reading", {})
    if reading.get("pages"):
        click.echo(f"{'pages':<10} " + ", ".join(f"{n} by {how}" for how, n in sorted(reading["pages"].items())))
    if reading.get("repairs"):
        click.echo(
            f"{'repairs':<10} "
            + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(reading["repairs"].items()))
        )
    click.echo(f"{'skipped':<10} {len(info['skipped'])}")
    for row in info["skipped"]:
        click.echo(f"  {isolate(display_path(row['path']))}: {row['reason']}")
    if info.get("partial"):
        click.echo(
            f"{'partial':<10} {len(info['partial'])} (indexed without the parts below; rag ingest tries them again)"
        )
        for row in info["partial"]:
            click.echo(f"  {isolate(display_path(row['path']))}: {lost_parts(row['lost'])}")


def lost_parts(lost: list[dict]) -> str:
    """The parts of a partial file that were not indexed, in one line: "page 3: reason; page 7: reason"."""
    return "; ".join(f"page {row['page']}: {row['reason']}" if row.get("page") else row["reason"] for row in lost)


@cli.command()
@index_options
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_fail_cleanly
def sources(index, index_dir, as_json):
    """List the indexed files with their chunk counts.

    \b
    Example:
      rag sources | grep manuals/
    """
    from rag.api import display_path, opened_index, source_list

    with opened_index(_settings(index=index, index_dir=index_dir)) as idx:
        files = source_list(idx)
    if as_json:
        click.echo(json.dumps(files, ensure_ascii=False, indent=2))
        return
    for f in files:
        click.echo(f"{f['chunks']:>6}  {isolate(display_path(f['path']))}")


@cli.command()
@click.argument("path", type=click.Path())
@index_options
@_fail_cleanly
def forget(path, index, index_dir):
    """Remove a file, or everything under a folder, from the index (the files stay on disk).

    \b
    Example:
      rag forget ~/Documents/old-project
    """
    from rag.api import forget as forget_path

    removed = forget_path(_settings(index=index, index_dir=index_dir), path)
    if not removed:
        raise click.ClickException(f"nothing indexed under {readable(path)}. See: rag sources")
    _echo_err(f"removed {len(removed)} file(s) from the index")


@cli.command()
@index_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every network of this machine).",
)
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option("--token", help="Require this token from every client [a new one when --host is not this machine only].")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer to this host name (a name of this machine, or a proxy's); repeatable.",
)
@click.option("--model", "-m", help=f"GGUF file or bundled model name [{Settings.model}].")
@click.option("--threads", type=int, help="CPU threads [physical cores].")
@_fail_cleanly
def serve(index, index_dir, host, port, token, allow_hosts, model, threads):
    """Serve a web page, an OpenAI-compatible API and MCP tools over your indexes.

    One model is loaded and shared; every index is a "model" to the API. Answers take turns;
    searches never wait. The server answers only to its own names (see --allow-host), and
    other websites cannot use it from a browser.

    \b
    Example:
      rag serve --index notes
      rag serve --host 0.0.0.0            # a team on the same network; prints a token
    """
    from rag.api import index_names, opened_index
    from rag.serve.app import serve as run_server
    from rag.serve.security import stored_token

    settings = _settings(index=index, index_dir=index_dir, model=model, threads=threads)
    others = index_names(settings.index_path)
    if settings.origins.get("index") == "default" and settings.index not in others and others:
        _echo_err(
            f"no index '{settings.index}' in {settings.index_path}; serving '{others[0]}' (all: {', '.join(others)})"
        )
        settings.index = others[0]
    with opened_index(settings):  # fail now, with the ingest command, if no index is there at all
        pass
    kept = None
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        token, kept = stored_token(settings.index_path)

    def ready(urls: list[str]) -> None:
        click.echo(f"Serving index '{settings.index}' at {urls[0]}", err=True)
        for url in urls[1:]:
            click.echo(f"  also at {url}", err=True)
        if token:
            where = f"; kept in {kept}, readable only by you" if kept else ""
            click.echo(
                f"Token: {token}  (the page asks for it, or open {urls[-1]}?token={token}; "
                f"API: Authorization: Bearer {token}{where})",
                err=True,
            )

    run_server(settings, host=host, port=port, token=token, allow_hosts=allow_hosts, on_ready=ready)


@cli.command()
@index_options
@click.option("--model", "-m", help=f"GGUF file or bundled model name [{Settings.model}].")
@_fail_cleanly
def mcp(index, index_dir, model):
    """Serve the MCP tools search, ask and list_sources over stdin/stdout.

    Register it with an MCP client as a command, for example:

    \b
      {"command": "/path/to/.venv/bin/rag", "args": ["mcp", "--index", "notes"]}
    """
    from rag.api import opened_index
    from rag.serve.mcp import serve_mcp_stdio

    settings = _settings(index=index, index_dir=index_dir, model=model)
    with opened_index(settings):
        pass
    serve_mcp_stdio(settings)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--machine", is_flag=True, help="Print the CPU, the llama.cpp build and what it uses, threads, model.")
@_fail_cleanly
def config(as_json, machine):
    """Print the effective settings and where each one came from.

    \b
    Settings come from built-in defaults, then rag.toml (here, else ~/.config/rag/),
    then RAG_* environment variables (e.g. RAG_INDEX_DIR), then flags.
    With --machine: one block to paste when reporting slowness or a crash.

    \b
    Example:
      rag config --machine
    """
    settings = load_settings()
    if machine:
        from rag.llama_runtime import machine_report

        report = machine_report(settings.effective_threads(), settings.model)
        if as_json:
            click.echo(json.dumps(report, indent=2))
            return
        for key, value in report.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            click.echo(f"{key:<15} {shown}")
        return
    rows = {name: {"value": getattr(settings, name), "from": settings.origins[name]} for name in setting_names()}
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for name, row in rows.items():
        click.echo(f"{name:<18} {str(row['value']):<24} {row['from']:<14} {HELP[name]}")


@cli.group(name="eval")
def eval_group():
    """Measure retrieval and answer quality on a data set (yours or a public one).

    \b
    Example:
      rag eval beir ../shared/data/scifact --json
      rag eval qa ../shared/data/xquad-en/xquad.en.json --answers --limit 100
    """


def _eval_options(command):
    command = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")(command)
    command = click.option("--embedder", help="Embedder for the evaluation index [chosen from the documents].")(command)
    return index_options(command)


def _eval_index(settings_flags: dict, source: Path) -> tuple:
    """Settings whose index defaults to eval-<data set>-<embedder>, and a progress printer."""
    from rag.evaluate import eval_index_name
    from rag.progress import ProgressPrinter

    settings = _settings(**settings_flags)
    if settings.origins["index"] == "default":
        settings.index = eval_index_name(source, settings.embedder)
    return settings, ProgressPrinter()


def _evaluated(settings, source: Path, documents: str | None, progress, evaluate) -> dict:
    """Ingest ``documents`` (if given) into the evaluation index, then the report: the data set
    and index, and what ``evaluate(index)`` measures."""
    from rag.api import opened_index, run_ingest

    if documents:
        run_ingest(settings, [documents], progress=progress, on_skip=lambda p, r: _echo_err(f"skipped {p}: {r}"))
    with opened_index(settings) as idx:
        try:
            report = {
                "dataset": str(source),
                "index": idx.name,
                "embedder": idx.embedder_name,
                "chunks": idx.catalog.chunk_count(),
            }
            report.update(evaluate(idx))
        finally:
            progress.close()
    return report


def _print_report(report: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for key, value in report.items():
        if key == "answers":
            continue  # per-question rows: --json only
        if key == "modes":
            for mode, metrics in value.items():
                click.echo(f"{mode:<8} " + "  ".join(f"{k} {v}" for k, v in metrics.items()))
        elif key == "mrr@10_by_dense_weight":
            click.echo(f"{key}: " + "  ".join(f"{w}: {v}" for w, v in value.items()))
        elif key == "suggested_dense_weight":
            continue  # the advice line says it
        else:
            click.echo(f"{key}: {value}")


@eval_group.command("beir")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@_eval_options
@click.option("--split", default="test", show_default=True, help="Which qrels file to score.")
@_fail_cleanly
def eval_beir(folder, index, index_dir, embedder, as_json, split):
    """Retrieval quality on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).

    Reports nDCG@10, recall@10, recall@100 and MRR@10 for hybrid search (and for dense and
    lexical alone), plus mean search latency.

    \b
    Example:
      rag eval beir ../shared/data/scifact --json
    """
    from rag.api import open_retriever
    from rag.evaluate import evaluate_beir, load_beir, workspace

    source = Path(folder)
    settings, progress = _eval_index({"index": index, "index_dir": index_dir, "embedder": embedder}, source)
    data = load_beir(source, workspace(settings.cache_path, source), split)
    report = _evaluated(
        settings,
        source,
        str(data.documents),
        progress,
        lambda idx: evaluate_beir(open_retriever(settings, idx), data, progress=progress),
    )
    _print_report(report, as_json)


@eval_group.command("qa")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_eval_options
@click.option("--answers", is_flag=True, help="Also generate answers and score them (slow: runs the model).")
@click.option("--limit", type=int, help="With --answers: score this many questions, spread over the set.")
@click.option("--model", "-m", help="GGUF file or bundled model name for --answers.")
@_fail_cleanly
def eval_qa(file, index, index_dir, embedder, as_json, answers, limit, model):
    """Question answering on a SQuAD-format file (v1.1, or v2 with is_impossible).

    The paragraphs become the corpus. Reports retrieval recall@1/5/10 (a hit is a passage
    containing a gold answer); with --answers, answer accuracy (a gold answer contained in the
    normalised answer; a Hebrew answer may carry a one-letter prefix) and abstention on
    unanswerable questions; --json adds each question's answer.

    \b
    Example:
      rag eval qa ../shared/data/xquad-en/xquad.en.json --json
    """
    from rag.api import build_engine, open_retriever
    from rag.evaluate import evaluate_answers, evaluate_qa_retrieval, load_squad, sample, workspace

    source = Path(file)
    settings, progress = _eval_index(
        {"index": index, "index_dir": index_dir, "embedder": embedder, "model": model}, source
    )
    documents, items = load_squad(source, workspace(settings.cache_path, source))

    def evaluate(idx) -> dict:
        report = evaluate_qa_retrieval(open_retriever(settings, idx), items, progress=progress)
        if answers:
            report["model"] = settings.model
            report.update(evaluate_answers(build_engine(settings, idx), sample(items, limit), progress=progress))
        return report

    _print_report(_evaluated(settings, source, str(documents), progress, evaluate), as_json)


@eval_group.command("folder")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--docs",
    type=click.Path(exists=True, file_okay=False),
    help="The folder the questions are about (ingested into the evaluation index).",
)
@_eval_options
@_fail_cleanly
def eval_folder(file, docs, index, index_dir, embedder, as_json):
    """Retrieval quality on your own documents: does search find the file (and page) that
    answers each of your questions?

    FILE has one JSON object a line: {"question": "...", "source": "manual.pdf", "page": 12}
    ("page" is optional; "source" is a file name or the end of its path). Reports hit@1, hit@5
    and MRR@10 for hybrid search and for dense and lexical alone, and lists the questions whose
    place was not in the top 5.

    \b
    Example:
      rag eval folder my-questions.jsonl --docs ~/Documents/manuals
      rag eval folder my-questions.jsonl --index work      # an index you already have
    """
    from rag.api import open_retriever
    from rag.evaluate import evaluate_folder_retrieval, load_qa_jsonl

    source = Path(file)
    items = load_qa_jsonl(source)
    if not any(item.source for item in items):
        raise click.ClickException(f'{file} names no "source" for any question: write the file that answers each one')
    settings, progress = _eval_index({"index": index, "index_dir": index_dir, "embedder": embedder}, source)
    if not docs and settings.origins["index"] == "default":
        raise click.ClickException(
            "give --docs FOLDER (the documents the questions are about) or --index NAME (an index of them)"
        )
    report = _evaluated(
        settings,
        source,
        docs,
        progress,
        lambda idx: evaluate_folder_retrieval(open_retriever(settings, idx), items, progress=progress),
    )
    if not as_json:
        for row in report.pop("missed_at_5"):
            _echo_err(
                f"not in the top 5: {row['question']} ({row['source']}"
                + (f", p. {row['page']})" if row["page"] else ")")
            )
    _print_report(report, as_json)


def main() -> None:  # pragma: no cover - console entry point
    cli()

"""The library's face for the CLI (and later the server): settings in, objects out."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.embedder import EMBEDDER_NAMES, LazyEmbedder
from ingest.errors import IngestError
from ingest.index import Index, index_folder
from ingest.ocr import OcrConfig
from ingest.paths import file_id, readable
from ingest.pipeline import SyncOptions, SyncReport, sync
from ingest.remote_embedder import REMOTE_PREFIX
from ingest.store import EMBEDDED, StoreConfig
from ingest.workers import ParseLimits
from rag.engine import Engine
from rag.errors import RagError, phrase_skip
from rag.retriever import Fusion, Retriever
from rag.settings import Settings
from rag.verify import DEFAULT_VERIFIER, HEBREW_VERIFIER

AUTO_MULTILINGUAL_SHARE = 0.10
"""A new index whose first documents have at least this share of non-Latin letters (Hebrew,
Arabic, …) is built with the multilingual embedder. Chosen from measured retrieval
(docs/benchmarks.md): on Hebrew, MiniLM loses 0.24 of recall@5 (0.66 against 0.90 on HeQ);
on English, the multilingual model loses about 0.025 (SciFact nDCG@10 0.706 against 0.731,
XQuAD-en level), so it pays from about 0.025 / (0.24 + 0.025) ≈ 10% non-English text on."""
AUTO_MULTILINGUAL_DOCUMENTS = 0.05
"""… or at least this share of its first documents is mostly non-Latin: a folder of long English
manuals with a few Hebrew PDFs has few Hebrew letters but Hebrew documents a user will ask
about in Hebrew (bench/mixed.py, docs/benchmarks.md)."""
MOSTLY = 0.5
"""A document is mostly non-Latin from this share of its letters on."""
OTHER_LANGUAGE = 0.10
"""… and in another Latin-script language from this share of its words being that language's
function words (ingest.lexical.other_language_share: Italian Wikipedia 0.13 median, English
and code collections at most 0.08 for any one document, 0 for most; docs/benchmarks.md)."""


def script_shares(texts: Sequence[str]) -> tuple[float, float]:
    """Pure: (share of all letters that are not English: non-Latin scripts, and the letters of
    documents in another Latin-script language; share of the texts that are mostly not English),
    one text per document; texts with under 100 letters do not count as documents."""
    from ingest.lexical import latin_letter_share, other_language_share

    letters = foreign = documents = mostly = 0
    for text in texts:
        n, m = latin_letter_share(text)
        words, other = other_language_share(text)
        elsewhere = words > 0 and other / words >= OTHER_LANGUAGE
        letters, foreign = letters + n, foreign + (n if elsewhere else n - m)
        if n >= 100:
            documents += 1
            mostly += elsewhere or (1 - m / n) >= MOSTLY
    return (foreign / letters if letters else 0.0), (mostly / documents if documents else 0.0)


def embedder_choice(texts: Sequence[str], fallback: str) -> tuple[str, str]:
    """Pure: the embedder a new index over these documents' texts gets, and why ("" for the fallback)."""
    letters, documents = script_shares(texts)
    if letters >= AUTO_MULTILINGUAL_SHARE:
        return "multilingual", f"{letters:.0%} of the text is Hebrew or another language than English"
    if documents >= AUTO_MULTILINGUAL_DOCUMENTS:
        return "multilingual", f"{documents:.0%} of the documents are mostly Hebrew or another language than English"
    return fallback, ""


def store_config(settings: Settings) -> StoreConfig:
    """Where the vectors live: ``vector_store`` (embedded or a server URL), its token from the
    environment only (RAG_CHROMA_TOKEN), so it is never written to rag.toml or shown."""
    return StoreConfig(settings.vector_store or EMBEDDED, os.environ.get("RAG_CHROMA_TOKEN") or None)


def remote_embedder(settings: Settings):
    """The embedder behind ``embedder_url`` (None when it is not set)."""
    if not settings.embedder_url:
        return None
    from ingest.remote_embedder import RemoteEmbedder

    return RemoteEmbedder(settings.embedder_url, settings.embedder_model, api_key=os.environ.get("RAG_API_KEY"))


def embedder_for(settings: Settings) -> str | None:
    """The embedder to ingest with: the one asked for, else the one the index was built with;
    None for a new index, whose documents decide (``choose_embedder``)."""
    if settings.origins.get("embedder", "default") != "default":
        return settings.embedder
    if (index_folder(settings.index_path, settings.index) / "catalog.sqlite").exists():
        with opened_index(settings) as index:
            if index.embedder_name:
                return index.embedder_name
    return None


def choose_embedder(
    settings: Settings, texts: Sequence[str], loaded: LazyEmbedder | None = None
) -> tuple[LazyEmbedder, str]:
    """The embedder for a new index, from the script of its first documents (one text each), and
    the line that says so."""
    key, why = embedder_choice(texts, settings.embedder)
    embedder = loaded if loaded is not None and loaded.key == EMBEDDER_NAMES.get(key, key) else None
    embedder = embedder or LazyEmbedder(key, settings.effective_threads(), settings.cache_path)
    if not why:
        return embedder, ""
    return embedder, (
        f"{why}, so index '{settings.index}' is built "
        f"with the multilingual embedder (to choose: --embedder minilm-int8|multilingual with --rebuild)"
    )


def run_ingest(
    settings: Settings,
    paths: Sequence[str],
    *,
    password: str | None = None,
    rebuild: bool = False,
    progress=None,
    on_skip: Callable[[str, str], None] | None = None,
    embedder: LazyEmbedder | None = None,
) -> SyncReport:
    """Sync the index with ``paths``; pass ``embedder`` to reuse one already loaded (``--watch``)."""
    from ingest.walk import resolve_roots

    resolve_roots(paths)  # fail on a missing path before touching the index
    directory = index_folder(settings.index_path, settings.index)
    store = store_config(settings)
    if rebuild:
        store.drop(settings.index)  # the server's collection too, not only the folder
        if directory.exists():
            shutil.rmtree(directory)
    remote = remote_embedder(settings)
    embedder_key = None if remote else embedder_for(settings)
    if embedder_key and embedder_key.startswith(REMOTE_PREFIX):
        raise needs_endpoint(settings.index, embedder_key)
    decide = remote is None and embedder_key is None  # a new index: its first documents choose the embedder
    embedder_key = embedder_key or settings.embedder
    if remote is not None:
        embedder = remote
    elif embedder is None or embedder.key != EMBEDDER_NAMES.get(embedder_key, embedder_key):
        embedder = LazyEmbedder(embedder_key, settings.effective_threads(), settings.cache_path)
    index = Index.create(
        settings.index_path,
        settings.index,
        embedder_name=None if decide else embedder.name,
        dimension=embedder.dimension,
        store=store,
    )
    try:
        index.check_embedder(embedder.name, embedder.dimension, action="extended")
        options = sync_options(settings, embedder.max_tokens, password)
        if decide:
            options.choose_embedder = lambda texts: choose_embedder(settings, texts, embedder)
        shown = (lambda path, reason: on_skip(path, phrase_skip(reason))) if on_skip else None
        with index.writer():
            report = sync(paths, index, embedder, options, progress=progress, on_skip=shown)
        report.skipped = [{**row, "reason": phrase_skip(row["reason"])} for row in report.skipped]
        return report
    finally:
        index.close()


def sync_options(settings: Settings, embedder_max_tokens: int, password: str | None = None) -> SyncOptions:
    """Pure: the ingest options ``settings`` give, for an embedder that reads ``embedder_max_tokens``."""
    return SyncOptions(
        password=password,
        ocr=OcrConfig(languages=settings.ocr_languages) if settings.ocr else None,
        max_file_bytes=settings.max_file_mb * 1024 * 1024,
        chunk_tokens=min(settings.chunk_tokens, embedder_max_tokens - 8),
        parse_limits=ParseLimits(memory_mb=settings.parse_memory_mb, seconds=settings.parse_timeout_s),
    )


def folder_state(settings: Settings, paths: Sequence[str]) -> frozenset:
    """What the files under ``paths`` look like to a sync: (path, size, mtime) of each, by stat only."""
    from ingest.walk import discover, resolve_roots

    walked = discover(resolve_roots(paths), max_file_bytes=settings.max_file_mb * 1024 * 1024)
    return frozenset((f.path, f.size, f.mtime_ns) for f in walked.files) | frozenset(walked.skipped)


def watch(
    settings: Settings,
    paths: Sequence[str],
    *,
    interval: float,
    on_report: Callable[[SyncReport], None],
    stop: Callable[[], bool] = lambda: False,
    **ingest_options,
) -> None:
    """Sync now, then again whenever a file under ``paths`` appears, changes or goes.

    Polls with stat every ``interval`` seconds (no inotify: it works the same on network
    shares and removable drives); the writer lock is held only while a sync runs, and the
    embedder stays loaded between syncs.
    """
    import time

    embedder = None
    seen = None
    while not stop():
        state = folder_state(settings, paths)
        if state != seen:
            key = None if settings.embedder_url else embedder_for(settings) or settings.embedder
            if embedder is None and key and not key.startswith(REMOTE_PREFIX):  # run_ingest makes a remote one
                embedder = LazyEmbedder(key, settings.effective_threads(), settings.cache_path)
            on_report(run_ingest(settings, paths, embedder=embedder, **ingest_options))
            seen = folder_state(settings, paths)
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop():
            time.sleep(min(0.2, interval))


NON_ENGLISH_NOTE = 0.3


def language_note(settings: Settings, report: SyncReport, paths: Sequence[str]) -> str | None:
    """One line when much of the new text is not English but the index's embedder is English-only."""
    from ingest.embedder import EMBEDDER_NAMES, EMBEDDERS

    embedder = EMBEDDERS.get(EMBEDDER_NAMES.get(report.embedder, ""))
    if embedder is None or embedder.multilingual or report.non_latin_share < NON_ENGLISH_NOTE:
        return None
    return (
        f"note: {report.non_latin_share:.0%} of the new text is not in Latin script, but index '{settings.index}' "
        f"uses {embedder.name}, which reads English only. For better results rebuild it: "
        f"rag ingest {' '.join(paths)} --index {settings.index} --embedder multilingual --rebuild"
    )


def index_names(index_dir: Path) -> list[str]:
    """The indexes in ``index_dir`` (folders with a catalog), sorted."""
    root = Path(index_dir).expanduser()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "catalog.sqlite").is_file())


def open_index(settings: Settings) -> Index:
    return Index.open(settings.index_path, settings.index, store=store_config(settings))


@contextmanager
def opened_index(settings: Settings) -> Iterator[Index]:
    index = open_index(settings)
    try:
        yield index
    finally:
        index.close()


def needs_endpoint(index: str, embedder: str) -> IngestError:
    """An index embedded at an endpoint, opened without that endpoint configured."""
    return IngestError(
        f"index '{index}' was embedded by {embedder} at an embedding endpoint; set embedder_url to that "
        f'endpoint and embedder_model = "{embedder[len(REMOTE_PREFIX) :]}" to use it',
        index=index,
    )


def fusion_of(settings: Settings) -> Fusion:
    """The hybrid search mix the settings ask for (``dense_weight``, 0..1)."""
    weight = settings.dense_weight
    if not 0.0 <= weight <= 1.0:
        where = settings.origins.get("dense_weight", "default")
        raise RagError(
            f"dense_weight must be between 0 and 1, not {weight} (from {where}; 1 = embedding search alone, "
            "0 = BM25 alone): fix it there"
        )
    return Fusion(dense_weight=weight, lexical_weight=1.0 - weight)


def open_retriever(settings: Settings, index: Index) -> Retriever:
    """The retriever over ``index``, with the embedder that built it (never another one)."""
    name = index.embedder_name or settings.embedder
    fusion = fusion_of(settings)
    if name.startswith(REMOTE_PREFIX):
        remote = remote_embedder(settings)
        if remote is None or remote.name != name:
            raise needs_endpoint(index.name, name)
        return Retriever(index, remote, fusion)
    return Retriever(index, LazyEmbedder(name, settings.effective_threads(), settings.cache_path), fusion)


def load_generator(settings: Settings, model: str | None = None):
    """The chat model ``model`` (default: the setting, which must then name one model), started
    in its own process (rag.worker), which loads the weights and the system prompt's evaluated
    state while this one goes on."""
    from rag.models import resolve_model
    from rag.prompt import SYSTEM_PROMPT, USER_PREFIX

    if settings.model_url:  # answers from a server; the bundled model's vocabulary counts tokens
        from rag.models import AUTO_STRONG
        from rag.openai_generator import OpenAIGenerator

        return OpenAIGenerator(
            settings.model_url,
            model or settings.model,
            vocabulary=resolve_model(AUTO_STRONG, settings.cache_path),
            api_key=os.environ.get("RAG_API_KEY"),
        )
    from rag.worker import ModelWorker

    path = resolve_model(model or settings.model, settings.cache_path)
    generator = ModelWorker(
        path,
        threads=settings.effective_threads(),
        context_tokens=settings.context_tokens,
        state_dir=settings.cache_path / "state",
        n_gpu_layers=settings.n_gpu_layers,
    )
    generator.prime(SYSTEM_PROMPT, USER_PREFIX)
    return generator


def build_engine(settings: Settings, index: Index, *, models: dict | None = None) -> Engine:
    """The engine over ``index``; ``models`` (name -> loaded generator) lets several engines,
    one per index, share the models they load."""
    from rag.models import model_roles

    retriever = open_retriever(settings, index)
    fast, strong = (settings.model, settings.model) if settings.model_url else model_roles(settings.model)
    loaded: dict[str, object] = {} if models is None else models

    def load(name: str):
        if name not in loaded:  # one instance when both roles name the same model
            loaded[name] = load_generator(settings, name)
        return loaded[name]

    return Engine(
        retriever,
        lambda: load(fast),
        strong_generator=lambda: load(strong),
        top_k=settings.top_k,
        min_relevance=settings.min_relevance if settings.min_relevance >= 0 else None,  # -1: the embedder's floor
        max_answer_tokens=settings.max_answer_tokens,
        context_budget=settings.context_budget,
        context_tokens=settings.context_tokens,
        min_answerable=settings.min_answerable,
        # a local model loads in its own process (rag.worker): start it as the question arrives
        start_model_early=not settings.model_url,
        **verifiers(settings),
    )


def verifiers(settings: Settings) -> dict:
    """The engine's sentence checks: the calibrated ones, or with ``min_verified`` where it is set."""
    if settings.origins.get("min_verified", "default") == "default":
        return {"verifier": DEFAULT_VERIFIER, "hebrew_verifier": HEBREW_VERIFIER}
    return {
        "verifier": dataclasses.replace(DEFAULT_VERIFIER, sentence_threshold=settings.min_verified),
        "hebrew_verifier": dataclasses.replace(HEBREW_VERIFIER, sentence_threshold=settings.min_verified),
    }


def display_path(path: str) -> str:
    """A path as a person would type it: relative to the working folder when inside it."""
    try:
        path = str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        pass
    return readable(path)


def index_status(index: Index) -> dict:
    import datetime

    files = index.catalog.files()
    last = index.catalog.get_meta("last_sync")
    return {
        "index": index.name,
        "directory": str(index.directory),
        "embedder": index.embedder_name,
        "dimension": index.dimension,
        "files": len(files),
        "chunks": index.catalog.chunk_count(),
        "pending_vectors": index.catalog.pending_count(),
        "vector_store": index.store_config.url,
        "last_sync": datetime.datetime.fromtimestamp(float(last)).isoformat(timespec="seconds") if last else None,
        "skipped": [
            {"path": readable(p), "reason": phrase_skip(r)} for p, (_, _, r) in sorted(index.catalog.skipped().items())
        ],
        "partial": [{"path": readable(p), "lost": lost} for p, lost in index.catalog.partial_files().items()],
        "reading": index.catalog.reading_totals(),
    }


def hit_rows(hits) -> list[dict]:
    """Search hits as `rag search --json` and the server show them."""
    return [
        {
            "rank": r,
            "score": round(h.score, 6),
            "source": readable(h.source),
            "file": file_id(h.source),
            "page": h.page,
            "heading": h.heading,
            "chunk": h.ordinal,
            "text": h.text,
            "ocr": h.origin == "ocr",
        }
        for r, h in enumerate(hits, 1)
    ]


def source_list(index: Index) -> list[dict]:
    """The indexed files, as `rag sources --json` and the server show them."""
    files = sorted(index.catalog.files().values(), key=lambda f: f.path)
    return [
        {"path": readable(f.path), "file": file_id(f.path), "chunks": f.chunks, "size": f.size, "sha256": f.sha256}
        for f in files
    ]


def document_list(index: Index) -> dict:
    """The index's files as the page's documents panel shows them: pages and how each was read
    (text layer, pypdf, OCR), chunks, pages lost and why; and the files skipped with their reason."""
    records = index.catalog.files()
    readings = index.catalog.readings()
    files = []
    for path in sorted(records, key=lambda p: readable(p).lower()):
        indexed_at, reading = readings.get(path, (0.0, {}))
        pages = reading.get("pages", {})
        files.append(
            {
                "path": readable(path),
                "file": file_id(path),
                "name": readable(os.path.basename(path)),
                "chunks": records[path].chunks,
                "size": records[path].size,
                "pages": sum(pages.values()) or None,
                "read_by": pages,
                "lost": reading.get("lost", []),
                "indexed_at": indexed_at,
            }
        )
    skipped = [
        {"path": readable(p), "reason": phrase_skip(r)} for p, (_, _, r) in sorted(index.catalog.skipped().items())
    ]
    return {"index": index.name, "files": files, "skipped": skipped, "pending_vectors": index.catalog.pending_count()}


def resolve_files(index: Index, wanted: Sequence[str]) -> list[str]:
    """The indexed paths that ``wanted`` names: each a file id (as /files/{id} and --json give
    it), a path, or a file's name; IngestError for a name that matches no indexed file."""
    paths = list(index.catalog.files())
    found = []
    for want in wanted:
        want = str(want).strip()
        matches = [p for p in paths if want in (file_id(p), p, readable(p), os.path.basename(readable(p)))]
        if not matches:
            raise IngestError(f"no file '{want}' in index '{index.name}'. See: rag sources --index {index.name}")
        found += [m for m in matches if m not in found]
    return found


def allowed_folder(settings: Settings, path: str) -> Path:
    """``path`` resolved, if it is one of the ``serve_folders`` or inside one; IngestError if not."""
    from ingest.walk import inside

    roots = settings.serve_folder_paths
    if not roots:
        raise IngestError(
            "this server adds no folders: set serve_folders in rag.toml (or RAG_SERVE_FOLDERS) to the folders "
            "the page may add, then restart rag serve"
        )
    target = Path(os.path.realpath(os.path.expanduser(path)))
    if not any(inside(str(target), [str(root)]) for root in roots):
        raise IngestError(f"{path} is not inside a folder this server may add ({', '.join(map(str, roots))})")
    if not target.exists():
        raise IngestError(f"{path} does not exist")
    return target


def forget(settings: Settings, path: str) -> list[str]:
    """Remove a file, or every file under a folder, from the index. Returns the paths removed."""
    import os

    from ingest.walk import inside

    target = os.path.realpath(path)
    with opened_index(settings) as index, index.writer():
        doomed = [p for p in index.catalog.files() if inside(p, [target])]
        for p in doomed:
            index.remove_file(p)
        index.catalog.forget_skips(p for p in index.catalog.skipped() if inside(p, [target]))
    return doomed

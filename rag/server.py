"""`rag serve`: the web page, an OpenAI-compatible API and an MCP endpoint over the same engine.

One process holds one loaded model, shared by every index (each index is a "model" to the
API). The model is one llama.cpp context, so answers take turns: each waits in ``AnswerQueue``
and is told its place; searches, status and documents never wait for an answer. The engine
is the CLI's own (``rag.api.build_engine``); this module only translates HTTP to its calls.

Routes:
    GET  /                         the page (rag/web/, served as it is; nothing from outside)
    GET  /api/indexes              the indexes with their files and chunks
    GET  /api/search?q=&index=&k=, POST /api/search {query, k, index}   passages, no model
    GET  /api/status?index=, /api/sources?index=   as `rag status --json` and `rag sources --json`
    POST /api/ask                  {question, index, history?} -> Server-Sent Events: queue, rewrite,
                                   evidence, text, done (the answer as `rag ask --json` has it), error
    POST /api/ingest?index=        files (multipart "files"; /api/upload is the same) -> saved to
                                   <index-dir>/.uploads/<index>/ and ingested: SSE saved, progress, skipped,
                                   done (the ingest summary), error
    GET  /files/{id}?index=        an indexed file by its id (the "file" of every hit and source; never
                                   a path from the request): PDF and images as they are, other formats
                                   as their indexed text
    GET  /v1/models, POST /v1/chat/completions   OpenAI-compatible (stream or not; "rag": {"sources":
                                   false} in the body leaves the sources out)
Errors are {"error": {"message", "type"}} with the status code. No CORS headers: only pages
this server serves may call it from a browser.
    /mcp                           MCP tools search, ask and list_sources (streamable HTTP; `rag mcp`: stdio)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rag.settings import Settings

WEB = Path(__file__).resolve().parent / "web"
MAX_K = 50


class AnswerQueue:
    """Answers in order of arrival, one at a time; each waiting request hears its place."""

    def __init__(self) -> None:
        self._tickets: list[object] = []
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def turn(self, on_place: Callable[[int], None] = lambda place: None) -> AsyncIterator[None]:
        ticket = object()
        async with self._changed:
            self._tickets.append(ticket)
            while self._tickets[0] is not ticket:
                on_place(self._tickets.index(ticket))
                await self._changed.wait()
        try:
            yield
        finally:
            async with self._changed:
                self._tickets.remove(ticket)
                self._changed.notify_all()

    @property
    def waiting(self) -> int:
        return len(self._tickets)


ANSWER_NICENESS = 10
"""How much lower than the server's other threads (searches, status, files) answers run."""


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread, and the threads it
    starts inherit it). Where that is not possible, nothing changes."""
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + ANSWER_NICENESS)
    except (AttributeError, OSError):
        pass


class SearchGate:
    """Searches in flight, so that a streaming answer pauses between its tokens while one runs:
    a search costs milliseconds, a token's pause is not seen, and the search does not share the
    CPU and memory bandwidth with the model."""

    PAUSE_S = 0.25
    """Longest pause of the answer at one token, however many searches follow one another."""

    def __init__(self) -> None:
        self._running = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self):
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def let_searches_pass(self) -> None:
        """Called by the answering thread between tokens: wait while searches run (bounded)."""
        deadline = time.monotonic() + self.PAUSE_S
        while self._running and time.monotonic() < deadline:
            time.sleep(0.002)


class Service:
    """What the server holds: settings, one engine per index sharing the loaded models, the queue.

    An index is reopened when its catalog's last sync changes, so an `rag ingest` into it while
    serving is seen by the next request.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.models: dict[str, object] = {}
        self._engines: dict[str, tuple[str | None, object, object]] = {}
        self._open = threading.Lock()
        self.queue = AnswerQueue()
        self.searches = SearchGate()
        self.answering = ThreadPoolExecutor(1, thread_name_prefix="rag-answer", initializer=_lower_priority)
        """The one thread the model answers in; the threads llama.cpp starts from it inherit its
        lower CPU priority, so that searches keep their speed while an answer streams."""

    def index_names(self) -> list[str]:
        root = self.settings.index_path
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if self._has_catalog(p.name))

    def _has_catalog(self, name: str) -> bool:
        return (self.settings.index_path / name / "catalog.sqlite").is_file()

    def check_index(self, name: str | None) -> str:
        """``name`` (default: the served index) if it is an index here; IndexNotFound if not.
        One stat, not a listing: every request asks this on the event loop."""
        name = name or self.settings.index
        if name in ("", ".", "..") or name != Path(name).name or not self._has_catalog(name):
            from ingest.index import IndexNotFound

            raise IndexNotFound(self.settings.index_path, name)
        return name

    def engine(self, name: str):
        """The engine over index ``name``, reopened if an ingest changed the index since."""
        from rag.api import build_engine, open_index

        with self._open:
            cached = self._engines.get(name)
            if cached is not None:
                last_sync, index, engine = cached
                if index.catalog.get_meta("last_sync") == last_sync:
                    return engine
                index.close()
            settings = _with_index(self.settings, name)
            index = open_index(settings)
            engine = build_engine(settings, index, models=self.models)
            self._engines[name] = (index.catalog.get_meta("last_sync"), index, engine)
            return engine

    def close(self) -> None:
        self.answering.shutdown(wait=False, cancel_futures=True)
        with self._open:
            for _, index, _ in self._engines.values():
                index.close()
            self._engines.clear()


def _with_index(settings: Settings, name: str) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, index=name, origins=dict(settings.origins))


def create_app(settings: Settings, *, token: str | None = None):
    """The ASGI app. With ``token``, every route but the page's own files needs
    ``Authorization: Bearer TOKEN`` (or ``?token=`` for links the browser opens)."""
    import logging

    from sse_starlette.sse import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from ingest.errors import IngestError
    from ingest.paths import file_id, file_name, readable
    from rag.api import hit_rows
    from rag.errors import RagError, explain

    logging.getLogger("mcp").setLevel(logging.WARNING)  # its session manager logs every start at INFO
    service = Service(settings)
    mcp = build_mcp(service)
    # As many searches at once as the CPU has cores: more only take turns on the cores and each
    # waits longer (8 clients on 2 cores, bench/serve.py: p95 75 ms unlimited)
    searching = asyncio.Semaphore(settings.effective_threads())
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error")}}, status_code=status
        )

    async def in_thread(function, *args):
        import anyio

        return await anyio.to_thread.run_sync(function, *args)

    async def thread_events(work, executor=None) -> AsyncIterator[tuple[str, object]]:
        """Run ``work(put)`` in a thread (of ``executor`` if given); yield each (event, data) it
        puts, then ("done", its result)."""
        loop = asyncio.get_running_loop()
        pending: asyncio.Queue = asyncio.Queue()
        put = lambda kind, data: loop.call_soon_threadsafe(pending.put_nowait, (kind, data))  # noqa: E731
        job = asyncio.ensure_future(loop.run_in_executor(executor, work, put) if executor else in_thread(work, put))
        while not (job.done() and pending.empty()):
            getter = asyncio.ensure_future(pending.get())
            done, _ = await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
            else:
                getter.cancel()
        yield "done", job.result()

    async def indexes(request: Request) -> Response:
        def describe() -> list[dict]:
            out = []
            for name in service.index_names():
                index = service.engine(name).retriever.index
                out.append(
                    {
                        "name": name,
                        "files": len(index.catalog.files()),
                        "chunks": index.catalog.chunk_count(),
                        "embedder": index.embedder_name,
                    }
                )
            return out

        return JSONResponse({"indexes": await in_thread(describe), "default": settings.index})

    async def search(request: Request) -> Response:
        """GET ?q=&k=&index=, or POST {"query", "k", "index"}."""
        params = dict(request.query_params)
        if request.method == "POST":
            try:
                body = await request.json()
                params = {
                    "q": str(body.get("query", body.get("q", ""))),
                    "k": body.get("k", settings.top_k),
                    "index": body.get("index"),
                }
            except (ValueError, AttributeError):
                return error(400, 'send JSON: {"query": "...", "k": 5, "index": "name"}')
        query = (params.get("q") or "").strip()
        if not query:
            return error(400, "missing q: the words to search for")
        try:
            k = max(1, min(MAX_K, int(params.get("k") or settings.top_k)))
            name = service.check_index(params.get("index"))
        except ValueError:
            return error(400, "k must be a whole number")
        except IngestError as exc:
            return error(404, explain(exc))
        async with searching:
            with service.searches.running():
                found = await in_thread(lambda: service.engine(name).retriever.retrieve(query, k))
        return JSONResponse({"index": name, "hits": hit_rows(found.hits), "pending_vectors": found.pending})

    def run_answer(name: str, question: str, history: list, events: Callable[[str, object], None]):
        """Blocking: rewrite a follow-up, then answer; every step is told to ``events``."""
        from rag.conversation import standalone_question

        engine = service.engine(name)
        standalone = standalone_question(engine, history, question)
        if standalone != question:
            events("rewrite", {"question": standalone})

        def text(piece: str) -> None:
            events("text", {"text": piece})
            service.searches.let_searches_pass()

        return engine.ask(
            standalone,
            on_text=text,
            on_evidence=lambda evidence: events("evidence", evidence.as_dict()),
        )

    async def answer_events(name: str, question: str, history: list) -> AsyncIterator[tuple[str, object]]:
        """(event, data) for one answer, from the queue to the finished answer."""
        places: list[int] = []
        # opened here, not in the answer thread: threads that Chroma starts would inherit its lower priority
        await in_thread(service.engine, name)
        async with service.queue.turn(lambda place: places.append(place)):
            for place in places:
                yield "queue", {"position": place}
            async for kind, data in thread_events(
                lambda put: run_answer(name, question, history, put), service.answering
            ):
                yield (kind, data.as_dict()) if kind == "done" else (kind, data)

    async def upload(request: Request) -> Response:
        try:
            name = service.check_index(request.query_params.get("index"))
        except IngestError as exc:
            return error(404, explain(exc))
        limit = settings.max_file_mb * 1024 * 1024
        try:
            form = await request.form(max_files=1000, max_fields=10, max_part_size=limit)
        except Exception as exc:  # the multipart parser's errors: too large, too many, malformed
            too_large = "maximum size" in str(exc).lower()
            return error(
                413 if too_large else 400,
                f"the upload could not be read ({exc}); each file may be at most "
                f"{settings.max_file_mb} MB (the max_file_mb setting)",
            )
        folder = upload_folder(settings, name)
        try:
            saved = await in_thread(save_uploads, folder, form.getlist("files"), limit)
        except UploadTooLarge as exc:
            return error(
                413,
                f"{exc} is larger than {settings.max_file_mb} MB, the most one file may be (the max_file_mb setting)",
            )
        if not saved:
            return error(400, 'send the documents as multipart form fields named "files"')

        def ingest(put):
            from rag.api import run_ingest

            return run_ingest(
                _with_index(settings, name),
                [str(folder)],
                progress=lambda stage, done, total: put("progress", {"stage": stage, "done": done, "total": total}),
                on_skip=lambda path, reason: put("skipped", {"path": readable(path), "reason": reason}),
            )

        async def stream():
            yield {"event": "saved", "data": json.dumps({"files": [p.name for p in saved]}, ensure_ascii=False)}
            try:
                async for kind, data in thread_events(ingest):
                    yield {
                        "event": kind,
                        "data": json.dumps(data.as_dict() if kind == "done" else data, ensure_ascii=False),
                    }
            except (IngestError, RagError) as exc:
                yield {"event": "error", "data": json.dumps({"message": explain(exc)})}

        return EventSourceResponse(stream())

    async def ask(request: Request) -> Response:
        try:
            body = await request.json()
            question = str(body["question"]).strip()
            history = [(str(q), str(a)) for q, a in body.get("history", [])]
        except (ValueError, KeyError, TypeError):
            return error(400, 'send JSON: {"question": "...", "index": "name", "history": [["q", "a"], ...]}')
        if not question:
            return error(400, "the question is empty")
        try:
            name = service.check_index(body.get("index"))
        except IngestError as exc:
            return error(404, explain(exc))

        async def stream():
            try:
                async for kind, data in answer_events(name, question, history):
                    yield {"event": kind, "data": json.dumps(data, ensure_ascii=False)}
            except (IngestError, RagError) as exc:
                yield {"event": "error", "data": json.dumps({"message": explain(exc)})}

        return EventSourceResponse(stream())

    async def document(request: Request) -> Response:
        """GET /files/{id}: an indexed file, found by its id among the index's files (never by a
        path from the request). A PDF or image is sent as it is (the browser's viewer opens a PDF
        at #page=N); other formats as a page of the text that was indexed, with the passage that
        starts at chunk ``?chunk=N`` marked (``#passage`` scrolls to it)."""
        try:
            name = service.check_index(request.query_params.get("index"))
        except IngestError as exc:
            return error(404, explain(exc))
        wanted = request.path_params["id"]
        files = await in_thread(lambda: service.engine(name).retriever.index.catalog.files())
        path = next((p for p in files if file_id(p) == wanted), None)
        if path is None or not _still_the_indexed_file(path):
            return error(404, f"no file {wanted} in index '{name}'")
        kind = _media_type(path)
        if kind:
            return FileResponse(path, media_type=kind, content_disposition_type="inline")
        chunks = await in_thread(lambda: service.engine(name).retriever.index.catalog.chunks_of(path))
        marked = request.query_params.get("chunk", "")
        page = document_page(file_name(path), chunks, int(marked) if marked.isdigit() else None)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCUMENT_POLICY})

    async def status(request: Request) -> Response:
        from rag.api import index_status, source_list

        try:
            name = service.check_index(request.query_params.get("index"))
        except IngestError as exc:
            return error(404, explain(exc))
        index = service.engine(name).retriever.index
        if request.url.path.endswith("/sources"):
            return JSONResponse(await in_thread(source_list, index))
        return JSONResponse(await in_thread(index_status, index))

    async def models(request: Request) -> Response:
        created = int(time.time())
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": created, "owned_by": "rag"}
                    for name in service.index_names()
                ],
            }
        )

    async def chat_completions(request: Request) -> Response:
        try:
            body = await request.json()
            messages = [m for m in body["messages"] if m.get("role") in ("user", "assistant")]
            question = _content(messages[-1])
            if messages[-1]["role"] != "user" or not question.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError, IndexError):
            return error(400, "messages must end with a user message that holds the question")
        history = _history(messages[:-1])
        try:
            name = service.check_index(body.get("model") if body.get("model") in service.index_names() else None)
        except IngestError as exc:
            return error(404, explain(exc))
        options = body.get("rag") if isinstance(body.get("rag"), dict) else {}
        with_sources = options.get("sources", True) is not False  # "rag": {"sources": false} turns them off
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        created = int(time.time())

        def chunk(delta: dict, finish: str | None = None, extra: dict | None = None) -> str:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return json.dumps({**data, **(extra or {})}, ensure_ascii=False)

        if body.get("stream"):

            async def stream():
                try:
                    yield {"data": chunk({"role": "assistant", "content": ""})}
                    async for kind, data in answer_events(name, question.strip(), history):
                        if kind == "text":
                            yield {"data": chunk({"content": data["text"]})}
                        elif kind == "done":
                            tail = sources_text_from(data) if with_sources else ""
                            if tail:
                                yield {"data": chunk({"content": tail})}
                            final = json.loads(chunk({}, "stop", {"rag": data}))
                            final["choices"][0]["delta"].update(cited_sources(data, with_sources))
                            yield {"data": json.dumps(final, ensure_ascii=False)}
                except (IngestError, RagError) as exc:
                    yield {"data": json.dumps({"error": {"message": explain(exc)}})}
                yield {"data": "[DONE]"}

            return EventSourceResponse(stream(), sep="\n")

        answer = None
        try:
            async for kind, data in answer_events(name, question.strip(), history):
                if kind == "done":
                    answer = data
        except (IngestError, RagError) as exc:
            return error(500, explain(exc))
        content = answer["answer"] + (sources_text_from(answer) if with_sources else "")
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, **cited_sources(answer, with_sources)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": answer["timings"].get("prompt_tokens") or 0,
                    "completion_tokens": 0,
                    "total_tokens": answer["timings"].get("prompt_tokens") or 0,
                },
                "rag": answer,
            }
        )

    class TokenCheck:
        """Every HTTP request but the page's own files needs the token. Plain ASGI, not Starlette's
        BaseHTTPMiddleware, which wraps each response in a stream and an extra task: a fifth of
        the event loop's time per search under load (bench/serve.py, profiled)."""

        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and not _is_page_file(scope["path"]):
                request = Request(scope)
                given = request.headers.get("authorization", "").removeprefix(
                    "Bearer "
                ).strip() or request.query_params.get("token", "")
                if not secrets.compare_digest(given, token):
                    response = error(
                        401, "this server needs its token: send 'Authorization: Bearer TOKEN' (rag serve printed it)"
                    )
                    await response(scope, receive, send)
                    return
            await self.app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with mcp.session_manager.run():
            try:
                yield
            finally:
                service.close()

    routes = [
        Route("/", lambda request: FileResponse(WEB / "index.html")),
        Mount("/static", app=StaticFiles(directory=WEB)),
        Route("/api/indexes", indexes),
        Route("/api/search", search, methods=["GET", "POST"]),
        Route("/api/ask", ask, methods=["POST"]),
        Route("/files/{id}", document),
        Route("/api/status", status),
        Route("/api/sources", status),
        Route("/api/ingest", upload, methods=["POST"]),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/v1/models", models),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Mount("/", app=mcp_app),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(TokenCheck)] if token else [], lifespan=lifespan)
    app.state.service = service
    return app


TOKEN_FILE = ".serve-token"


def stored_token(index_dir: Path) -> tuple[str, Path]:
    """The token a server on a network address requires: the one kept in ``index_dir`` (mode
    600, so only this user reads it) when there is one, else a new random one, kept there."""
    import os
    import secrets

    path = Path(index_dir) / TOKEN_FILE
    try:
        if path.stat().st_mode & 0o077 == 0:
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token, path
    except OSError:
        pass
    token = secrets.token_urlsafe(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a copy others could read is replaced, not reused
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token, path


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "request_too_large",
}


def cited_sources(answer: dict, with_sources: bool = True) -> dict:
    """What rides on the final OpenAI message or chunk: the cited sources, each with a link to
    the document (``/files/{id}``, at its page), and whether rag abstained."""
    if not with_sources:
        return {"abstained": bool(answer.get("abstained"))}
    sources = [
        {
            **{k: s[k] for k in ("n", "source", "page", "heading", "text")},
            "ocr": bool(s.get("ocr")),
            "url": document_url(s),
        }
        for s in answer.get("sources", [])
        if s.get("cited")
    ]
    return {"sources": [] if answer.get("abstained") else sources, "abstained": bool(answer.get("abstained"))}


def document_url(source: dict) -> str:
    """Where a source opens: a PDF at its page, any other document as its text, the passage marked."""
    if source["source"].lower().endswith(".pdf"):
        return f"/files/{source['file']}" + (f"#page={source['page']}" if source.get("page") else "")
    return f"/files/{source['file']}?chunk={source.get('chunk', 0)}#passage"


DOCUMENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
"""A document's text page runs nothing and loads nothing: its words are the user's files, not ours."""


def document_page(name: str, chunks, marked: int | None) -> str:
    """Pure: a document's indexed text as one HTML page, each section under its page and heading,
    the chunk numbered ``marked`` inside <mark id="passage">. Chunks overlap by a sentence or
    two; each character is shown once."""
    import html

    marked_chunk = next((c for c in chunks if c.ordinal == marked), None)
    lo, hi = (marked_chunk.start, marked_chunk.end) if marked_chunk else (-1, -1)
    out: list[str] = []
    cursor, place = 0, None
    for chunk in sorted(chunks, key=lambda c: c.start):
        if chunk.end <= cursor:
            continue
        where = (chunk.page, chunk.headings)
        if where != place:
            if place is not None:
                out.append("</p>")
            title = " > ".join(chunk.headings)
            label = ", ".join(filter(None, [f"p. {chunk.page}" if chunk.page is not None else "", title]))
            out.append(f'<h2 dir="auto">{html.escape(label)}</h2>' if label else "")
            out.append('<p dir="auto">')
            place = where
        elif chunk.start > cursor:
            out.append(" ")
        begin = max(chunk.start, cursor)
        for start, end, inside in (
            (begin, lo, False),
            (max(begin, lo), min(chunk.end, hi), True),
            (max(begin, hi), chunk.end, False),
        ):
            if end <= start:
                continue
            text = html.escape(chunk.text[start - chunk.start : end - chunk.start])
            out.append(f"<mark>{text}</mark>" if inside else text)
        cursor = chunk.end
    if place is not None:
        out.append("</p>")
    style = (
        "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem}"
        "p{white-space:pre-wrap;unicode-bidi:plaintext}h2{font-size:.9rem;color:#555;margin:1.5rem 0 .3rem}"
        "mark{background:#ffe58a;scroll-margin-top:30vh}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(name)}</title><style>{style}</style></head><body><h1 dir='auto'>{html.escape(name)}</h1>"
        # the marked chunk's parts are contiguous (its overlap with the chunk before, then the rest): one mark
        + "".join(out).replace("</mark><mark>", "").replace("<mark>", '<mark id="passage">', 1)
        + "</body></html>"
    )


def sources_text_from(answer: dict) -> str:
    """The cited sources as lines under an answer (``Answer.as_dict()``), for clients that show only text."""
    cited = [s for s in answer.get("sources", []) if s.get("cited")]
    lines = [
        f"[{s['n']}] {s['source']}"
        + (f", p. {s['page']}" if s.get("page") is not None else "")
        + (f" — {s['heading']}" if s.get("heading") else "")
        + (" (OCR)" if s.get("ocr") else "")
        for s in cited
    ]
    return "\n\nSources:\n" + "\n".join(lines) if lines and not answer.get("abstained") else ""


def upload_folder(settings: Settings, name: str) -> Path:
    """Where the page's uploads into index ``name`` are kept: beside the indexes, not inside one,
    so that `rag ingest --rebuild` never deletes them."""
    return settings.index_path / ".uploads" / name


def safe_upload_name(name: str) -> str:
    """A file name from a browser, made safe to write: no folders, no control characters, not hidden."""
    import re

    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".~$") or "upload"
    return base[:200]


class UploadTooLarge(Exception):
    """An uploaded file over the size limit (its name is the message)."""


def save_uploads(folder: Path, uploads, limit: int) -> list[Path]:
    """Write uploaded files into ``folder``. A name already there is replaced: uploading a newer
    version of a document re-indexes it (the ingest sees a changed file). Written to a temporary
    name first, so a half-received file is never indexed; one over ``limit`` bytes is not kept
    and ends the upload (``UploadTooLarge``), the files saved before it stay."""
    from ingest.files import replaced_atomically

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for upload in uploads:
        if not hasattr(upload, "filename"):
            continue
        target = folder / safe_upload_name(upload.filename)
        written = 0
        with replaced_atomically(target) as partial, open(partial, "wb") as out:
            while piece := upload.file.read(1 << 20):
                written += len(piece)
                if written > limit:
                    raise UploadTooLarge(target.name)
                out.write(piece)
        saved.append(target)
    return saved


def _content(message: dict) -> str:
    """A message's text (OpenAI allows a list of parts)."""
    content = message.get("content") or ""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _history(messages: list[dict]) -> list[tuple[str, str]]:
    """(question, answer) pairs from alternating user/assistant messages."""
    pairs, question = [], None
    for message in messages:
        if message["role"] == "user":
            question = _content(message)
        elif question is not None:
            pairs.append((question, _content(message)))
            question = None
    return pairs


def _still_the_indexed_file(path: str) -> bool:
    """Is ``path`` still a plain file where it was indexed? A link put in its place since (to
    /etc/passwd, say) is not served."""
    import os

    return os.path.isfile(path) and not os.path.islink(path) and os.path.realpath(path) == os.path.abspath(path)


_MEDIA = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
}


def _media_type(path: str) -> str | None:
    """The type a browser shows as it is, for the files sent unchanged."""
    import os

    return _MEDIA.get(os.path.splitext(path)[1].lower())


def _is_page_file(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def build_mcp(service: Service):
    """MCP tools over the same engine: search (passages), ask (a cited answer), list_sources."""
    from mcp.server.mcpserver import MCPServer

    from ingest.errors import IngestError
    from rag.api import hit_rows
    from rag.errors import RagError, explain

    def index_named(index: str) -> str:
        try:
            return service.check_index(index or None)
        except IngestError as exc:
            raise RagError(explain(exc)) from None

    mcp = MCPServer(
        "rag",
        instructions="Search and ask the user's own indexed documents, offline. Answers cite file, page and section.",
    )

    @mcp.tool()
    def search(query: str, index: str = "", k: int = 5) -> list[dict]:
        """Passages of the indexed documents that best match ``query`` (no language model)."""
        name = index_named(index)
        with service.searches.running():
            return hit_rows(service.engine(name).retriever.search(query, max(1, min(MAX_K, k))))

    @mcp.tool()
    def list_sources(index: str = "") -> list[dict]:
        """The indexed files with their chunk counts."""
        from ingest.paths import readable

        name = index_named(index)
        files = service.engine(name).retriever.index.catalog.files()
        return [{"source": readable(f.path), "chunks": f.chunks} for f in sorted(files.values(), key=lambda f: f.path)]

    @mcp.tool()
    async def ask(question: str, index: str = "") -> dict:
        """A cited answer from the indexed documents, or a plain statement that they do not hold one."""
        name = index_named(index)
        answer = None
        await asyncio.get_running_loop().run_in_executor(None, service.engine, name)  # see answer_events
        async with service.queue.turn():
            answer = await asyncio.get_running_loop().run_in_executor(
                service.answering, lambda: service.engine(name).ask(question)
            )
        data = answer.as_dict()
        return {k: data[k] for k in ("answer", "abstained", "abstain_reason", "evidence", "sources")}

    return mcp


def serve_mcp_stdio(settings: Settings) -> None:
    """`rag mcp`: the same MCP tools over stdin/stdout, for agents that start their tools."""
    import logging

    logging.getLogger("mcp").setLevel(logging.WARNING)
    service = Service(settings)
    try:
        build_mcp(service).run("stdio")
    finally:
        service.close()


def serve(settings: Settings, *, host: str, port: int, token: str | None, on_ready: Callable[[str], None]) -> None:
    """Run the server until interrupted."""
    import uvicorn

    app = create_app(settings, token=token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets=None):
        await original(sockets)
        on_ready(f"http://{host if ':' not in host else f'[{host}]'}:{port}/")

    server.startup = startup
    server.run()

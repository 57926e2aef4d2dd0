"""/api/*: the CLI's --json shapes over HTTP, for the page and for scripts.

GET  /api/indexes              the indexes with their files and chunks
GET  /api/search?q=&index=&k=, POST /api/search {query, k, index}   passages, no model
GET  /api/status?index=, /api/sources?index=   as `rag status --json` and `rag sources --json`
GET  /api/session              {"csrf"}: the header value an upload from a script sends
POST /api/ask                  {question, index, history?} -> Server-Sent Events: queue, rewrite,
                               evidence, text, done (the answer as `rag ask --json` has it), error
"""

from __future__ import annotations

import json

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.errors import IngestError
from rag.errors import Cancelled, RagError, explain
from rag.serve.http import BadRequest, error, in_thread, json_body, refused

MAX_K = 50


def _service(request: Request):
    return request.app.state.service


def index_of(request: Request, name: str | None) -> str:
    """The index a request names (default: the served one); BadRequest 404 if there is none."""
    try:
        return _service(request).check_index(name)
    except IngestError as exc:
        raise BadRequest(explain(exc), status=404, param="index", code="index_not_found") from None


async def indexes(request: Request) -> Response:
    service = _service(request)

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

    return JSONResponse({"indexes": await in_thread(describe), "default": service.settings.index})


async def session(request: Request) -> Response:
    return JSONResponse({"csrf": request.app.state.policy.csrf})


async def search(request: Request) -> Response:
    """GET ?q=&k=&index=, or POST {"query", "k", "index"}."""
    from rag.api import hit_rows

    service = _service(request)
    try:
        params = dict(request.query_params)
        files = request.query_params.getlist("file")
        if request.method == "POST":
            body = await json_body(request, '{"query": "...", "k": 5, "index": "name", "files": ["FILE-ID"]}')
            params = {"q": str(body.get("query", body.get("q", ""))), "k": body.get("k"), "index": body.get("index")}
            files = body.get("files") or []
        query = (params.get("q") or "").strip()
        if not query:
            raise BadRequest("missing q: the words to search for", param="q")
        try:
            k = max(1, min(MAX_K, int(params.get("k") or service.settings.top_k)))
        except (TypeError, ValueError):
            raise BadRequest("k must be a whole number", param="k") from None
        name = index_of(request, params.get("index"))
    except BadRequest as exc:
        return refused(exc)

    def run():
        from rag.api import resolve_files

        retriever = service.engine(name).retriever
        paths = resolve_files(retriever.index, [str(f) for f in files]) if files else None
        return retriever.retrieve(query, k, files=paths)

    async with request.app.state.searching:
        with service.searches.running():
            try:
                found = await in_thread(run)
            except IngestError as exc:
                return error(404, explain(exc), param="files")
    return JSONResponse({"index": name, "hits": hit_rows(found.hits), "pending_vectors": found.pending})


async def ask(request: Request) -> Response:
    service = _service(request)
    example = '{"question": "...", "index": "name", "history": [["question", "answer"], ...], "files": ["FILE-ID"]}'
    try:
        body = await json_body(request, example)
        question = str(body.get("question") or "").strip()
        if not question:
            raise BadRequest(f"the question is empty; send {example}", param="question")
        try:
            history = [(str(q), str(a)) for q, a in body.get("history") or []]
        except (TypeError, ValueError):
            raise BadRequest(
                f"history must be a list of [question, answer] pairs; send {example}", param="history"
            ) from None
        name = index_of(request, body.get("index"))
        files = body.get("files") or []
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise BadRequest("files must be a list of file ids or names", param="files")
    except BadRequest as exc:
        return refused(exc)

    async def stream():
        try:
            async for kind, data in service.answer(name, question, history, files=files):
                yield {
                    "event": kind,
                    "data": json.dumps(data.as_dict() if kind == "done" else data, ensure_ascii=False),
                }
        except (IngestError, RagError) as exc:
            yield {"event": "error", "data": json.dumps({"message": explain(exc)}, ensure_ascii=False)}
        except Cancelled:  # the reader pressed Stop or left: nobody is listening
            return

    return EventSourceResponse(stream())


async def status(request: Request) -> Response:
    from rag.api import index_status, source_list

    try:
        name = index_of(request, request.query_params.get("index"))
    except BadRequest as exc:
        return refused(exc)
    index = _service(request).engine(name).retriever.index
    if request.url.path.endswith("/sources"):
        return JSONResponse(await in_thread(source_list, index))
    return JSONResponse(await in_thread(index_status, index))

"""The documents panel: what an index holds and how each file was read, forgetting a file, and
adding a folder of the server's own (one the ``serve_folders`` setting allows).

    GET  /api/documents?index=     files (pages and how read, chunks, pages lost) and skipped files
    POST /api/forget {index, file} a file (by its id) out of the index; the file itself stays
    POST /api/add-folder {index, path}   ingest a folder inside serve_folders (SSE, as /api/ingest)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.errors import IngestError
from rag.errors import explain
from rag.serve.api import index_of
from rag.serve.http import BadRequest, error, in_thread, json_body, refused
from rag.serve.service import with_index
from rag.serve.uploads import ingest_stream


async def documents(request: Request) -> Response:
    from rag.api import document_list

    try:
        name = index_of(request, request.query_params.get("index"))
    except BadRequest as exc:
        return refused(exc)
    index = request.app.state.service.engine(name).retriever.index
    return JSONResponse(await in_thread(document_list, index))


async def forget(request: Request) -> Response:
    from ingest.paths import file_id, readable
    from rag.api import forget as forget_path

    service = request.app.state.service
    try:
        body = await json_body(request, '{"index": "name", "file": "FILE-ID"}')
        name = index_of(request, body.get("index"))
    except BadRequest as exc:
        return refused(exc)
    wanted = str(body.get("file") or "")
    files = await in_thread(lambda: service.catalog(name).files())
    path = next((p for p in files if file_id(p) == wanted), None)
    if path is None:
        return error(404, f"no file {wanted} in index '{name}'", param="file")
    try:
        removed = await in_thread(forget_path, with_index(service.settings, name), path)
    except IngestError as exc:  # another process writes to the index (an ingest): try again after it
        return error(409, explain(exc))
    return JSONResponse({"removed": [readable(p) for p in removed]})


async def add_folder(request: Request) -> Response:
    from rag.api import allowed_folder

    service = request.app.state.service
    try:
        body = await json_body(request, '{"index": "name", "path": "/a/folder/the/server/may/add"}')
        name = index_of(request, body.get("index"))
        folder = allowed_folder(service.settings, str(body.get("path") or ""))
    except BadRequest as exc:
        return refused(exc)
    except IngestError as exc:
        return error(403, explain(exc), param="path")
    return ingest_stream(service.settings, name, [str(folder)])

"""GET /files/{id}: an indexed file, found by its id among the index's files (never by a path
from the request). A PDF or image is sent as it is (the browser's viewer opens a PDF at
#page=N); other formats as a page of the text that was indexed, with the passage that starts at
chunk ``?chunk=N`` marked (``#passage`` scrolls to it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from rag.serve.api import index_of
from rag.serve.http import BadRequest, error, in_thread, refused


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


async def document(request: Request) -> Response:
    from ingest.paths import file_id, file_name

    try:
        name = index_of(request, request.query_params.get("index"))
    except BadRequest as exc:
        return refused(exc)
    catalog = request.app.state.service.catalog
    wanted = request.path_params["id"]
    files = await in_thread(lambda: catalog(name).files())
    path = next((p for p in files if file_id(p) == wanted), None)
    if path is None or not _still_the_indexed_file(path):
        return error(404, f"no file {wanted} in index '{name}'")
    kind = _media_type(path)
    if kind:
        return FileResponse(path, media_type=kind, content_disposition_type="inline")
    chunks = await in_thread(lambda: catalog(name).chunks_of(path))
    marked = request.query_params.get("chunk", "")
    page = document_page(file_name(path), chunks, int(marked) if marked.isdigit() else None)
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCUMENT_POLICY})

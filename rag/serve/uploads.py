"""POST /api/ingest (and /api/upload): documents sent from the page or a script are saved beside
the indexes and ingested, with the ingest's progress as Server-Sent Events: saved, progress,
skipped, partial, done (the ingest summary), error."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response

from ingest.errors import IngestError
from ingest.unicode import clean
from rag.errors import RagError, explain
from rag.serve.api import index_of
from rag.serve.http import BadRequest, error, refused, thread_events
from rag.serve.service import with_index
from rag.settings import Settings

MAX_NAME_BYTES = 200
"""Longest stored name, in UTF-8 bytes: file systems hold 255, and the temporary name a file is
written under first (ingest.files.replaced_atomically) adds up to about 25."""


def upload_folder(settings: Settings, name: str) -> Path:
    """Where the page's uploads into index ``name`` are kept: beside the indexes, not inside one,
    so that `rag ingest --rebuild` never deletes them."""
    return settings.index_path / ".uploads" / name


def _extension(name: str) -> str:
    """The name's extension as the loaders read it: the last suffix, or the last two (.html.gz)."""
    suffixes = [s for s in Path(name).suffixes if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", s)]
    if len(suffixes) >= 2 and suffixes[-1].lower() in (".gz",):
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def safe_upload_name(name: str) -> str:
    """A file name from a browser, made safe to write: no folders, no control characters, not
    hidden, and short enough for any file system; a long name keeps its extension and gains a
    short hash of the whole name, so two long names that start alike stay two files."""
    base = re.split(r"[\\/]", clean(name or ""))[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".~$") or "upload"
    if len(base.encode("utf-8")) <= MAX_NAME_BYTES:
        return base
    extension = _extension(base)
    stem = base[: len(base) - len(extension)] if extension else base
    mark = "-" + hashlib.sha1(base.encode("utf-8")).hexdigest()[:8]
    room = MAX_NAME_BYTES - len(extension.encode("utf-8")) - len(mark)
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip()
    return f"{stem}{mark}{extension}"


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


async def upload(request: Request) -> Response:
    from rag.serve.http import in_thread

    settings = request.app.state.service.settings
    try:
        name = index_of(request, request.query_params.get("index"))
    except BadRequest as exc:
        return refused(exc)
    limit = settings.max_file_mb * 1024 * 1024
    try:
        form = await request.form(max_files=1000, max_fields=10, max_part_size=limit)
    except Exception as exc:  # noqa: BLE001 - the multipart parser's errors: too large, too many, malformed
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
            413, f"{exc} is larger than {settings.max_file_mb} MB, the most one file may be (the max_file_mb setting)"
        )
    except OSError as exc:
        return error(500, f"the upload could not be saved in {folder}: {exc.strerror or exc}")
    if not saved:
        return error(400, 'send the documents as multipart form fields named "files"', param="files")

    saved_event = {"event": "saved", "data": json.dumps({"files": [p.name for p in saved]}, ensure_ascii=False)}
    # only what was sent is ingested: earlier uploads' skips are not repeated
    return ingest_stream(settings, name, [str(path) for path in saved], first=saved_event)


def ingest_stream(settings: Settings, name: str, paths: list[str], *, first: dict | None = None) -> EventSourceResponse:
    """`rag ingest PATHS` into index ``name`` as Server-Sent Events: progress, skipped, partial,
    done (the ingest summary) or error."""
    from ingest.paths import readable

    def ingest(put):
        from rag.api import run_ingest

        return run_ingest(
            with_index(settings, name),
            paths,
            progress=lambda stage, done, total: put("progress", {"stage": stage, "done": done, "total": total}),
            on_skip=lambda path, reason: put("skipped", {"path": readable(path), "reason": reason}),
        )

    async def stream():
        if first:
            yield first
        try:
            async for kind, data in thread_events(ingest):
                if kind == "done":
                    summary = data.as_dict()
                    for row in summary["partial"]:
                        yield {"event": "partial", "data": json.dumps(row, ensure_ascii=False)}
                    data = summary
                yield {"event": kind, "data": json.dumps(data, ensure_ascii=False)}
        except (IngestError, RagError) as exc:
            yield {"event": "error", "data": json.dumps({"message": explain(exc)}, ensure_ascii=False)}

    return EventSourceResponse(stream())

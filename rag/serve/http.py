"""Request plumbing every route shares: error replies, JSON bodies, work in threads, and
events from a thread as an async stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    421: "invalid_request_error",
    500: "server_error",
}


class BadRequest(Exception):
    """A request the client must change: its message, the status, and the field at fault."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


def error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    """An error reply in the OpenAI shape every route uses: {"error": {message, type, param, code}}."""
    body = {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param, "code": code}
    return JSONResponse({"error": body}, status_code=status)


def refused(problem: BadRequest) -> JSONResponse:
    return error(problem.status, str(problem), param=problem.param, code=problem.code)


async def json_body(request: Request, example: str) -> dict:
    """The request's JSON object; BadRequest (naming ``example``, the shape wanted) otherwise."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"the body is not valid JSON; send {example}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object; send {example}")
    return body


async def until_disconnected(request: Request, stop) -> None:
    """Set ``stop`` (a threading.Event) when the client of ``request`` goes away: for replies that
    are not streamed, where nothing else would notice before the answer is done."""
    while not stop.is_set():
        if await request.is_disconnected():
            stop.set()
            return
        await asyncio.sleep(0.25)


async def in_thread(function: Callable, *args):
    import anyio

    return await anyio.to_thread.run_sync(function, *args)


async def thread_events(work: Callable, executor=None) -> AsyncIterator[tuple[str, object]]:
    """Run ``work(put)`` in a thread (of ``executor`` if given); yield each (event, data) it
    puts, then ("done", its result). Its exception, if any, is raised here."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Queue = asyncio.Queue()
    put = lambda kind, data: loop.call_soon_threadsafe(pending.put_nowait, (kind, data))  # noqa: E731
    job = asyncio.ensure_future(loop.run_in_executor(executor, work, put) if executor else in_thread(work, put))
    try:
        while not (job.done() and pending.empty()):
            getter = asyncio.ensure_future(pending.get())
            done, _ = await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
            else:
                getter.cancel()
        yield "done", job.result()
    finally:
        if not job.done():  # the listener left: the work ends on its own (stopped); its outcome is not wanted
            job.add_done_callback(lambda finished: finished.cancelled() or finished.exception())

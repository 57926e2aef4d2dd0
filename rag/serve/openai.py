"""/v1/*: the OpenAI API as llama.cpp's server and vLLM keep it; each index is a "model".

    GET  /v1/models, GET /v1/models/{id}
    POST /v1/chat/completions      stream or not; the final message (or chunk) carries ``sources``
                                   (each with a ``url`` to the document) and ``abstained``, and the
                                   reply the whole answer under ``rag``; "rag": {"sources": false}
                                   in the body leaves them out, "rag": {"files": [...]} (ids or
                                   names) limits the answer to those documents

A malformed request gets 400 ``invalid_request_error`` naming the field (``param``), an
unknown model 404 ``model_not_found``, a field rag does not support (n > 1, tools, logprobs, a
JSON response format) 400 that says so; ``max_tokens``, ``stop``, ``temperature``, ``top_p``
and ``seed`` reach the model, and a system message is the user's instructions for the reply,
beneath rag's own rules. Fields that change nothing about a grounded answer (``user``,
``metadata``, ``store``, penalties, ``logit_bias``) are accepted and ignored.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.errors import IngestError
from rag.engine import AnswerOptions
from rag.errors import Cancelled, RagError, explain
from rag.generator import Sampling
from rag.serve.files import document_url
from rag.serve.http import BadRequest, error, json_body, refused, until_disconnected

ROLES = ("system", "developer", "user", "assistant")
UNSUPPORTED = {
    "tools": "rag answers from the documents itself, without calling tools",
    "tool_choice": "rag answers from the documents itself, without calling tools",
    "functions": "rag answers from the documents itself, without calling functions",
    "function_call": "rag answers from the documents itself, without calling functions",
    "logprobs": "log-probabilities are not returned",
    "top_logprobs": "log-probabilities are not returned",
    "audio": "audio output is not supported",
    "prediction": "predicted outputs are not supported",
}
MAX_STOP = 4


@dataclass
class ChatRequest:
    """A validated chat completion request."""

    model: str
    question: str
    history: list[tuple[str, str]]
    options: AnswerOptions
    stream: bool = False
    include_usage: bool = False
    with_sources: bool = True
    files: list[str] = field(default_factory=list)


def _number(body: dict, name: str, low: float, high: float, *, whole: bool = False, low_open: bool = False):
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        raise BadRequest(f"{name} must be {'a whole number' if whole else 'a number'}", param=name)
    if value < low or value > high or (low_open and value == low):
        raise BadRequest(
            f"{name} must be {'above' if low_open else 'at least'} {low:g} and at most {high:g}", param=name
        )
    return value


def _text(content, where: str) -> str:
    """A message's text: a string, or a list of text parts (OpenAI allows both)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        parts = []
        for n, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadRequest(f"only text content is supported, not {kind!r}", param=f"{where}.content[{n}]")
            parts.append(str(part.get("text") or ""))
        return "\n".join(parts)
    raise BadRequest("content must be a string or a list of text parts", param=f"{where}.content")


def parse_chat_request(body: dict, models: list[str], default: str) -> ChatRequest:
    """Pure: a chat completion request checked field by field; BadRequest names the first fault."""
    model = body.get("model")
    if model in (None, ""):
        model = default
    if not isinstance(model, str):
        raise BadRequest("model must be a string: the name of an index (GET /v1/models)", param="model")
    if model not in models:
        raise BadRequest(
            f"The model '{model}' does not exist: the models here are the indexes ({', '.join(models) or 'none yet'}); "
            "GET /v1/models lists them",
            status=404,
            param="model",
            code="model_not_found",
        )
    for name, why in UNSUPPORTED.items():
        value = body.get(name)
        if value not in (None, False, [], "none", 0):
            raise BadRequest(f"{name} is not supported: {why}", param=name, code="unsupported_parameter")
    n = _number(body, "n", 1, 128, whole=True)
    if n and n > 1:
        raise BadRequest(
            "n > 1 is not supported: rag gives one grounded answer", param="n", code="unsupported_parameter"
        )
    form = body.get("response_format")
    if form is not None and (not isinstance(form, dict) or form.get("type", "text") != "text"):
        raise BadRequest(
            "only text responses are supported (response_format type 'text')",
            param="response_format",
            code="unsupported_parameter",
        )

    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list of {role, content} objects", param="messages")
    turns: list[tuple[str, str]] = []
    instructions = []
    for n, message in enumerate(messages):
        where = f"messages[{n}]"
        if not isinstance(message, dict):
            raise BadRequest("each message must be an object with role and content", param=where)
        role = message.get("role")
        if role not in ROLES:
            raise BadRequest(
                f"unknown role {role!r}: use system, user or assistant (tool messages are not supported)",
                param=f"{where}.role",
            )
        text = _text(message.get("content"), where)
        if role in ("system", "developer"):
            instructions.append(text)
        else:
            turns.append((role, text))
    if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
        raise BadRequest("the last message must be a user message that holds the question", param="messages")
    history, asked = [], None
    for role, text in turns[:-1]:
        if role == "user":
            asked = text
        elif asked is not None:
            history.append((asked, text))
            asked = None

    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream must be true or false", param="stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and (not isinstance(stream_options, dict) or not stream):
        raise BadRequest("stream_options is only allowed with stream: true, as an object", param="stream_options")
    limit = _number(body, "max_completion_tokens", 1, 1 << 20, whole=True) or _number(
        body, "max_tokens", 1, 1 << 20, whole=True
    )
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (
        not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(s, str) and s for s in stop)
    ):
        raise BadRequest(f"stop must be a string or a list of up to {MAX_STOP} strings", param="stop")
    temperature = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1, low_open=True)
    seed = _number(body, "seed", -(1 << 63), (1 << 63) - 1, whole=True)
    sampling = Sampling(
        temperature=0.0 if temperature is None else float(temperature),
        top_p=1.0 if top_p is None else float(top_p),
        seed=seed,
        stop=tuple(stop or ()),
    )
    extension = body.get("rag") if isinstance(body.get("rag"), dict) else {}
    files = extension.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise BadRequest("rag.files must be a list of file ids or names", param="rag.files")
    return ChatRequest(
        model=model,
        question=turns[-1][1].strip(),
        history=history,
        options=AnswerOptions(max_tokens=limit, sampling=sampling, instructions="\n".join(instructions).strip()),
        stream=stream,
        include_usage=bool((stream_options or {}).get("include_usage")),
        with_sources=extension.get("sources", True) is not False,
        files=files,
    )


def shown_sources(answer: dict, base: str = "") -> list[dict]:
    """The sources a reader is pointed to (``Answer.shown_sources``: the cited passages, else
    those that hold the answer, marked ``supporting``), each with a link to its document
    (``base``: the server's address, so that a client outside a browser can open it)."""
    shown = set(answer.get("shown_sources") or [])
    return [
        {
            **{k: s[k] for k in ("n", "source", "page", "heading", "text")},
            "cited": bool(s.get("cited")),
            "supporting": not s.get("cited"),
            "ocr": bool(s.get("ocr")),
            "url": base.rstrip("/") + document_url(s),
        }
        for s in answer.get("sources", [])
        if s["n"] in shown
    ]


def message_extras(answer: dict, with_sources: bool = True, base: str = "") -> dict:
    """What rides on the final message or chunk: the sources and whether rag abstained."""
    extras = {"abstained": bool(answer.get("abstained"))}
    if with_sources:
        extras["sources"] = shown_sources(answer, base)
    return extras


def sources_text(answer: dict) -> str:
    """The sources as lines under an answer, for clients that show only text."""
    lines = [
        f"[{s['n']}] {s['source']}"
        + (f", p. {s['page']}" if s.get("page") is not None else "")
        + (f" — {s['heading']}" if s.get("heading") else "")
        + (" (OCR)" if s.get("ocr") else "")
        + ("" if s["cited"] else " (holds the answer; not cited by the model)")
        for s in shown_sources(answer)
    ]
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


def usage(answer: dict) -> dict:
    timings = answer.get("timings") or {}
    prompt, completion = timings.get("prompt_tokens") or 0, timings.get("completion_tokens") or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _model(name: str, created: int) -> dict:
    return {"id": name, "object": "model", "created": created, "owned_by": "rag"}


async def models(request: Request) -> Response:
    created = int(time.time())
    names = request.app.state.service.index_names()
    return JSONResponse({"object": "list", "data": [_model(name, created) for name in names]})


async def model(request: Request) -> Response:
    name = request.path_params["id"]
    if name not in request.app.state.service.index_names():
        return error(
            404, f"The model '{name}' does not exist (GET /v1/models lists them)", param="model", code="model_not_found"
        )
    return JSONResponse(_model(name, int(time.time())))


async def chat_completions(request: Request) -> Response:
    service = request.app.state.service
    try:
        body = await json_body(request, '{"model": "INDEX", "messages": [{"role": "user", "content": "..."}]}')
        chat = parse_chat_request(body, service.index_names(), service.settings.index)
    except BadRequest as exc:
        return refused(exc)
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    stop = threading.Event()
    base = str(request.base_url)
    answers = service.answer(chat.model, chat.question, chat.history, chat.options, stop, chat.files)

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": chat.model}
        return json.dumps({**data, "choices": [choice], **extra}, ensure_ascii=False)

    if chat.stream:

        async def stream():
            try:
                yield {"data": chunk({"role": "assistant", "content": ""})}
                async for kind, data in answers:
                    if kind == "text":
                        yield {"data": chunk({"content": data["text"]})}
                    elif kind == "done":
                        answer = data.as_dict()
                        tail = sources_text(answer) if chat.with_sources else ""
                        if tail:
                            yield {"data": chunk({"content": tail})}
                        finish = answer["timings"].get("finish", "stop")
                        yield {"data": chunk(message_extras(answer, chat.with_sources, base), finish, rag=answer)}
                        if chat.include_usage:
                            head = {"id": completion_id, "object": "chat.completion.chunk", "created": created}
                            final = {**head, "model": chat.model, "choices": [], "usage": usage(answer)}
                            yield {"data": json.dumps(final)}
            except (IngestError, RagError) as exc:
                yield {"data": json.dumps({"error": {"message": explain(exc), "type": "server_error"}})}
            except Cancelled:  # the client left: nobody is listening
                return
            yield {"data": "[DONE]"}

        return EventSourceResponse(stream(), sep="\n")

    answer = None
    watcher = asyncio.ensure_future(until_disconnected(request, stop))
    try:
        async for kind, data in answers:
            if kind == "done":
                answer = data.as_dict()
    except (IngestError, RagError) as exc:
        return error(500, explain(exc))
    except Cancelled:
        return error(499, "the client closed the request before the answer was done")
    finally:
        watcher.cancel()
    content = answer["answer"] + (sources_text(answer) if chat.with_sources else "")
    message = {"role": "assistant", "content": content, **message_extras(answer, chat.with_sources, base)}
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": answer["timings"].get("finish", "stop"),
                }
            ],
            "usage": usage(answer),
            "rag": answer,
        }
    )

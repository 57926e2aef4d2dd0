"""MCP tools over the same engine: search (passages), ask (a cited answer), list_sources; over
streamable HTTP at /mcp (with the server's Host, Origin and token rules: rag.serve.security) and
over stdio (`rag mcp`).

A tool's failure is an ``isError`` result whose text is the message /api/* gives. ``ask``
reports progress while it works (its place in the queue, retrieval done, the evidence sentence,
tokens written), so a client's request timeout is reset, and the evidence reaches the client
before the answer ends. An unknown prompt or resource is JSON-RPC error -32602.
"""

from __future__ import annotations

import functools
import inspect
from importlib.metadata import PackageNotFoundError, version

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from mcp_types.jsonrpc import INVALID_PARAMS

from ingest.errors import IngestError
from rag.errors import RagError, explain
from rag.serve.api import MAX_K

PROGRESS_EVERY = 16
"""Text pieces (about tokens) between two progress notifications while an answer is written."""


def package_version() -> str:
    try:
        return version("rag")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0"


class RagMCP(MCPServer):
    async def get_prompt(self, name, arguments=None, context=None):
        if self._prompt_manager.get_prompt(name) is None:
            raise MCPError(
                INVALID_PARAMS,
                f"Unknown prompt: {name} (this server has no prompts; its tools are search, ask, list_sources)",
            )
        return await super().get_prompt(name, arguments, context)


def reported(tool):
    """The tool, with its failures (``IngestError``, ``RagError``) returned as ``isError`` results
    whose text is the message alone, as /api/* gives it (the SDK's own ToolError path prefixes
    "Error executing tool NAME: ")."""

    def failed(exc: Exception) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=explain(exc))], is_error=True)

    if inspect.iscoroutinefunction(tool):

        @functools.wraps(tool)
        async def run_async(*args, **kwargs):
            try:
                return await tool(*args, **kwargs)
            except (IngestError, RagError) as exc:
                return failed(exc)

        return run_async

    @functools.wraps(tool)
    def run(*args, **kwargs):
        try:
            return tool(*args, **kwargs)
        except (IngestError, RagError) as exc:
            return failed(exc)

    return run


def _place(data: dict) -> str:
    name = data["source"].rsplit("/", 1)[-1]
    return (
        name
        + (f", p. {data['page']}" if data.get("page") else "")
        + (f" — {data['heading']}" if data.get("heading") else "")
    )


def build_mcp(service) -> MCPServer:
    from rag.api import hit_rows

    def index_named(index: str) -> str:
        return service.check_index(index or None)

    mcp = RagMCP(
        "rag",
        version=package_version(),
        instructions="Search and ask the user's own indexed documents, offline. Answers cite file, page and section.",
    )

    @mcp.tool()
    @reported
    def search(query: str, index: str = "", k: int = 5, files: list[str] | None = None) -> list[dict]:
        """Passages of the indexed documents that best match ``query`` (no language model);
        ``files`` (names or ids, as list_sources gives them) limits it to those documents."""
        from rag.api import resolve_files

        name = index_named(index)
        if not query.strip():
            raise RagError("the query is empty: give the words to search for")
        retriever = service.engine(name).retriever
        paths = resolve_files(retriever.index, files) if files else None
        with service.searches.running():
            return hit_rows(retriever.retrieve(query, max(1, min(MAX_K, k)), files=paths).hits)

    @mcp.tool()
    @reported
    def list_sources(index: str = "") -> list[dict]:
        """The indexed files: name, id (for the tools' ``files``), pages, chunks, pages lost."""
        from rag.api import document_list

        name = index_named(index)
        rows = document_list(service.engine(name).retriever.index)["files"]
        keys = ("path", "name", "file", "pages", "chunks", "lost")
        return [{k: row[k] for k in keys} for row in rows]

    @mcp.tool()
    @reported
    async def ask(question: str, ctx: Context, index: str = "", files: list[str] | None = None) -> dict:
        """A cited answer from the indexed documents, or a plain statement that they do not hold one;
        "summarise NAME" gives a document's key points. ``files`` (names or ids) limits it to those
        documents. Progress notifications carry the queue place, the evidence sentence and the
        tokens written."""
        name = index_named(index)
        if not question.strip():
            raise RagError("the question is empty")
        step, pieces, answer = 0, 0, None

        async def progress(message: str) -> None:
            nonlocal step
            step += 1
            await ctx.report_progress(step, None, message)

        await progress("retrieving passages")
        async for kind, data in service.answer(name, question.strip(), [], files=files or None):
            if kind == "progress":
                await progress(data["message"])
            elif kind == "queue":
                await progress(f"waiting for the model: {data['position']} answer(s) ahead")
            elif kind == "evidence":
                await progress(f"Evidence: “{data['text']}” ({_place(data)})")
            elif kind == "text":
                pieces += 1
                if pieces % PROGRESS_EVERY == 1:
                    await progress(f"writing the answer: {pieces} tokens")
            elif kind == "done":
                answer = data.as_dict()
        keys = ("answer", "abstained", "abstain_reason", "extractive", "evidence", "sources", "shown_sources")
        return {k: answer[k] for k in keys}

    return mcp


def serve_mcp_stdio(settings) -> None:
    """`rag mcp`: the same MCP tools over stdin/stdout, for agents that start their tools."""
    import logging

    from rag.serve.service import Service

    logging.getLogger("mcp").setLevel(logging.WARNING)
    service = Service(settings)
    try:
        build_mcp(service).run("stdio")
    finally:
        service.close()

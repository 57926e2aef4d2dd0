"""The ASGI app: the routes of every face, the security middleware, the lifespan; and `serve`.

    GET  /                         the page (rag/web/, served as it is but for its CSRF token; nothing from outside)
    /api/*                         rag.serve.api (JSON and SSE), rag.serve.uploads (POST /api/ingest, /api/upload)
    GET  /files/{id}               rag.serve.files
    /v1/*                          rag.serve.openai
    /mcp                           rag.serve.mcp (streamable HTTP)

Every request passes rag.serve.security.Guard (Host, Origin, CSRF, token). Errors are
{"error": {"message", "type", "param", "code"}} with the status code. No CORS headers: only
pages this server serves may call it from a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rag.serve import api, documents, files, openai, uploads
from rag.serve.mcp import build_mcp
from rag.serve.security import Guard, Hosts, Policy, addresses_to_open
from rag.serve.service import Service
from rag.settings import Settings

WEB = Path(__file__).resolve().parent.parent / "web"
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""The page runs its own script only, and reaches only this server."""


def page(csrf: str) -> Callable:
    """The page's HTML with the server's CSRF token, which the page's uploads send."""
    text = (WEB / "index.html").read_text(encoding="utf-8")
    text = text.replace('content="CSRF"', f'content="{html.escape(csrf)}"', 1)

    async def index(request) -> HTMLResponse:
        return HTMLResponse(text, headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"})

    return index


def create_app(
    settings: Settings, *, token: str | None = None, host: str = "127.0.0.1", allow_hosts: Iterable[str] = ()
) -> Starlette:
    """The ASGI app for a server bound to ``host``. With ``token``, every route but the page's
    own files needs ``Authorization: Bearer TOKEN`` (or ``?token=`` for links the browser opens)."""
    from mcp.server.transport_security import TransportSecuritySettings

    logging.getLogger("mcp").setLevel(logging.WARNING)  # its session manager logs every start at INFO
    service = Service(settings)
    mcp = build_mcp(service)
    policy = Policy(Hosts.for_bind(host, allow_hosts), token, secrets.token_urlsafe(24))
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=False,  # an SSE reply, so that progress notifications reach the client during ask
        # Host and Origin are checked for every route, /mcp included, by Guard (the same rule
        # everywhere); the SDK's own check would admit loopback names only
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with mcp.session_manager.run():
            try:
                yield
            finally:
                service.close()

    routes = [
        Route("/", page(policy.csrf)),
        Mount("/static", app=StaticFiles(directory=WEB)),
        Route("/api/indexes", api.indexes),
        Route("/api/session", api.session),
        Route("/api/search", api.search, methods=["GET", "POST"]),
        Route("/api/ask", api.ask, methods=["POST"]),
        Route("/api/status", api.status),
        Route("/api/sources", api.status),
        Route("/api/ingest", uploads.upload, methods=["POST"]),
        Route("/api/upload", uploads.upload, methods=["POST"]),
        Route("/api/documents", documents.documents),
        Route("/api/forget", documents.forget, methods=["POST"]),
        Route("/api/add-folder", documents.add_folder, methods=["POST"]),
        Route("/files/{id}", files.document),
        Route("/v1/models", openai.models),
        Route("/v1/models/{id:path}", openai.model),
        Route("/v1/chat/completions", openai.chat_completions, methods=["POST"]),
        Mount("/", app=mcp_app),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, policy=policy)], lifespan=lifespan)
    app.state.service = service
    app.state.policy = policy
    # As many searches at once as the CPU has cores: more only take turns on the cores and each
    # waits longer (8 clients on 2 cores, bench/serve.py: p95 75 ms unlimited)
    app.state.searching = asyncio.Semaphore(settings.effective_threads())
    return app


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    token: str | None,
    allow_hosts: Iterable[str] = (),
    on_ready: Callable[[list[str]], None],
) -> None:
    """Run the server until interrupted; ``on_ready`` gets the addresses a person can open."""
    import uvicorn

    app = create_app(settings, token=token, host=host, allow_hosts=allow_hosts)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets=None):
        await original(sockets)
        on_ready(addresses_to_open(host, port))

    server.startup = startup
    server.run()

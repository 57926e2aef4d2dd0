"""`rag serve`: the web page, an OpenAI-compatible API and an MCP endpoint over the same engine.

One process holds one loaded model, shared by every index (each index is a "model" to the
API). Answers take turns in one queue and are told their place; searches, status and documents
never wait for an answer. The engine is the CLI's own (``rag.api.build_engine``); these modules
only translate HTTP to its calls, one module per face or concern:

    app.py       the routes, the middleware, the lifespan; serve()
    security.py  Host, Origin, CSRF and token checks for every request; the kept token
    service.py   the engines per index, the loaded models, Service.answer (every face's answers)
    queue.py     the one model's answer queue; searches slipping in between tokens
    http.py      error replies, JSON bodies, threads, events from a thread
    api.py       /api/*: the CLI's --json shapes          uploads.py  /api/ingest
    files.py     /files/{id}: originals and marked text    openai.py   /v1/*
    mcp.py       MCP tools over HTTP and stdio
"""

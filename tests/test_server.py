"""`rag serve`: a real server on a free port, driven by the official openai and mcp clients and
by plain HTTP as the page drives it. The small real GGUF answers (SmolLM2-135M: it exercises
the path, not answer quality), with the answerability check off so that it always writes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import make_pdf

from rag.cli import cli

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How long should water be boiled above 2000 metres?"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(index_dir: Path, answer_tokens: int, **extra: str) -> dict:
    """The server's environment: the test's index folder, short answers, no answerability gate and
    no sentence check (the tiny model's sentences would seldom pass it: these tests are about the
    plumbing; the check's own are tests/test_ask.py and tests/test_gating.py); ``extra`` on top."""
    defaults = {
        "RAG_INDEX_DIR": str(index_dir),
        "RAG_MIN_ANSWERABLE": "0",
        "RAG_MIN_VERIFIED": "0",
        "RAG_MAX_ANSWER_TOKENS": str(answer_tokens),
        "PYTHONPATH": str(ROOT),
    }
    return {**os.environ, **defaults, **extra}


def _start(
    index_dir: Path, model: Path, *extra: str, env_extra: dict | None = None, answer_tokens: int = 24
) -> tuple[subprocess.Popen, str]:
    """A real `rag serve` of index 'field' on a free port, and the address it printed."""
    port = _free_port()
    env = _env(index_dir, answer_tokens, **(env_extra or {}))
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--index", "field", "--port", str(port), "--model", str(model), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith("Serving index 'field' at "):
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
            return process, line.split(" at ", 1)[1].strip()
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError("the server did not start: " + "".join(lines))


def field_index(home: Path, more: dict[str, str] | None = None) -> Path:
    """Index 'field' of home/docs (water.pdf, radio.md and ``more``: name -> text), in home/indexes."""
    docs = home / "docs"
    docs.mkdir()
    make_pdf(
        docs / "water.pdf",
        [
            "Water treatment for field teams.",
            "Boil water for one minute. Above 2000 metres, boil it for three minutes.",
        ],
    )
    (docs / "radio.md").write_text("# Radio\n\nCheck-ins are at 08:00 and 18:00 on channel 16.\n", encoding="utf-8")
    for name, text in (more or {}).items():
        (docs / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["ingest", str(docs), "--index-dir", str(home / "indexes"), "--index", "field", "-q"]
    )
    assert result.exit_code == 0, result.output
    return home / "indexes"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return field_index(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def server(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model)
    yield url
    process.terminate()
    process.wait(timeout=30)


def _csrf(url: str) -> dict:
    """The header a script's upload sends (the page carries the same value)."""
    return {"X-Rag-CSRF": httpx.get(f"{url}api/session").json()["csrf"]}


def _sse(response: httpx.Response) -> list[tuple[str, dict]]:
    events, kind = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            events.append((kind, json.loads(line[5:].strip())))
            kind = "message"
    return events


def test_openai_client_lists_indexes_and_answers_with_and_without_streaming(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["field"]
    completion = client.chat.completions.create(model="field", messages=[{"role": "user", "content": QUESTION}])
    text = completion.choices[0].message.content
    assert text and completion.choices[0].finish_reason == "stop"
    rag = completion.model_extra["rag"]
    assert rag["question"] == QUESTION and rag["sources"][0]["source"].endswith("water.pdf")
    assert rag["evidence"]["page"] == 2 and "three minutes" in rag["evidence"]["text"]

    message = completion.choices[0].message.model_extra
    assert message["abstained"] is rag["abstained"]
    assert all(
        re.fullmatch(re.escape(server) + r"files/[0-9a-f]{16}(#page=\d+|\?chunk=\d+#passage)?", s["url"])
        for s in message["sources"]
    ), message["sources"]
    assert [s["n"] for s in message["sources"]] == rag["shown_sources"]
    assert rag["abstained"] or message["sources"], "a shown answer always carries its source"

    stream = client.chat.completions.create(
        model="field", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = [c for c in stream if c.choices]
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert len(pieces) > 2 and "".join(pieces).strip()
    assert "sources" in chunks[-1].choices[0].delta.model_extra and chunks[-1].choices[0].finish_reason == "stop"
    assert all("sources" not in (c.choices[0].delta.model_extra or {}) for c in chunks[:-1]), (
        "sources ride on the last chunk only"
    )

    quiet = client.chat.completions.create(
        model="field", messages=[{"role": "user", "content": QUESTION}], extra_body={"rag": {"sources": False}}
    )
    assert "sources" not in quiet.choices[0].message.model_extra and "Sources:" not in quiet.choices[0].message.content
    assert "abstained" in quiet.choices[0].message.model_extra


def test_search_answers_without_the_model_and_names_file_and_page(server):
    data = httpx.get(f"{server}api/search", params={"q": "boil water altitude", "k": 2}).json()
    assert data["index"] == "field" and len(data["hits"]) == 2 and data["pending_vectors"] == 0
    assert data["hits"][0]["source"].endswith("water.pdf") and data["hits"][0]["page"] == 2
    assert set(data["hits"][0]) == {"rank", "score", "source", "file", "page", "heading", "chunk", "text", "ocr"}, (
        "the shape of rag search --json"
    )
    posted = httpx.post(f"{server}api/search", json={"query": "boil water altitude", "k": 2}).json()
    assert posted == data, "POST with JSON finds the same as GET"
    empty = httpx.get(f"{server}api/search")
    assert empty.status_code == 400 and empty.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.get(f"{server}api/search", params={"q": "x", "index": "nope"})
    assert missing.status_code == 404 and "rag ingest PATH --index nope" in missing.json()["error"]["message"]
    assert missing.json()["error"]["type"] == "not_found_error"
    for name in ("..", "../field", "field/..", "."):  # only a folder of the index directory is an index
        assert httpx.get(f"{server}api/search", params={"q": "x", "index": name}).status_code == 404, name
    assert not [h for h in missing.headers if h.lower().startswith("access-control-")], "no CORS headers"
    preflight = httpx.options(
        f"{server}api/search", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")], (
        "no CORS headers on a preflight"
    )


def test_ask_streams_evidence_then_text_then_the_answer(server):
    with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=120) as response:
        events = _sse(response)
    kinds = [k for k, _ in events]
    assert kinds[0] == "evidence" and kinds[-1] == "done" and "text" in kinds
    assert kinds.index("evidence") < kinds.index("text")
    done = events[-1][1]
    assert done["answer"] and done["sources"][0]["source"].endswith("water.pdf")


def test_searches_finish_while_an_answer_streams(server):
    """Searches never queue behind an answer: fired once the model works on it (the evidence is
    out), every one returns before the answer ends (its own total_ms, counted from before it was asked)."""
    returned: list[float] = []

    def search() -> None:
        response = httpx.get(f"{server}api/search", params={"q": "radio check-in channel", "k": 3}, timeout=60)
        assert response.status_code == 200 and response.json()["hits"]
        returned.append(time.monotonic())

    asked = time.monotonic()
    searches: list[threading.Thread] = []
    done, kind = None, "message"
    with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=300) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                if kind == "evidence" and not searches:  # the model works from here on
                    searches = [threading.Thread(target=search) for _ in range(4)]
                    for thread in searches:
                        thread.start()
                    for thread in searches:
                        thread.join()
                if kind == "done":
                    done = json.loads(line[5:].strip())
    assert done is not None and len(returned) == 4, "the answer streamed text and the searches were answered"
    answer_ended = asked + done["timings"]["total_ms"] / 1000
    assert max(returned) < answer_ended, (max(returned) - asked, done["timings"])


def test_answers_take_turns_and_are_told_their_place(server):
    results: list[list[tuple[str, dict]]] = []

    def one() -> None:
        with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=300) as response:
            results.append(_sse(response))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(r[-1][0] == "done" for r in results)
    places = sorted(e[1]["position"] for r in results for e in r if e[0] == "queue")
    assert places and places[-1] >= 1, "a request that waits is told its place"


def test_a_documents_text_page_shows_each_character_once_and_marks_the_passage():
    from ingest.types import Chunk
    from rag.serve.files import document_page

    text = "Boil water. Above 2000 m boil it longer. Keep <lids> on. Radio at 08:00."
    spans = [(0, 40), (12, 56), (41, 72)]  # overlapping by a sentence, as the chunker makes them
    chunks = [Chunk(text[a:b], n, a, b, None, ("Water",)) for n, (a, b) in enumerate(spans)]
    page = document_page("notes.md", chunks, 1)
    body = re.sub(r"<[^>]+>", "", page.split("</h1>", 1)[1])
    assert body.replace("&lt;", "<").replace("&gt;", ">") == "Water" + text, "every character once, in order"
    assert (
        re.search(r'<mark id="passage">(.*?)</mark>', page).group(1)
        == "Above 2000 m boil it longer. Keep &lt;lids&gt; on."
    )
    assert "<lids>" not in page, "the document's text is escaped"
    assert "<mark" not in document_page("notes.md", chunks, None)


def test_documents_are_served_only_when_indexed_by_their_id(server, index_dir):
    from ingest.paths import file_id

    sources = {Path(s["path"]).name: s["file"] for s in httpx.get(f"{server}api/sources").json()}
    response = httpx.get(f"{server}files/{sources['water.pdf']}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content[:5] == b"%PDF-"
    hit = httpx.get(f"{server}api/search", params={"q": "radio check-ins channel", "k": 1}).json()["hits"][0]
    assert hit["source"].endswith("radio.md")
    shown = httpx.get(f"{server}files/{sources['radio.md']}", params={"chunk": hit["chunk"]})
    assert shown.headers["content-type"].startswith("text/html")
    assert shown.headers["content-security-policy"].startswith("default-src 'none'"), "a document's page runs nothing"
    marked = re.search(r'<mark id="passage">(.*?)</mark>', shown.text, re.S)
    assert marked and "Check-ins are at 08:00 and 18:00 on channel 16." in marked.group(1), shown.text
    for bad in (file_id("/etc/passwd"), "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "0" * 16):
        assert httpx.get(f"{server}files/{bad}").status_code == 404, bad
    assert httpx.get(f"{server}api/document", params={"path": "/etc/passwd"}).status_code == 404, (
        "no route takes a path"
    )


def test_while_serving_an_ingest_is_seen_and_forgotten_or_replaced_files_are_not_served(
    index_dir, tiny_model, tmp_path
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keep.md").write_text("# Keep\n\nThe spare key is under the blue crate.\n", encoding="utf-8")
    (docs / "gone.md").write_text("# Gone\n\nThe old code was 4417.\n", encoding="utf-8")
    own = tmp_path / "indexes"
    assert (
        CliRunner().invoke(cli, ["ingest", str(docs), "--index-dir", str(own), "--index", "field", "-q"]).exit_code == 0
    )
    secret = tmp_path / "secret.txt"
    secret.write_text("private", encoding="utf-8")
    process, url = _start(own, tiny_model, env_extra={"RAG_MAX_FILE_MB": "1"})
    try:
        big = httpx.post(
            f"{url}api/ingest", files=[("files", ("huge.txt", b"x" * (2 * 2**20), "text/plain"))], headers=_csrf(url)
        )
        assert big.status_code == 413 and "larger than 1 MB" in big.json()["error"]["message"], big.text
        ids = {Path(s["path"]).name: s["file"] for s in httpx.get(f"{url}api/sources").json()}
        assert httpx.get(f"{url}files/{ids['gone.md']}").status_code == 200
        assert (
            CliRunner()
            .invoke(cli, ["forget", str(docs / "gone.md"), "--index-dir", str(own), "--index", "field"])
            .exit_code
            == 0
        )
        assert httpx.get(f"{url}files/{ids['gone.md']}").status_code == 404, "a forgotten file is not served"
        more = tmp_path / "more"
        more.mkdir()
        (more / "pump.md").write_text(
            "# Pump\n\nThe bilge pump impeller is replaced every 400 hours.\n", encoding="utf-8"
        )
        assert (
            httpx.get(f"{url}api/search", params={"q": "bilge pump impeller", "k": 1})
            .json()["hits"][0]["source"]
            .endswith("keep.md")
        ), "before the ingest, only the kept file is there"
        ingested = CliRunner().invoke(cli, ["ingest", str(more), "--index-dir", str(own), "--index", "field", "-q"])
        assert ingested.exit_code == 0, ingested.output
        hits = httpx.get(f"{url}api/search", params={"q": "bilge pump impeller", "k": 1}).json()["hits"]
        assert hits[0]["source"].endswith("pump.md"), "an ingest while serving is seen by the next request"
        (docs / "keep.md").unlink()
        (docs / "keep.md").symlink_to(secret)
        assert httpx.get(f"{url}files/{ids['keep.md']}").status_code == 404, "a link put in an indexed file's place"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_loads_nothing_from_outside(server):
    page = httpx.get(server)
    assert page.status_code == 200 and "<textarea" in page.text and 'dir="auto"' in page.text
    assets = [page.text] + [httpx.get(f"{server}static/{name}").text for name in ("app.js", "style.css")]
    for text in assets:
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), (
            "an external URL in the page"
        )
    assert "unicode-bidi: plaintext" in assets[2]


def test_mcp_tools_search_and_ask(server):
    from mcp import Client

    async def session():
        async with Client(f"{server}mcp") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            found = await client.call_tool("search", {"query": "radio channel", "k": 1})
            answered = await client.call_tool("ask", {"question": QUESTION})
            return tools, found, answered

    tools, found, answered = asyncio.run(session())
    assert tools == {"search", "ask", "list_sources"}
    assert "channel 16" in found.content[0].text
    assert not answered.is_error, answered.content
    result = json.loads(answered.content[0].text)
    assert result["sources"] and result["evidence"]["page"] == 2


def test_on_a_network_address_a_token_is_made_kept_private_and_required(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model, "--host", "0.0.0.0")
    try:
        kept = index_dir / ".serve-token"
        assert kept.is_file() and kept.stat().st_mode & 0o777 == 0o600
        token = kept.read_text().strip()
        assert "0.0.0.0" not in url, "the startup line names an address a person can open"
        denied = httpx.get(f"{url}api/status")
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
        assert httpx.get(f"{url}api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_token_is_required_when_given(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model, "--token", "s3cret")
    try:
        assert httpx.get(url).status_code == 200, "the page itself loads; it sends the token from ?token="
        denied = httpx.get(f"{url}api/indexes")
        assert denied.status_code == 401 and "Authorization: Bearer" in denied.json()["error"]["message"]
        assert httpx.get(f"{url}api/indexes", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert httpx.get(f"{url}v1/models", params={"token": "s3cret"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_in_a_real_browser_asks_streams_and_cites_with_nothing_from_outside(server, browser, tmp_path):
    browser.open(server)
    browser.wait_for("document.querySelectorAll('#index option').length === 1")
    browser.evaluate(f"document.getElementById('question').value = {json.dumps(QUESTION)}")
    browser.evaluate("document.getElementById('ask-form').requestSubmit()")
    browser.wait_for("document.querySelector('.turn.done') !== null")
    assert browser.evaluate("document.querySelector('.evidence').textContent").count("three minutes") == 1
    assert browser.evaluate("document.querySelector('.answer').textContent.trim().length") > 0
    link = browser.evaluate("document.querySelector('.evidence a').getAttribute('href')")
    assert link.startswith("/files/") and link.endswith("#page=2"), link
    assert (
        browser.evaluate(f"fetch({json.dumps(link.split('#')[0])}).then(r => r.headers.get('content-type'))")
        == "application/pdf"
    )
    browser.screenshot(tmp_path / "page.png")
    assert (tmp_path / "page.png").stat().st_size > 10_000
    outside = [u for u in browser.requested if not u.startswith(server) and not u.startswith("about:")]
    assert outside == [], f"the page requested {outside}"


def test_the_page_fits_a_phone_screen(server, browser, tmp_path):
    browser.phone()
    try:
        browser.open(f"{server}?search=1&q=boil+water")
        browser.wait_for("document.querySelectorAll('.sources li').length > 0")
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
            "no sideways scrolling"
        )
        box = browser.evaluate("JSON.stringify(document.getElementById('question').getBoundingClientRect())")
        box = json.loads(box)
        assert box["left"] >= 0 and box["right"] <= 391 and box["width"] > 250, box
        browser.screenshot(tmp_path / "phone.png")
        assert (tmp_path / "phone.png").stat().st_size > 10_000
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")


def test_a_text_source_opens_at_its_passage_marked(server, browser):
    browser.open(f"{server}?search=1&q=radio+check-ins+channel")
    browser.wait_for("document.querySelectorAll('.sources li a').length > 0")
    link = browser.evaluate(
        "[...document.querySelectorAll('.sources li a')].find(a => a.textContent.includes('radio.md')).href"
    )
    assert "chunk=" in link and link.endswith("#passage"), link
    browser.open(link)
    assert "Check-ins are at 08:00" in browser.evaluate("document.getElementById('passage').textContent")
    top = browser.evaluate("document.getElementById('passage').getBoundingClientRect().top")
    assert 0 <= top < browser.evaluate("window.innerHeight"), "the page opens scrolled to the passage"


def test_hebrew_messages_read_right_to_left_in_the_page(server, browser):
    browser.open(f"{server}?search=1&q=" + httpx.QueryParams({"x": "מים רתיחה water"})["x"])
    browser.wait_for("document.querySelector('.question') !== null")
    assert browser.evaluate("getComputedStyle(document.querySelector('.question')).direction") == "rtl"
    assert browser.evaluate("document.getElementById('question').dir") == "auto"
    browser.evaluate("document.getElementById('question').value = 'כמה זמן מרתיחים מים?'")
    assert browser.evaluate("getComputedStyle(document.getElementById('question')).unicodeBidi") == "plaintext"


def _press_enter(browser, shift: bool = False) -> None:
    """A real key press (the browser's own input, so Shift+Enter types its new line)."""
    for kind in ("keyDown", "keyUp"):
        browser.call(
            "Input.dispatchKeyEvent",
            type=kind,
            key="Enter",
            code="Enter",
            windowsVirtualKeyCode=13,
            modifiers=8 if shift else 0,
            **({"text": "\r"} if kind == "keyDown" else {}),
        )


def test_the_page_keeps_the_conversation_takes_enter_and_adds_documents(server, browser):
    browser.open(server)
    browser.wait_for("document.querySelectorAll('#index option').length === 1")
    browser.evaluate(  # note what the page asks the server
        "window.asked = []; const send = window.fetch; window.fetch = (url, options) => {"
        " if (String(url).startsWith('/api/ask')) window.asked.push(JSON.parse(options.body));"
        " return send(url, options); }; true"
    )
    turns = "document.querySelectorAll('.turn.done').length"
    browser.evaluate("document.getElementById('question').focus()")
    browser.call("Input.insertText", text="How long should water be boiled")
    _press_enter(browser, shift=True)
    browser.call("Input.insertText", text="above 2000 metres?")
    assert browser.evaluate("document.getElementById('question').value") == (
        "How long should water be boiled\nabove 2000 metres?"
    ), "Shift+Enter is a new line"
    assert browser.evaluate("document.querySelectorAll('.turn').length") == 0, "and sends nothing"
    _press_enter(browser)
    browser.wait_for(f"{turns} === 1")
    browser.call("Input.insertText", text="And below that?")
    _press_enter(browser)
    browser.wait_for(f"{turns} === 2")
    asked = browser.evaluate("window.asked")
    assert [a["question"] for a in asked] == ["How long should water be boiled\nabove 2000 metres?", "And below that?"]
    assert asked[0]["history"] == [] and [q for q, _ in asked[1]["history"]] == [asked[0]["question"]], (
        "a follow-up carries the conversation"
    )
    browser.evaluate("document.getElementById('new-conversation').click()")
    assert browser.evaluate("document.querySelectorAll('.turn').length") == 0
    browser.call("Input.insertText", text="When are the radio check-ins?")
    _press_enter(browser)
    browser.wait_for(f"{turns} === 1")
    assert browser.evaluate("window.asked[2].history") == [], "a new conversation starts without it"

    browser.evaluate(  # the file picker, as a person fills it
        "const picked = new DataTransfer();"
        " picked.items.add(new File(['# Tent\\n\\nThe tent pegs are in the red bag.\\n'], 'tent.md'));"
        " picked.items.add(new File(['not a document'], 'notes.xyz'));"
        " const input = document.getElementById('files'); input.files = picked.files;"
        " input.dispatchEvent(new Event('change')); true"
    )
    browser.wait_for(f"{turns} === 2")
    added = browser.evaluate("document.querySelectorAll('.turn')[1].textContent")
    assert "Added 1" in added and "notes.xyz: unsupported file type" in added, added
    hits = httpx.get(f"{server}api/search", params={"q": "tent pegs red bag", "k": 1}).json()["hits"]
    assert hits[0]["source"].endswith("tent.md")


def test_uploaded_documents_are_saved_beside_the_index_ingested_and_searchable(server, index_dir):
    files = [
        ("files", ("../../evil/fuel-log.md", b"# Fuel\n\nThe generator holds 40 litres of diesel.\n", "text/markdown")),
        ("files", ("notes.xyz", b"not a supported format", "application/octet-stream")),
    ]
    with httpx.stream("POST", f"{server}api/ingest", files=files, headers=_csrf(server), timeout=300) as response:
        assert response.status_code == 200
        events = _sse(response)
    kinds = [k for k, _ in events]
    assert kinds[0] == "saved" and events[0][1]["files"] == ["fuel-log.md", "notes.xyz"], (
        "folders in a name are dropped"
    )
    assert "progress" in kinds and kinds[-1] == "done"
    stages = [d["stage"] for k, d in events if k == "progress"]
    assert stages.index("searchable") < stages.index("embed"), "searchable by its words before its vectors"
    skipped = [d for k, d in events if k == "skipped"]
    assert (
        len(skipped) == 1
        and skipped[0]["path"].endswith("notes.xyz")
        and "unsupported file type" in skipped[0]["reason"]
    )
    assert events[-1][1]["added"] == 1
    assert (index_dir / ".uploads" / "field" / "fuel-log.md").is_file() and not (index_dir / "evil").exists()
    hits = httpx.get(f"{server}api/search", params={"q": "generator diesel litres", "k": 1}).json()["hits"]
    assert hits[0]["source"].endswith("fuel-log.md"), "the next request sees the new document"


def test_mcp_over_stdio_with_the_sdk_client(index_dir, tiny_model):
    from mcp import Client, StdioServerParameters

    env = _env(index_dir, 16)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag", "mcp", "--index", "field", "--model", str(tiny_model)], env=env
    )

    async def session():
        async with Client(params) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            listed = await client.call_tool("list_sources", {})
            found = await client.call_tool("search", {"query": "radio channel", "k": 1})
            answered = await client.call_tool("ask", {"question": QUESTION})
            return tools, listed, found, answered

    tools, listed, found, answered = asyncio.run(session())
    assert tools == {"search", "ask", "list_sources"}
    assert any("radio.md" in part.text for part in listed.content)
    assert "channel 16" in found.content[0].text
    assert not answered.is_error and json.loads(answered.content[0].text)["evidence"]["page"] == 2


def test_status_and_sources_have_the_cli_json_shapes(server, index_dir):
    status = httpx.get(f"{server}api/status").json()
    cli_status = json.loads(
        CliRunner().invoke(cli, ["status", "--json", "--index-dir", str(index_dir), "--index", "field"]).stdout
    )
    assert (
        set(status) == set(cli_status)
        and status["files"] == cli_status["files"]
        and status["chunks"] == cli_status["chunks"]
    )
    sources = httpx.get(f"{server}api/sources").json()
    cli_sources = json.loads(
        CliRunner().invoke(cli, ["sources", "--json", "--index-dir", str(index_dir), "--index", "field"]).stdout
    )
    assert sources == cli_sources and any(s["path"].endswith("water.pdf") for s in sources)


def test_a_page_of_another_site_can_neither_write_nor_read(server, browser, index_dir, tmp_path):
    """The attacks of a website the user happens to visit, in a real browser: a no-cors upload,
    a no-cors answer request, a cross-origin read, and a DNS-rebinding read (the attacker's
    name resolving to this machine). Nothing is written or read; each fails without its check
    (Origin/CSRF for the writes, Host for the rebinding)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>cat pictures</title><p>cats</p>", encoding="utf-8")
    other = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        browser.open(f"http://127.0.0.1:{other.server_port}/")
        attack = """(async (target) => {
          const out = {};
          const form = new FormData();
          form.append('files', new File(['# Planted\\n\\nThe evacuation point is the old quarry by the lake.\\n'], 'planted.md'));
          try { await fetch(target + 'api/ingest?index=field', {method: 'POST', mode: 'no-cors', body: form}); out.upload = 'sent'; }
          catch (e) { out.upload = 'failed'; }
          try { await fetch(target + 'api/ask', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
                body: JSON.stringify({question: 'Where is the evacuation point?'})}); out.ask = 'sent'; }
          catch (e) { out.ask = 'failed'; }
          try { const r = await fetch(target + 'api/search?q=boil+water'); out.read = await r.text(); }
          catch (e) { out.read = 'blocked'; }
          return JSON.stringify(out);
        })"""
        out = json.loads(browser.evaluate(f"{attack}({json.dumps(server)})"))
        assert out["read"] == "blocked", "no CORS: the other site cannot read a reply"
        time.sleep(1)
        assert not (index_dir / ".uploads" / "field" / "planted.md").exists(), "nothing is written"
        hits = httpx.get(f"{server}api/search", params={"q": "evacuation point quarry lake", "k": 3}).json()["hits"]
        assert not [h for h in hits if h["source"].endswith("planted.md")]

        port = server.rsplit(":", 1)[1].strip("/")
        browser.open(f"http://rebind.attacker.example:{port}/api/search?q=boil+water+altitude")
        shown = browser.evaluate("document.body.innerText")
        assert "does not answer to the name 'rebind.attacker.example'" in shown and "three minutes" not in shown
        status = browser.evaluate("fetch('/api/sources').then(r => r.status)")
        assert status == 421, "a rebinding page, same-origin in the browser's eyes, reads nothing"
    finally:
        other.shutdown()
        browser.requested.clear()


def test_a_foreign_host_header_is_refused_and_an_allowed_one_answered(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model, "--allow-host", "docs.lan")
    try:
        port = url.rsplit(":", 1)[1].strip("/")
        foreign = httpx.get(
            f"{url}api/search", params={"q": "water"}, headers={"Host": f"rebind.attacker.example:{port}"}
        )
        assert (
            foreign.status_code == 421 and "--allow-host rebind.attacker.example" in foreign.json()["error"]["message"]
        )
        allowed = httpx.get(f"{url}api/search", params={"q": "water"}, headers={"Host": f"docs.lan:{port}"})
        assert allowed.status_code == 200 and allowed.json()["hits"]
        assert foreign.headers["x-content-type-options"] == "nosniff"
        assert allowed.headers["cross-origin-resource-policy"] == "same-origin"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_openai_client_gets_openai_errors_real_usage_and_its_options_honoured(server):
    import openai
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}v1", api_key="unused", max_retries=0)
    ask = [{"role": "user", "content": QUESTION}]
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=ask)
    assert (caught.value.code, caught.value.param) == ("model_not_found", "model")
    for extra, param in (
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}, "tools"),
        ({"logprobs": True}, "logprobs"),
        ({"max_tokens": -1}, "max_tokens"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(**{"model": "field", "messages": ask, **extra})
        assert caught.value.param == param and caught.value.body["type"] == "invalid_request_error", extra
    assert client.models.retrieve("field").id == "field"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")
    broken = httpx.post(
        f"{server}v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.headers["content-type"] == "application/json"
    assert "not valid JSON" in broken.json()["error"]["message"]

    limited = client.chat.completions.create(
        model="field",
        messages=[{"role": "system", "content": "Reply in one short sentence."}, *ask],
        max_tokens=6,
        temperature=0.8,
        seed=5,
    )
    usage, rag = limited.usage, limited.model_extra["rag"]
    assert usage.prompt_tokens > 100 and 0 < usage.completion_tokens <= 6
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert limited.choices[0].finish_reason == "length"
    assert rag["abstained"] or limited.choices[0].message.model_extra["sources"], "a shown answer has its sources"

    stream = client.chat.completions.create(
        model="field", messages=ask, stream=True, stream_options={"include_usage": True}, max_tokens=8
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0, "the usage chunk comes last"
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")


def test_any_bytes_as_a_token_are_refused_with_401(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model, "--token", "s3cret")
    try:
        for headers, params in (
            ({"Authorization": b"Bearer \xc3\xa9"}, {}),
            ({"Authorization": b"Bearer \xff\xfe"}, {}),
            ({}, {"token": "é"}),
        ):
            response = httpx.get(f"{url}api/indexes", headers=headers, params=params)
            assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_asks_for_the_token_and_keeps_it_out_of_the_address_bar(index_dir, tiny_model, browser):
    process, url = _start(index_dir, tiny_model, "--token", "s3cret")
    try:
        browser.open(url)
        browser.wait_for("!document.getElementById('token-form').hidden")
        assert "needs its token" in browser.evaluate("document.getElementById('token-message').textContent")
        browser.evaluate("document.getElementById('token').value = 's3cret'")
        browser.evaluate("document.getElementById('token-form').requestSubmit()")
        browser.wait_for("document.querySelectorAll('#index option').length === 1")
        browser.evaluate("sessionStorage.clear()")
        browser.open(f"{url}?token=s3cret&index=field")
        browser.wait_for("document.querySelectorAll('#index option').length === 1")
        assert browser.evaluate("location.search") == "?index=field", "the token is read, then removed"
    finally:
        browser.evaluate("sessionStorage.clear()")
        process.terminate()
        process.wait(timeout=30)


def test_long_and_non_latin_upload_names_round_trip(server, index_dir):
    name = "דוח " + "א" * 121 + ".md"  # 248 bytes: too long once written under a temporary name
    files = [("files", (name, b"# Ledger\n\nThe ledger is kept in the blue cabinet.\n", "text/markdown"))]
    with httpx.stream("POST", f"{server}api/ingest", files=files, headers=_csrf(server), timeout=300) as response:
        assert response.status_code == 200
        events = _sse(response)
    saved = events[0][1]["files"][0]
    assert saved.startswith("דוח אאא") and saved.endswith(".md") and len(saved.encode()) <= 200
    assert events[-1][0] == "done" and events[-1][1]["added"] == 1, events
    hits = httpx.get(f"{server}api/search", params={"q": "ledger blue cabinet", "k": 1}).json()["hits"]
    assert hits[0]["source"].endswith(saved)
    refused = httpx.post(f"{server}api/ingest", files=files)
    assert refused.status_code == 403 and "X-Rag-CSRF" in refused.json()["error"]["message"], "no CSRF header"


def test_mcp_errors_carry_their_message_progress_comes_during_ask(server):
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    async def session():
        heard: list[str] = []

        async def on_progress(progress, total, message):
            heard.append(message or "")

        async with Client(f"{server}mcp") as client:
            version = client.server_info.version
            bad = await client.call_tool("search", {"query": "radio", "index": "nope"})
            answered = await client.call_tool("ask", {"question": QUESTION}, progress_callback=on_progress)
            try:
                await client.get_prompt("nope")
                code = None
            except MCPError as exc:
                code = exc.code
        return version, bad, answered, heard, code

    version, bad, answered, heard, code = asyncio.run(session())
    assert version and version != "0"
    assert (
        bad.is_error
        and "no index 'nope'" in bad.content[0].text
        and "rag ingest PATH --index nope" in bad.content[0].text
    )
    assert not answered.is_error and json.loads(answered.content[0].text)["evidence"]["page"] == 2
    assert any(m.startswith("Evidence: “") and "three minutes" in m for m in heard), heard
    assert any(m.startswith("writing the answer") for m in heard), heard
    assert code == -32602


def test_mcp_on_a_network_address_with_its_token(index_dir, tiny_model):
    """--host 0.0.0.0: /mcp answers at this machine's network address (not only 127.0.0.1),
    with the token, by the SDK's own client."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    process, url = _start(index_dir, tiny_model, "--host", "0.0.0.0")
    try:
        token = (index_dir / ".serve-token").read_text().strip()
        port = url.rsplit(":", 1)[1].strip("/")
        address = next((a for a in _network_addresses() if not a.startswith("127.")), "127.0.0.1")
        endpoint = f"http://{address}:{port}/mcp"

        async def session(headers):
            async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
                async with Client(streamable_http_client(endpoint, http_client=http)) as client:
                    return await client.call_tool("search", {"query": "radio channel", "k": 1})

        found = asyncio.run(session({"Authorization": f"Bearer {token}"}))
        assert not found.is_error and "channel 16" in found.content[0].text
        denied = httpx.post(endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert denied.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)


def _network_addresses() -> list[str]:
    from rag.serve.security import addresses_to_open

    return [u.split("//")[1].rsplit(":", 1)[0] for u in addresses_to_open("0.0.0.0", 1)]


def test_mcp_over_stdio_reports_a_tool_error_with_its_message(index_dir, tiny_model):
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rag", "mcp", "--index", "field", "--model", str(tiny_model)],
        env=_env(index_dir, 16),
    )

    async def session():
        async with Client(params) as client:
            return await client.call_tool("search", {"query": "", "k": 1})

    result = asyncio.run(session())
    assert result.is_error and result.content[0].text == "the query is empty: give the words to search for"


def test_a_client_that_leaves_frees_the_model_at_once(index_dir, tiny_model):
    """An answer whose client disconnects (a closed stream, a request given up) stops: the next
    question's evidence comes at once, not after the abandoned answer's 1,500 tokens."""
    process, url = _start(index_dir, tiny_model, answer_tokens=1500)
    try:
        httpx.post(f"{url}api/ask", json={"question": QUESTION}, timeout=300).raise_for_status()  # the model loaded
        long = {
            "question": QUESTION + " Explain every step in great detail, then repeat all the passages word by word."
        }

        def evidence_after(leave) -> float:
            leave()
            started = time.monotonic()
            with httpx.stream("POST", f"{url}api/ask", json={"question": QUESTION}, timeout=120) as response:
                for line in response.iter_lines():
                    if line.startswith("event: evidence"):
                        return time.monotonic() - started
            raise AssertionError("no evidence")

        def close_a_stream() -> None:
            with httpx.stream("POST", f"{url}api/ask", json=long, timeout=120) as response:
                for line in response.iter_lines():
                    if line.startswith("event: text"):
                        return  # leaving the block closes the connection mid-answer

        def give_up_a_request() -> None:
            body = {"model": "field", "messages": [{"role": "user", "content": long["question"]}]}
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(f"{url}v1/chat/completions", json=body, timeout=4)

        assert evidence_after(close_a_stream) < 2.5
        assert evidence_after(give_up_a_request) < 2.5
    finally:
        process.terminate()
        process.wait(timeout=30)

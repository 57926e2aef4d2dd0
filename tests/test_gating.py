"""No sentence that fails its check reaches any reader: the CLI, the page (its SSE and what it
shows), the OpenAI stream and MCP. The server here withholds every drafted sentence
(min_verified = 1: no P(right) reaches it), so each face is seen to send none of the draft."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from click.testing import CliRunner
from test_server import QUESTION, _sse, _start, field_index

from rag.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return field_index(tmp_path_factory.mktemp("gating"))


@pytest.fixture(scope="module")
def server(index_dir, tiny_model):
    process, url = _start(index_dir, tiny_model, answer_tokens=40, env_extra={"RAG_MIN_VERIFIED": "1"})
    yield url
    process.terminate()
    process.wait(timeout=30)


def _withheld(answer: dict) -> list[str]:
    held = [s["text"] for s in answer["sentences"] if not s["shown"]]
    assert held and answer["draft"], "the model drafted a sentence, and the check withheld it"
    return held


def test_the_page_s_stream_carries_no_withheld_sentence(server):
    with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=300) as response:
        events = _sse(response)
    done = events[-1][1]
    sent = "".join(data["text"] for kind, data in events if kind == "text")
    assert sent == done["answer"]
    for sentence in _withheld(done):
        assert sentence not in sent


def test_the_openai_stream_carries_no_withheld_sentence(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}v1", api_key="unused")
    chunks = list(
        client.chat.completions.create(model="field", messages=[{"role": "user", "content": QUESTION}], stream=True)
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    answer = chunks[-1].model_extra["rag"]
    for sentence in _withheld(answer):
        assert sentence not in content


def test_mcp_ask_and_its_progress_carry_no_withheld_sentence(server):
    from mcp import Client

    async def session():
        heard = []

        async def on_progress(progress, total, message):
            heard.append(message or "")

        async with Client(f"{server}mcp") as client:
            result = await client.call_tool("ask", {"question": QUESTION}, progress_callback=on_progress)
        return json.loads(result.content[0].text), heard

    answer, heard = asyncio.run(session())
    shown = answer["answer"] + "\n".join(heard)
    with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=300) as response:
        withheld = _withheld(_sse(response)[-1][1])
    for sentence in withheld:
        assert sentence not in shown


def test_the_page_never_shows_a_withheld_sentence(server, tmp_path):
    from browser import Browser

    browser = Browser()
    try:
        browser.open(server)
        browser.wait_for("document.querySelectorAll('#index option').length === 1")
        browser.evaluate(  # everything the answer ever showed, as it streamed
            "window.seen = []; new MutationObserver(() => document.querySelectorAll('.answer')"
            ".forEach(a => window.seen.push(a.textContent))).observe(document.getElementById('conversation'),"
            " {subtree: true, childList: true, characterData: true}); true"
        )
        browser.evaluate(f"document.getElementById('question').value = {json.dumps(QUESTION)}")
        browser.evaluate("document.getElementById('ask-form').requestSubmit()")
        browser.wait_for("document.querySelector('.turn.done') !== null")
        seen = "\n".join(browser.evaluate("window.seen"))
    finally:
        browser.close()
    with httpx.stream("POST", f"{server}api/ask", json={"question": QUESTION}, timeout=300) as response:
        withheld = _withheld(_sse(response)[-1][1])
    assert seen
    for sentence in withheld:
        assert sentence not in seen


def test_rag_ask_prints_no_withheld_sentence(index_dir, tiny_model, monkeypatch):
    monkeypatch.setenv("RAG_MIN_VERIFIED", "1")
    monkeypatch.setenv("RAG_MIN_ANSWERABLE", "0")
    monkeypatch.setenv("RAG_MAX_ANSWER_TOKENS", "40")
    flags = ["--index-dir", str(index_dir), "--index", "field", "--model", str(tiny_model)]
    printed = CliRunner().invoke(cli, ["ask", QUESTION, *flags])
    assert printed.exit_code == 0, printed.output
    answer = json.loads(CliRunner().invoke(cli, ["ask", QUESTION, *flags, "--json"]).stdout)
    for sentence in _withheld(answer):
        assert sentence not in printed.stdout

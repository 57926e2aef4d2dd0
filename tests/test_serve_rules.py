"""The server's rules as pure logic: who may call it (rag.serve.security), what a chat request
may hold (rag.serve.openai), what an uploaded name becomes (rag.serve.uploads), how the
queue tells places. The same rules are driven through a real server and real clients in
tests/test_server.py."""

from __future__ import annotations

import asyncio

import pytest

from rag.serve.http import BadRequest
from rag.serve.openai import parse_chat_request
from rag.serve.queue import AnswerQueue
from rag.serve.security import Hosts, Policy, problem, same_token
from rag.serve.uploads import MAX_NAME_BYTES, safe_upload_name


def scope(method="GET", path="/api/search", host="127.0.0.1:8765", query=b"", **headers):
    pairs = [(b"host", host.encode())] if host is not None else []
    pairs += [(k.replace("_", "-").encode(), v.encode("latin-1")) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": pairs}


LOOPBACK = Policy(Hosts.for_bind("127.0.0.1"), None, "csrf-1")
NETWORK = Policy(Hosts.for_bind("0.0.0.0", ["rag.lan"]), "tok", "csrf-2")


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.1", "LOCALHOST:1"])
def test_loopback_names_are_answered(host):
    assert problem(scope(host=host), LOOPBACK) is None


@pytest.mark.parametrize("host", ["rebind.attacker.example:8765", "192.168.1.5:8765", "", None, "rag.lan:8765"])
def test_other_names_get_421_on_loopback(host):
    status, message = problem(scope(host=host), LOOPBACK)
    assert status == 421 and "--allow-host" in message


def test_on_a_network_any_ip_and_the_given_names_are_answered_but_no_other_name():
    ok = {"authorization": "Bearer tok"}
    for host in ("192.168.1.5:8765", "10.0.0.2", "[fe80::1]:8765", "rag.lan:8765", "localhost:8765"):
        assert problem(scope(host=host, **ok), NETWORK) is None, host
    assert problem(scope(host="evil.example:8765", **ok), NETWORK)[0] == 421


def test_cross_origin_writes_are_refused_same_origin_and_non_browser_ones_pass():
    json = {"content_type": "application/json"}
    assert problem(scope("POST", "/api/ask", **json), LOOPBACK) is None, "no Origin: a client that is not a browser"
    same = problem(scope("POST", "/api/ask", origin="http://127.0.0.1:8765", **json), LOOPBACK)
    assert same is None
    other = problem(scope("POST", "/api/ask", origin="http://127.0.0.1:9999", **json), LOOPBACK)
    assert other[0] == 403 and "another site" in other[1]
    assert problem(scope("POST", "/v1/chat/completions", origin="null", **json), LOOPBACK)[0] == 403
    site = problem(scope("POST", "/mcp", sec_fetch_site="cross-site", **json), LOOPBACK)
    assert site[0] == 403


def test_an_upload_needs_the_csrf_token_since_multipart_is_a_simple_request():
    form = {"content_type": "multipart/form-data; boundary=x"}
    no_token = problem(scope("POST", "/api/ingest", origin="http://127.0.0.1:8765", **form), LOOPBACK)
    assert no_token[0] == 403 and "X-Rag-CSRF" in no_token[1]
    assert problem(scope("POST", "/api/ingest", **form), LOOPBACK)[0] == 403, "a script reads it from /api/session"
    assert problem(scope("POST", "/api/ingest", x_rag_csrf="csrf-1", **form), LOOPBACK) is None
    assert problem(scope("POST", "/api/ingest", x_rag_csrf="csrf-2", **form), LOOPBACK)[0] == 403
    text = problem(scope("POST", "/api/ask", content_type="text/plain"), LOOPBACK)
    assert text[0] == 403, "JSON sent as text/plain (a no-cors fetch) is refused"


@pytest.mark.parametrize("given", ["Bearer é", "Bearer \u00c3\u00a9", "Bearer ", "Basic dG9rCg==", "Bearer tok2"])
def test_any_bytes_in_a_token_are_a_wrong_token_not_an_error(given):
    status, message = problem(scope(authorization=given), NETWORK)
    assert status == 401 and "Authorization: Bearer" in message
    assert problem(scope(query=b"token=%C3%A9"), NETWORK)[0] == 401
    assert problem(scope(query=b"token=tok"), NETWORK) is None
    assert problem(scope(path="/", host="192.168.1.5"), NETWORK) is None, "the page itself loads and asks for it"
    assert not same_token("\udce9", "tok")


MODELS = ["field", "notes"]


def chat(**body):
    return parse_chat_request(
        {"model": "field", "messages": [{"role": "user", "content": "Q?"}], **body}, MODELS, "field"
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "messages"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"seed": 1.5}, "seed"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": 7}, "stop"),
        ({"stream": "yes"}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"logprobs": True}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"model": 5}, "model"),
    ],
)
def test_a_malformed_chat_request_names_its_field(body, param):
    with pytest.raises(BadRequest) as caught:
        chat(**body)
    assert caught.value.status == 400 and caught.value.param == param, str(caught.value)


def test_an_unknown_model_is_404_model_not_found():
    with pytest.raises(BadRequest) as caught:
        chat(model="gpt-4o")
    assert (caught.value.status, caught.value.code, caught.value.param) == (404, "model_not_found", "model")
    assert "field, notes" in str(caught.value)


def test_a_chat_request_reaches_the_engine_with_its_options_history_and_instructions():
    request = parse_chat_request(
        {
            "model": "notes",
            "messages": [
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Q1"},
                {"role": "assistant", "content": "A1"},
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": [{"type": "text", "text": "Q2"}]},
            ],
            "max_tokens": 50,
            "stop": "\n\n",
            "temperature": 0.7,
            "top_p": 0.9,
            "seed": 11,
            "n": 1,
            "tools": [],
            "user": "someone",
            "stream": True,
            "stream_options": {"include_usage": True},
            "rag": {"sources": False},
        },
        MODELS,
        "field",
    )
    assert (request.model, request.question, request.history) == ("notes", "Q2", [("Q1", "A1")])
    assert request.options.max_tokens == 50 and request.options.instructions == "Answer in French.\nBe brief."
    sampling = request.options.sampling
    assert (sampling.temperature, sampling.top_p, sampling.seed, sampling.stop) == (0.7, 0.9, 11, ("\n\n",))
    assert request.stream and request.include_usage and not request.with_sources
    assert chat(model="").model == "field", "no model: the served index"
    assert chat(max_completion_tokens=9).options.max_tokens == 9


def test_long_and_non_latin_upload_names_keep_their_extension_and_fit_any_file_system():
    hebrew = "א" * 121 + ".pdf"  # 246 bytes: with the temporary suffix, over the 255 a file system holds
    stored = safe_upload_name(hebrew)
    assert stored.endswith(".pdf") and len(stored.encode()) <= MAX_NAME_BYTES and stored.startswith("א" * 40)
    long = "report-" + "x" * 300 + ".html.gz"
    assert safe_upload_name(long).endswith(".html.gz") and len(safe_upload_name(long).encode()) <= MAX_NAME_BYTES
    assert safe_upload_name("a" * 250 + "1.md") != safe_upload_name("a" * 250 + "2.md"), "two long names stay two"
    assert safe_upload_name("../../evil/notes.md") == "notes.md" and safe_upload_name(".hidden") == "hidden"
    assert safe_upload_name("ok name.docx") == "ok name.docx"


def test_a_waiting_request_hears_its_place_at_once_and_as_it_moves():
    async def scenario():
        queue = AnswerQueue()
        heard: dict[str, list[int]] = {"a": [], "b": [], "c": []}
        turn = {name: asyncio.Event() for name in heard}
        release = {name: asyncio.Event() for name in heard}

        async def request(name):
            async with queue.ticket() as ticket:
                async for place in queue.places(ticket):
                    heard[name].append(place)
                turn[name].set()
                await release[name].wait()

        tasks = [asyncio.create_task(request("a"))]
        await turn["a"].wait()
        for name in "bc":
            tasks.append(asyncio.create_task(request(name)))
            await asyncio.sleep(0.01)
        assert heard == {"a": [], "b": [1], "c": [2]}, "each hears its place before the answer ahead ends"
        release["a"].set()
        await turn["b"].wait()
        await asyncio.sleep(0.01)
        assert heard["c"] == [2, 1], "and hears it move"
        release["b"].set()
        release["c"].set()
        await asyncio.gather(*tasks)
        return queue.waiting

    assert asyncio.run(scenario()) == 0

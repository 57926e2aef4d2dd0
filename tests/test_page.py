"""The page of `rag serve` as a daily tool, in a real headless Chromium against a real server:
conversations kept across a reload, Stop, the queue's place, the documents panel (forget,
scoped questions, a file's summary), and the trip-ups found by people using it."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from test_server import QUESTION, _start, field_index

pytestmark = pytest.mark.slow

LONG = QUESTION + " Explain every step in great detail, then repeat all the passages word by word."


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    tent = "# Tent\n\nThe tent pegs are in the red bag under the boat.\n"
    return field_index(tmp_path_factory.mktemp("page"), {"tent.md": tent})


@pytest.fixture(scope="module")
def server(index_dir, tiny_model):
    """Answers of up to 1,500 tokens, so that one can be stopped while it streams."""
    process, url = _start(index_dir, tiny_model, answer_tokens=1500, env_extra={"RAG_MAX_FILE_MB": "1"})
    httpx.post(f"{url}api/ask", json={"question": QUESTION}, timeout=300).raise_for_status()  # the model loaded
    yield url
    process.terminate()
    process.wait(timeout=30)


def _fresh(browser, server) -> None:
    """The page opened anew, with no conversation kept from an earlier test."""
    browser.open(server)
    browser.evaluate("localStorage.clear(); true")
    browser.open(server)
    browser.wait_for("document.querySelectorAll('#index option').length === 1")


def _ask(browser, question: str) -> None:
    browser.evaluate(f"document.getElementById('question').value = {json.dumps(question)}")
    browser.evaluate("document.getElementById('ask-form').requestSubmit()")


def test_a_reload_restores_the_conversation_and_the_list_keeps_it(server, browser):
    _fresh(browser, server)
    _ask(browser, QUESTION)
    browser.wait_for("document.querySelectorAll('.turn.done').length === 1")
    answer = browser.evaluate("document.querySelector('.answer').textContent")
    stages = browser.evaluate("[...document.querySelectorAll('.turn .timings li')].map(li => li.textContent)")
    assert stages[0].endswith("passages found") and any(s.endswith("done") for s in stages), stages
    assert browser.evaluate("document.querySelector('.turn .timings summary').textContent").startswith(
        "Where the time went"
    )
    browser.open(server)  # a reload
    browser.wait_for("document.querySelectorAll('.turn.done').length === 1")
    assert browser.evaluate("document.querySelector('.question').textContent") == QUESTION
    assert browser.evaluate("document.querySelector('.answer').textContent") == answer
    assert browser.evaluate("document.querySelectorAll('#conversation-list li').length") == 1
    browser.evaluate("document.getElementById('new-conversation').click()")
    assert browser.evaluate("document.querySelectorAll('.turn').length") == 0
    assert browser.evaluate("document.querySelectorAll('#conversation-list li').length") == 1
    browser.evaluate("document.querySelector('#conversation-list .title').click()")
    assert browser.evaluate("document.querySelectorAll('.turn.done').length") == 1, "reopened from the list"


def test_stop_ends_the_answer_and_the_next_question_starts_at_once(server, browser):
    _fresh(browser, server)
    _ask(browser, LONG)
    browser.wait_for("document.querySelector('.answer') && document.querySelector('.answer').textContent.length > 0")
    browser.evaluate("document.getElementById('stop-button').click()")
    assert browser.evaluate("document.getElementById('ask-button').hidden") is False
    assert "Stopped." in browser.evaluate("document.querySelector('.turn').textContent")
    browser.evaluate("window.asked = performance.now(); true")
    _ask(browser, QUESTION)
    browser.wait_for("document.querySelectorAll('.turn')[1].querySelector('.evidence') !== null", timeout=30)
    waited = browser.evaluate("performance.now() - window.asked") / 1000
    assert waited < 2.0, f"the next question's evidence came {waited:.1f} s after it was asked"
    browser.wait_for("document.querySelectorAll('.turn.done').length === 2")
    history = browser.evaluate(
        "JSON.parse(localStorage.getItem('rag-conversations'))[0].turns.filter(t => !t.stopped).length"
    )
    assert history == 1, "a stopped answer does not join the history the next question carries"


def test_a_second_reader_sees_their_place_at_once(server, browser):
    _fresh(browser, server)
    done = threading.Event()

    def first_reader() -> None:
        with httpx.stream("POST", f"{server}api/ask", json={"question": LONG}, timeout=300) as response:
            for line in response.iter_lines():
                if done.is_set() or line.startswith("event: done"):
                    return  # leaving closes the stream: the server stops that answer

    first = threading.Thread(target=first_reader, daemon=True)
    first.start()
    try:
        time.sleep(1.5)  # the first answer holds the model
        browser.evaluate("window.asked = performance.now(); true")
        _ask(browser, QUESTION)
        browser.wait_for(
            "document.querySelector('.queue') && document.querySelector('.queue').textContent.includes('ahead')"
        )
        assert browser.evaluate("performance.now() - window.asked") < 1500, "the place is told at once"
        assert "1 answer(s) ahead" in browser.evaluate("document.querySelector('.queue').textContent")
    finally:
        done.set()
        browser.evaluate("document.getElementById('stop-button').click()")
        first.join(60)


def test_new_conversation_while_streaming_drops_that_turn_and_frees_ask(server, browser):
    _fresh(browser, server)
    _ask(browser, LONG)
    browser.wait_for("document.querySelector('.answer') && document.querySelector('.answer').textContent.length > 0")
    browser.evaluate("document.getElementById('new-conversation').click()")
    assert browser.evaluate("document.querySelectorAll('.turn').length") == 0
    assert browser.evaluate("document.getElementById('ask-button').hidden") is False, "Ask is usable at once"
    browser.evaluate(
        "window.asked = []; const send = window.fetch; window.fetch = (url, options) => {"
        " if (String(url).startsWith('/api/ask')) window.asked.push(JSON.parse(options.body));"
        " return send(url, options); }; true"
    )
    _ask(browser, QUESTION)
    browser.wait_for("document.querySelectorAll('.turn.done').length === 1")
    assert browser.evaluate("window.asked[0].history") == [], "the dropped turn is not in the new conversation"


def test_documents_panel_scopes_questions_summarises_and_forgets(server, browser, index_dir):
    _fresh(browser, server)
    browser.evaluate("document.getElementById('tab-documents').click()")
    browser.wait_for("document.querySelectorAll('#document-list li').length === 3")
    rows = browser.evaluate("[...document.querySelectorAll('#document-list li')].map(li => li.textContent)")
    assert any("water.pdf" in r and "2 pages" in r for r in rows), rows
    _ask(browser, "Summarise water.pdf")
    browser.wait_for("document.querySelectorAll('.turn.done').length === 1")
    links = browser.evaluate("[...document.querySelectorAll('.turn .sources a')].map(a => a.textContent)")
    assert links and all("water.pdf" in link for link in links), links
    assert "Key points of water.pdf" in browser.evaluate("document.querySelector('.answer').textContent")

    browser.evaluate(  # tick tent.md: the next search goes to it only
        "[...document.querySelectorAll('#document-list li')].find(li => li.textContent.includes('tent.md'))"
        ".querySelector('input').click()"
    )
    assert "tent.md only" in browser.evaluate("document.getElementById('scope-note').textContent")
    browser.evaluate("document.getElementById('search-only').checked = true")
    _ask(browser, "boil water altitude")
    browser.wait_for("document.querySelectorAll('.turn.done').length === 2")
    found = browser.evaluate(
        "[...document.querySelectorAll('.turn')[1].querySelectorAll('.sources a')].map(a => a.textContent)"
    )
    assert found and all("tent.md" in f for f in found), found

    browser.evaluate("window.confirm = () => true; true")
    browser.evaluate(
        "[...document.querySelectorAll('#document-list li')].find(li => li.textContent.includes('radio.md'))"
        ".querySelector('button').click()"
    )
    browser.wait_for("document.querySelectorAll('#document-list li').length === 2")
    assert "Forgot radio.md" in browser.evaluate("document.getElementById('documents-status').textContent")
    hits = httpx.get(f"{server}api/search", params={"q": "radio check-ins channel", "k": 5}).json()["hits"]
    assert not [h for h in hits if h["source"].endswith("radio.md")], "its passages are gone from answers"
    assert (index_dir.parent / "docs" / "radio.md").exists(), "the file itself stays"


def test_uploads_list_only_their_own_skips_and_say_why_they_failed(server, browser):
    _fresh(browser, server)

    def pick(files: str) -> None:
        browser.evaluate(
            f"{{ const picked = new DataTransfer(); {files}"
            " const input = document.getElementById('files'); input.files = picked.files;"
            " input.dispatchEvent(new Event('change')); } true"
        )

    long = "field-notes-" + "x" * 180 + ".md"
    for turn in (1, 2):
        pick(
            "picked.items.add(new File(['not a document'], 'notes.xyz'));"
            f" picked.items.add(new File(['# Notes\\n\\nThe spare oar is on the roof.\\n'], {json.dumps(long)}));"
        )
        browser.wait_for(f"document.querySelectorAll('.turn.done').length === {turn}")
        text = browser.evaluate(f"document.querySelectorAll('.turn')[{turn - 1}].textContent")
        assert "skipped 1" in text and "notes.xyz: unsupported file type" in text, text
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "a long name wraps"
    pick("picked.items.add(new File([new Uint8Array(2 * 1024 * 1024)], 'huge.txt'));")
    browser.wait_for(
        "document.querySelectorAll('.turn').length === 3 && !document.querySelectorAll('.turn')[2].textContent.includes('Uploading')"
    )
    assert "The upload failed: huge.txt is larger than 1 MB" in browser.evaluate(
        "document.querySelectorAll('.turn')[2].textContent"
    )


def test_answers_read_as_answers_sources_once_markdown_and_the_closest_passage_labelled(server, browser):
    _fresh(browser, server)
    nodes = browser.evaluate(
        "(() => { const box = document.createElement('div');"
        " box.append(markdown('Run `gnuplot -p` first.\\n- one <b>x</b>\\n- two\\n\\n```\\nplot sin(x)\\n```'));"
        " return [box.querySelector('code').textContent, box.querySelectorAll('ul li').length,"
        " box.querySelector('pre').textContent, box.querySelector('b') === null,"
        " box.textContent.includes('<b>x</b>')]; })()"
    )
    assert nodes == ["gnuplot -p", 2, "plot sin(x)", True, True], "Markdown rendered, HTML kept as text"
    evidence = {
        "text": "Boil water for one minute.",
        "source": "/d/water.pdf",
        "file": "0" * 16,
        "page": 2,
        "heading": "",
        "chunk": 1,
        "ocr": False,
    }
    kept = [
        {
            "id": "c1",
            "title": "t",
            "index": "field",
            "created": 0,
            "turns": [
                {
                    "question": "Which radio brand?",
                    "answer": "The documents do not contain an answer to this question.",
                    "abstained": True,
                    "done": True,
                    "evidence": evidence,
                    "sources": [],
                },
                {
                    "question": "How long?",
                    "standalone": "How long should water boil?",
                    "answer": "Three minutes [1].",
                    "done": True,
                    "evidence": evidence,
                    "sources": [
                        {
                            "n": 1,
                            "source": "/d/water.pdf",
                            "file": "0" * 16,
                            "page": 2,
                            "heading": "",
                            "chunk": 1,
                            "text": "x",
                            "cited": True,
                        }
                    ],
                },
            ],
        }
    ]
    browser.evaluate(
        f"localStorage.setItem('rag-conversations', {json.dumps(json.dumps(kept))}); localStorage.setItem('rag-conversations-open', 'c1'); true"
    )
    browser.open(server)
    browser.wait_for("document.querySelectorAll('.turn.done').length === 2")
    labels = browser.evaluate("[...document.querySelectorAll('.evidence .label')].map(l => l.textContent)")
    assert labels == ["Closest passage (it does not state the answer)", "Your documents say"]
    assert browser.evaluate("document.querySelectorAll('.turn')[1].querySelector('.rewrite').textContent") == (
        "Understood as: How long should water boil?"
    ), "the rewritten question stays once the answer is there"
    item = browser.evaluate("document.querySelector('.sources li').textContent")
    assert (
        item.startswith("[1] water.pdf, p. 2")
        and browser.evaluate("getComputedStyle(document.querySelector('.sources')).listStyleType") == "none"
    ), "one number per source"


def test_screenshots_of_the_panels_at_desktop_and_phone_size(server, browser, tmp_path):
    """docs/page-*.png are made by docs/screenshot.py on the demo index; here the same layout is
    checked: the panel beside the answers on a desktop, over them (opened by ☰) on a phone."""
    _fresh(browser, server)
    browser.evaluate("document.getElementById('tab-documents').click()")
    browser.wait_for("document.querySelectorAll('#document-list li').length >= 1")
    assert browser.evaluate("getComputedStyle(document.getElementById('panel')).display") != "none"
    browser.screenshot(tmp_path / "desktop.png")
    browser.phone()
    try:
        browser.open(server)
        browser.wait_for("document.querySelectorAll('#index option').length === 1")
        assert browser.evaluate("getComputedStyle(document.getElementById('panel')).display") == "none"
        browser.evaluate("document.getElementById('panel-toggle').click()")
        assert browser.evaluate("getComputedStyle(document.getElementById('panel')).display") == "block"
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        browser.screenshot(tmp_path / "phone.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert (tmp_path / "desktop.png").stat().st_size > 10_000 and (tmp_path / "phone.png").stat().st_size > 10_000

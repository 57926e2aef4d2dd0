"""Make the README's and docs' pictures of `rag serve` on the demo index (bash run.sh demo builds it)
with the default model, in a real headless Chromium. Run from the repository root:

    .venv/bin/python docs/screenshot.py

docs/serve-page.png     the page at desktop size: a checked answer, its evidence and sources
docs/page-documents.png the documents panel beside a conversation
docs/page-phone.png     the page at phone size, the panel opened over it
"""

import os
import subprocess
import sys
import threading

sys.path.insert(0, "tests")
from browser import Browser

port = 8799
env = dict(os.environ, RAG_INDEX_DIR="indexes")
p = subprocess.Popen(
    [".venv/bin/rag", "serve", "--index", "demo", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
)
while True:
    line = p.stderr.readline()
    if "Serving" in line:
        break
threading.Thread(target=p.stderr.read, daemon=True).start()
b = Browser()
try:
    b.open(f"http://127.0.0.1:{port}/")
    b.evaluate("localStorage.clear(); true")
    b.open(f"http://127.0.0.1:{port}/")
    b.wait_for("document.querySelectorAll('#index option').length >= 1")
    for question in ("How long should water be boiled at high altitude?", "Summarise first-aid.md"):
        b.evaluate(f"document.getElementById('question').value = {question!r}")
        b.evaluate("document.getElementById('ask-form').requestSubmit()")
        b.wait_for(
            "document.querySelectorAll('.turn.done').length === " + ("1" if "boiled" in question else "2"), timeout=600
        )
    b.evaluate("window.scrollTo(0, 0); true")
    b.screenshot("docs/serve-page.png")
    b.evaluate("document.getElementById('tab-documents').click()")
    b.wait_for("document.querySelectorAll('#document-list li').length >= 1")
    b.screenshot("docs/page-documents.png")
    b.phone()
    b.open(f"http://127.0.0.1:{port}/")
    b.wait_for("document.querySelectorAll('.turn.done').length >= 1")
    b.evaluate("document.getElementById('panel-toggle').click()")
    b.screenshot("docs/page-phone.png")
finally:
    b.close()
    p.terminate()

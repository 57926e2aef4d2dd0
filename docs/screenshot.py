"""Make docs/serve-page.png, the README's picture: rag serve on the demo index (bash run.sh demo builds it)
with the default model, asked in a real headless Chromium. Run from the repository root:

    .venv/bin/python docs/screenshot.py
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
    b.wait_for("document.querySelectorAll('#index option').length >= 1")
    b.evaluate("document.getElementById('question').value = 'How long should water be boiled at high altitude?'")
    b.evaluate("document.getElementById('ask-form').requestSubmit()")
    b.wait_for("document.querySelector('.turn.done') !== null", timeout=300)
    b.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    b.screenshot("docs/serve-page.png")
finally:
    b.close()
    p.terminate()

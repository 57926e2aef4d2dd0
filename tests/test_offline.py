"""The whole ingest + ask run with networking blocked: nothing may try to connect anywhere."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_docx, make_pdf

from ingest.offline import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent

GUARD = """
import os, socket
_log = os.environ["NET_GUARD_LOG"]
_connect = socket.socket.connect
def _refuse(self, address, *args):
    if self.family != socket.AF_UNIX:
        with open(_log, "a") as log:
            log.write(repr(address) + "\\n")
        raise OSError(101, "Network is unreachable (blocked by test)")
    return _connect(self, address, *args)
socket.socket.connect = _refuse
socket.socket.connect_ex = lambda self, address: _refuse(self, address) or 0
_getaddrinfo = socket.getaddrinfo
def _no_dns(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1"):
        with open(_log, "a") as log:
            log.write("dns " + repr(host) + "\\n")
        raise socket.gaierror(-3, "DNS blocked by test")
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _no_dns
"""


def _can_unshare() -> bool:
    return (
        shutil.which("unshare") is not None
        and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    )


@pytest.mark.slow
def test_ingest_and_ask_with_network_blocked(tmp_path, model_cache, tiny_model):
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "manual.pdf", ["Intro.", "The spare fuel is stored in the blue shed behind the kitchen."])
    make_docx(docs / "plan.docx", [("h1", "Plan"), ("p", "Team meetings are on Mondays.")])
    (docs / "page.html").write_text("<h1>Birds</h1><p>Storks migrate in September.</p>", encoding="utf-8")
    (docs / "notes.md").write_text("# Notes\n\nThe gate code is changed monthly.\n", encoding="utf-8")
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "TRANSFORMERS_", "RAG_")) and key not in ("ANONYMIZED_TELEMETRY", "DO_NOT_TRACK")
    }
    env.update(
        PYTHONPATH=f"{guard_dir}{os.pathsep}{ROOT}",
        NET_GUARD_LOG=str(log),
        HOME=str(tmp_path / "home"),
        RAG_INDEX_DIR=str(tmp_path / "indexes"),
        RAG_CACHE_DIR=str(model_cache),
    )
    prefix = ["unshare", "-n"] if _can_unshare() else []
    rag = [sys.executable, "-m", "rag"]

    ingest = subprocess.run(
        prefix + rag + ["ingest", str(docs), "--json", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 4

    ask = subprocess.run(
        prefix + rag + ["ask", "Where is the spare fuel stored?", "--model", "smollm2-135m", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert ask.returncode == 0, ask.stderr
    result = json.loads(ask.stdout)
    assert result["sources"][0]["source"] == str(docs / "manual.pdf") and result["sources"][0]["page"] == 2
    assert not log.exists(), f"network access attempted: {log.read_text()}"


@pytest.mark.slow
def test_the_unstructured_fallback_classifies_text_with_the_packaged_spacy_model_offline(tmp_path):
    """Outlook .msg bodies go through unstructured, which loads spaCy's en_core_web_sm by name and
    downloads it from GitHub when that name is missing. The model ships as another package name;
    ingest/loaders/fallback.py points unstructured at it, so no download is ever tried."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    code = (  # what load_unstructured does before partitioning a .msg
        "from ingest.offline import enforce_offline\n"
        "enforce_offline()\n"
        "from ingest.loaders.fallback import use_packaged_spacy_model\n"
        "use_packaged_spacy_model()\n"
        "from unstructured.partition.text import partition_text\n"
        "elements = partition_text(text='Pump log\\n\\nThe seal was replaced by the field team on Monday morning.')\n"
        "print([type(e).__name__ for e in elements])\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in OFFLINE_ENVIRONMENT}
    env.update(PYTHONPATH=f"{guard_dir}{os.pathsep}{ROOT}", NET_GUARD_LOG=str(log))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "NarrativeText" in done.stdout
    assert not log.exists(), f"network access attempted: {log.read_text()}"

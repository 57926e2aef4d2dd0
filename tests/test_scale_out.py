"""Scaling out (issue #20) with the real engines: a Chroma server started by `chroma run`, and
llama-cpp-python's own OpenAI-compatible server for answers and for embeddings."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import make_pdf

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"{url} did not answer")


class Chroma:
    """`chroma run` on a folder and port of its own; stop() and start() keep both."""

    def __init__(self, path: Path):
        self.path, self.port = path, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> None:
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        command = [str(BIN / "chroma"), "run", "--path", str(self.path), "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(f"{self.url}/api/v2/heartbeat", self.process)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = Chroma(tmp_path_factory.mktemp("chroma"))
    server.start()
    yield server
    server.stop()


def _docs(folder: Path) -> Path:
    folder.mkdir()
    make_pdf(folder / "water.pdf", ["Treat all water.", "Boil water for three minutes above 2000 metres.", "Cool it."])
    (folder / "radio.md").write_text("# Radio\n\nCheck-ins happen at 08:00 on channel 16.\n", encoding="utf-8")
    (folder / "fuel.md").write_text("# Fuel\n\nThe generator holds 40 litres of diesel.\n", encoding="utf-8")
    (folder / "tents.md").write_text("# Tents\n\nPitch tents with the door away from the wind.\n", encoding="utf-8")
    return folder


def _rag(index_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    variables = dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], env=variables, capture_output=True, text=True, timeout=600
    )


def _search(index_dir: Path, query: str, index: str, **env: str) -> list[tuple[str, int | None]]:
    result = _rag(index_dir, "search", query, "--index", index, "--json", "-k", "5", **env)
    assert result.returncode == 0, result.stderr
    return [(Path(h["source"]).name, h["page"]) for h in json.loads(result.stdout)["hits"]]


QUERIES = ["How long do I boil water up high?", "Which radio channel?", "How much diesel does it hold?"]


def test_a_chroma_server_holds_the_vectors_like_the_embedded_store(tmp_path, chroma):
    docs, other, index_dir = _docs(tmp_path / "docs"), tmp_path / "other", tmp_path / "indexes"
    other.mkdir()
    (other / "boats.md").write_text("# Boats\n\nThe survey boat leaves at 06:30.\n", encoding="utf-8")
    server = {"RAG_VECTOR_STORE": chroma.url}
    assert _rag(index_dir, "ingest", str(docs), "--index", "local", "-q").returncode == 0
    ingest = _rag(index_dir, "ingest", str(docs), "--index", "shared", "-q", **server)
    assert ingest.returncode == 0, ingest.stderr
    assert not (index_dir / "shared" / "vectors").exists(), "no vectors on the local disk"
    for query in QUERIES:
        assert _search(index_dir, query, "shared", **server) == _search(index_dir, query, "local"), query

    # a second index on the same server stays apart
    assert _rag(index_dir, "ingest", str(other), "--index", "second", "-q", **server).returncode == 0
    assert {name for name, _ in _search(index_dir, "survey boat", "shared", **server)} <= {
        p.name for p in docs.iterdir()
    }
    assert _search(index_dir, "survey boat", "second", **server)[0][0] == "boats.md"
    collections = {c.name: c.count() for c in _client(chroma).list_collections()}
    assert collections["rag-second"] == 1 and collections["rag-shared"] > 4

    # forget and rebuild reach the server too
    assert _rag(index_dir, "forget", str(docs / "fuel.md"), "--index", "shared", **server).returncode == 0
    assert _client(chroma).get_collection("rag-shared").count() == collections["rag-shared"] - 1
    rebuilt = _rag(index_dir, "ingest", str(docs), "--index", "shared", "--rebuild", "--json", "-q", **server)
    assert rebuilt.returncode == 0 and _client(chroma).get_collection("rag-shared").count() == collections["rag-shared"]
    verify = _rag(index_dir, "status", "--index", "shared", "--verify", "--json", **server)
    assert verify.returncode == 0 and json.loads(verify.stdout)["verify"]["consistent"]

    # an index is never opened with the other kind of store
    wrong = _rag(index_dir, "search", "diesel", "--index", "shared")
    assert wrong.returncode == 1 and f"keeps its vectors in {chroma.url}, but vector_store is embedded" in wrong.stderr


def _client(chroma: Chroma):
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host="127.0.0.1", port=chroma.port, settings=Settings(anonymized_telemetry=False))


def test_the_server_stopping_mid_ingest_stops_the_run_with_one_line_and_the_next_run_completes(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    docs.mkdir()
    files = 48
    for i in range(files):
        body = " ".join(f"Station {i} sentence {j} records river level {i * j} centimetres." for j in range(60))
        (docs / f"log-{i:03d}.md").write_text(f"# Log {i}\n\n{body}\n", encoding="utf-8")
    chroma = Chroma(tmp_path / "chroma")
    chroma.start()
    try:
        env = dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT), RAG_VECTOR_STORE=chroma.url)
        process = subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", str(docs), "-q"], env=env, stderr=subprocess.PIPE, text=True
        )
        catalog = index_dir / "default" / "catalog.sqlite"

        def stage_one_done() -> bool:
            import sqlite3

            try:
                db = sqlite3.connect(catalog)
                done = db.execute("SELECT count(*) FROM files").fetchone()[0] == files
                return done and db.execute("SELECT count(*) FROM chunks WHERE embedded = 0").fetchone()[0] > 0
            except sqlite3.Error:
                return False

        deadline = time.monotonic() + 300
        while not stage_one_done() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the ingest finished before the server was stopped"
        chroma.stop()
        err = process.communicate(timeout=300)[1]
        assert process.returncode == 1
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith(f"Error: cannot reach the Chroma server at {chroma.url} (the vector_store setting)")

        search = _rag(index_dir, "search", "Station 12 river level", "--json", RAG_VECTOR_STORE=chroma.url)
        assert search.returncode == 1 and "cannot reach the Chroma server" in search.stderr

        chroma.start()
        again = _rag(index_dir, "ingest", str(docs), "--json", "-q", RAG_VECTOR_STORE=chroma.url)
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert report["added"] == 0 and report["pending_vectors"] == 0 and report["vectors_added"] > 0
        verify = _rag(index_dir, "status", "--verify", "--json", RAG_VECTOR_STORE=chroma.url)
        info = json.loads(verify.stdout)
        assert verify.returncode == 0 and info["verify"]["consistent"] and info["verify"]["vectors"] == info["chunks"]
    finally:
        if chroma.process.poll() is None:
            chroma.stop()


def _llama_server(model: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--port", str(port)]
    command += ["--n_ctx", "4096", "--n_threads", "2", "--model_alias", "served", *flags]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    _wait(f"{url}/models", process)
    return process, url


@pytest.fixture(scope="module")
def answer_server(model_cache):
    from rag.models import resolve_model

    process, url = _llama_server(resolve_model("qwen2.5-coder-1.5b", model_cache))
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def embedding_server(tiny_model):
    process, url = _llama_server(tiny_model, "--embedding", "true")
    yield url
    process.terminate()
    process.wait(30)


def test_rag_ask_through_an_openai_compatible_server_streams_a_cited_answer(tmp_path, answer_server):
    docs, index_dir = _docs(tmp_path / "docs"), tmp_path / "indexes"
    assert _rag(index_dir, "ingest", str(docs), "-q").returncode == 0
    remote = {"RAG_MODEL_URL": answer_server, "RAG_MODEL": "served", "RAG_MAX_ANSWER_TOKENS": "48"}
    remote["RAG_MIN_ANSWERABLE"] = "0.01"  # the check runs (its value is asserted) but does not decide
    result = _rag(index_dir, "ask", "How long should water be boiled above 2000 metres?", "--json", **remote)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and "three minutes" in answer["answer"].lower()
    assert answer["sources"][0]["source"].endswith("water.pdf") and answer["sources"][0]["page"] == 2
    assert answer["cited"] and set(answer["cited"]) <= {s["n"] for s in answer["sources"]}
    assert answer["timings"]["prompt_tokens"] > 50, "the prompt is counted with the local vocabulary"
    assert 0.0 < answer["timings"]["answerable"] < 1.0, "the yes/no check read the server's log-probabilities"

    streamed = _rag(index_dir, "ask", "Which channel are the radio check-ins on?", **remote)
    assert streamed.returncode == 0 and "16" in streamed.stdout and "Sources:" in streamed.stderr

    down = _rag(index_dir, "ask", "Which channel?", RAG_MODEL_URL="http://127.0.0.1:9/v1", RAG_MODEL="served")
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert "cannot reach the chat endpoint http://127.0.0.1:9/v1 (the model_url setting)" in down.stderr


def test_a_server_without_log_probabilities_still_gets_the_answerability_check(tmp_path, model_cache):
    """llama-cpp-python's server refuses log-probabilities with --logits_all false (its fast
    setting): the check falls back to the model's one-word reply."""
    from rag.models import resolve_model

    docs, index_dir = _docs(tmp_path / "docs"), tmp_path / "indexes"
    assert _rag(index_dir, "ingest", str(docs), "-q").returncode == 0
    process, url = _llama_server(resolve_model("qwen2.5-coder-1.5b", model_cache), "--logits_all", "false")
    try:
        remote = {"RAG_MODEL_URL": url, "RAG_MODEL": "served", "RAG_MAX_ANSWER_TOKENS": "32"}
        result = _rag(index_dir, "ask", "Which channel are the radio check-ins on?", "--json", **remote)
    finally:
        process.terminate()
        process.wait(30)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["timings"]["answerable"] in (0.0, 0.5, 1.0) and not answer["abstained"]
    assert "16" in answer["answer"]


def test_an_index_embedded_through_an_embeddings_endpoint_answers_searches(tmp_path, embedding_server):
    docs, index_dir = _docs(tmp_path / "docs"), tmp_path / "indexes"
    remote = {"RAG_EMBEDDER_URL": embedding_server, "RAG_EMBEDDER_MODEL": "served"}
    ingest = _rag(index_dir, "ingest", str(docs), "--json", "-q", **remote)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["vectors_added"] > 4
    status = json.loads(_rag(index_dir, "status", "--json").stdout)
    assert status["embedder"] == "remote:served" and status["dimension"] > 0
    assert _search(index_dir, "diesel litres generator", "default", **remote)[0][0] == "fuel.md"
    local = _rag(index_dir, "search", "diesel")
    assert local.returncode == 1 and "set embedder_url to that endpoint" in local.stderr, "never queried locally"


def test_n_gpu_layers_reaches_llama_cpp(tiny_model):
    from rag.generator import LlamaCppGenerator

    some = LlamaCppGenerator(tiny_model, threads=1, context_tokens=512, n_gpu_layers=7)
    assert some._llm.model_params.n_gpu_layers == 7
    every = LlamaCppGenerator(tiny_model, threads=1, context_tokens=512, n_gpu_layers=-1)
    assert every._llm.model_params.n_gpu_layers == 2**31 - 1, "llama-cpp-python's way of saying all layers"

"""The cost of each remote hop, same machine, same run.

1. Search at 100,000 chunks: the 100k index of bench/search.py with its vectors in the embedded
   Chroma store, against the same vectors copied into a Chroma server started here (`chroma run`,
   the catalog and BM25 staying local as they do in use). p50/p95 of `rag search` over SciFact
   queries through the real retriever, the two alternating query by query.
2. Answers: time to first token on the demo index, the bundled 1.5B in-process against the same
   GGUF behind llama-cpp-python's OpenAI-compatible server started here (same threads), through
   rag's engine, both warmed first, questions alternating.

    .venv/bin/python bench/search.py        # builds indexes/bench-100k (once)
    .venv/bin/python bench/scale.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from ingest.catalog import Catalog
from ingest.index import CATALOG
from rag.api import build_engine, load_generator, open_retriever, opened_index, run_ingest
from rag.evaluate import load_beir, workspace
from rag.models import resolve_model
from rag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "scifact"
BIN = Path(sys.executable).parent
QUESTIONS = [
    "How long should water be boiled above 2000 metres?",
    "How often is the generator oil changed?",
    "What should be in the first aid kit?",
    "How do I purify water with tablets?",
    "When are the radio check-ins?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], ready: str, env: dict | None = None) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready, timeout=2).status_code < 500:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    sys.exit(f"{command[0]} did not start")


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def search_hop(queries: list[str], scratch: Path) -> None:
    settings = load_settings({"index": "bench-100k"})
    source = settings.index_path / "bench-100k"
    if not (source / CATALOG).exists():
        sys.exit("no indexes/bench-100k yet. Run: .venv/bin/python bench/search.py")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    command = [str(BIN / "chroma"), "run", "--path", str(scratch / "chroma"), "--port", str(port)]
    server = start(command, f"{url}/api/v2/heartbeat", env)
    try:
        copy = scratch / "indexes" / "bench-100k-server"
        copy.mkdir(parents=True)
        shutil.copy(source / CATALOG, copy / CATALOG)
        catalog = Catalog(copy / CATALOG)
        catalog.set_meta(vector_store=url)
        catalog.close()
        remote_settings = load_settings({"index": copy.name, "index_dir": str(copy.parent), "vector_store": url})
        with opened_index(settings) as local, opened_index(remote_settings) as remote:
            started = time.perf_counter()
            batch: list[tuple[str, str, str]] = []
            files = list(local.catalog.files().values())
            for at, record in enumerate(files):
                batch += [(i, record.path, record.sha256) for i in local.catalog.chunk_ids(record.path)]
                if len(batch) >= 2000 or at == len(files) - 1:
                    remote.store.upsert(
                        [i for i, _, _ in batch], local.store.vectors([i for i, _, _ in batch]), [v[1:] for v in batch]
                    )
                    batch = []
            print(f"copied {remote.store.count()} vectors to the server in {time.perf_counter() - started:.0f} s")
            retrievers = {
                "embedded": open_retriever(settings, local),
                "server": open_retriever(remote_settings, remote),
            }
            times: dict[str, list[float]] = {name: [] for name in retrievers}
            same = 0
            for retriever in retrievers.values():
                retriever.search("warm up", 5)
            for query in queries:
                found = {}
                for name, retriever in retrievers.items():
                    began = time.perf_counter()
                    found[name] = [h.id for h in retriever.search(query, 5)]
                    times[name].append((time.perf_counter() - began) * 1000)
                same += found["embedded"] == found["server"]
            print(f"\nsearch at {local.catalog.chunk_count()} chunks, {len(queries)} SciFact queries (hybrid, k=5)")
            print("| vectors in | p50 | p95 |\n|---|---|---|")
            for name, values in times.items():
                print(f"| {name} | {p(values, 50):.1f} ms | {p(values, 95):.1f} ms |")
            hop = p(times["server"], 50) - p(times["embedded"], 50)
            print(f"the server hop costs {hop:+.1f} ms at p50; same top 5 for {same}/{len(queries)} queries")
    finally:
        server.terminate()
        server.wait(30)


def answer_hop(rounds: int, logits_all: bool) -> None:
    settings = load_settings({"index": "demo"})
    run_ingest(settings, [str(ROOT / "corpora")])
    model = resolve_model(settings.model, settings.cache_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    threads = str(settings.effective_threads())
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--port", str(port)]
    command += ["--n_ctx", str(settings.context_tokens), "--n_threads", threads, "--n_threads_batch", threads]
    command += ["--model_alias", "served", "--logits_all", "true" if logits_all else "false"]
    server = start(command, f"{url}/models")
    try:
        remote_settings = load_settings({"index": "demo", "model_url": url, "model": "served"})
        with opened_index(settings) as index:
            engines = {
                "in-process": build_engine(settings, index, models={settings.model: load_generator(settings)}),
                "llama.cpp server": build_engine(remote_settings, index),
            }
            ttft: dict[str, list[float]] = {name: [] for name in engines}
            for engine in engines.values():
                engine.ask("What is this document about?")  # warm: load, cache the system prompt
            for _ in range(rounds):
                for question in QUESTIONS:
                    for name, engine in engines.items():
                        answer = engine.ask(question)
                        if "ttft_ms" in answer.timings:
                            ttft[name].append(answer.timings["ttft_ms"] / 1000)
        print(
            f"\nanswers: {settings.model}, {threads} threads, demo index, {len(QUESTIONS)} questions x {rounds}; "
            f"server --logits_all {str(logits_all).lower()}"
        )
        print("| model runs | first token, median | answers |\n|---|---|---|")
        for name, values in ttft.items():
            print(f"| {name} | {statistics.median(values):.2f} s | {len(values)} |")
        ratio = statistics.median(ttft["llama.cpp server"]) / statistics.median(ttft["in-process"])
        print(f"the server hop: {ratio:.2f}x the in-process first token")
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="times each answer question is asked of each")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-answers", action="store_true")
    parser.add_argument(
        "--logits-all",
        action="store_true",
        help="start llama-cpp-python's server with --logits_all true (its default: log-probabilities for the "
        "answerability check, at the cost of every prompt token's logits)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_search:
            data = load_beir(DATA, workspace(load_settings({}).cache_path, DATA))
            search_hop(list(data.queries.values())[: args.queries], Path(tmp))
        if not args.skip_answers:
            answer_hop(args.rounds, args.logits_all)


if __name__ == "__main__":
    main()

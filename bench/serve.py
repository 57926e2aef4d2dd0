"""`rag serve` under load: searches while answers stream, and the API's time to first token.

One real `rag serve` (default model) over the demo index (corpora/, built if missing), same run:

1. search latency idle: ``--searches`` sequential GET /api/search, p50;
2. search latency under load: ``--clients`` threads search at once for ``--seconds`` (12 s,
   a whole answer), first with no answer, then while answers stream one after another through
   /api/ask; p50 and p95 (target: p95 <= 2 x idle p50 + 50 ms);
3. time to first token: the same questions through POST /v1/chat/completions (streamed; the
   first non-empty content chunk, measured by the client) against `rag ask`'s engine in this
   process, warm (its own ttft_ms); ratio of the medians (target: within 10%).

    .venv/bin/python bench/serve.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "How long should water be boiled at high altitude?",
    "What should I do for a snake bite?",
    "When are the radio check-ins?",
    "How much fuel does boiling a litre of water take?",
    "How do I treat a burn?",
]
SEARCHES = [
    "boil water altitude",
    "snake bite bandage",
    "radio check-in channel",
    "purify water tablets",
    "burn cool water",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, index: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--index", index, "--port", str(port)],
        env=dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT)),
        stderr=subprocess.PIPE,
        text=True,
    )
    while True:
        line = process.stderr.readline()
        if line.startswith("Serving index"):
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, line.split(" at ", 1)[1].strip()
        if not line and process.poll() is not None:
            raise SystemExit("rag serve did not start")


class SearchClient:
    """One client: a kept-alive HTTP connection (the standard library's, which costs the shared
    2 cores less per request than httpx, so that the numbers are the server's)."""

    def __init__(self, url: str):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def search(self, query: str) -> float:
        from urllib.parse import urlencode

        started = time.perf_counter()
        self.connection.request("GET", "/api/search?" + urlencode({"q": query, "k": 5}))
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"search failed: {response.status}")
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.connection.close()


def api_ttft(url: str, index: str, question: str) -> float:
    import httpx

    body = {"model": index, "stream": True, "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    first = float("nan")
    with httpx.stream("POST", f"{url}v1/chat/completions", json=body, timeout=600) as response:
        for line in response.iter_lines():  # read to the end: the next question waits for this answer anyway
            if first == first or not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            if json.loads(line[5:])["choices"][0]["delta"].get("content"):
                first = (time.perf_counter() - started) * 1000
    return first


def main() -> None:
    import httpx

    from rag.api import build_engine, opened_index, run_ingest
    from rag.settings import load_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--searches", type=int, default=200, help="idle searches, one after another")
    parser.add_argument(
        "--seconds",
        type=float,
        default=12.0,
        help="how long the clients search in each loaded phase (12 s covers a whole answer: its prompt and its tokens)",
    )
    parser.add_argument("--index-dir", default=str(ROOT / "indexes"))
    parser.add_argument("--index", default="demo")
    args = parser.parse_args()

    settings = load_settings({"index_dir": args.index_dir, "index": args.index})
    run_ingest(settings, [str(ROOT / "corpora")])
    process, url = start_server(Path(args.index_dir), args.index)
    try:
        client = SearchClient(url)
        for query in SEARCHES:  # warm: the embedder is loaded by the first search
            client.search(query)
        idle = [client.search(SEARCHES[i % len(SEARCHES)]) for i in range(args.searches)]
        client.close()

        def clients_searching() -> list[float]:
            found: list[float] = []
            lock = threading.Lock()

            def client_loop(n: int) -> None:
                client = SearchClient(url)
                i, until = 0, time.perf_counter() + args.seconds
                while time.perf_counter() < until:
                    ms = client.search(SEARCHES[(n + i) % len(SEARCHES)])
                    i += 1
                    with lock:
                        found.append(ms)
                client.close()

            clients = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
            for t in clients:
                t.start()
            for t in clients:
                t.join()
            return found

        crowded = clients_searching()  # the same clients with no answer streaming
        stop = threading.Event()
        answered = []

        def answers() -> None:
            i = 0
            while not stop.is_set():
                with httpx.stream(
                    "POST", f"{url}api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}, timeout=600
                ) as r:
                    for _ in r.iter_lines():
                        pass
                answered.append(i)
                i += 1

        streamer = threading.Thread(target=answers, daemon=True)
        streamer.start()
        time.sleep(3)  # let the first answer start streaming
        loaded = clients_searching()
        stop.set()
        streamer.join()

        api = [api_ttft(url, args.index, q) for q in QUESTIONS]
    finally:
        process.terminate()
        process.wait(timeout=60)

    with opened_index(settings) as index:
        engine = build_engine(settings, index)
        engine.ask("warm up: what is this handbook about?")
        local = [engine.ask(q).timings.get("ttft_ms") for q in QUESTIONS]
    local = [t for t in local if t is not None]

    idle_p50 = statistics.median(idle)
    p50, p95 = statistics.median(loaded), percentile(loaded, 0.95)
    print(f"search, idle: p50 {idle_p50:.1f} ms ({len(idle)} searches)")
    print(
        f"search, {args.clients} clients, no answers: p50 {statistics.median(crowded):.1f} ms, p95 {percentile(crowded, 0.95):.1f} ms "
        f"({len(crowded)} searches in {args.seconds:.0f} s)"
    )
    print(
        f"search, {args.clients} clients while answers stream ({len(loaded)} searches in {args.seconds:.0f} s, "
        f"{len(answered)} answers finished during it): "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms; p95 / (2 x idle p50 + 50 ms) = {p95 / (2 * idle_p50 + 50):.2f} (target <= 1)"
    )
    print(
        f"time to first token, median of {len(QUESTIONS)}: API {statistics.median(api):.0f} ms, rag ask's engine "
        f"{statistics.median(local):.0f} ms; ratio {statistics.median(api) / statistics.median(local):.2f} (target <= 1.10)"
    )


if __name__ == "__main__":
    main()

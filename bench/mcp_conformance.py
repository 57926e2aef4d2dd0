"""The official MCP conformance suite (npm @modelcontextprotocol/conformance) against `rag serve`.

Installs Node 22 (npm's ``node@22`` package) and the suite into a cache folder, indexes
corpora/ into a scratch index, starts a real `rag serve` on a free port (the tiny bundled model:
the suite checks the protocol, not answers), runs every server scenario, and prints each
scenario's result. docs/benchmarks.md lists them with why a failing one does not apply.

    .venv/bin/python bench/mcp_conformance.py
    .venv/bin/python bench/mcp_conformance.py --scenario tools-list --scenario dns-rebinding-protection
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = "@modelcontextprotocol/conformance@0.1.16"
NODE = "node@22"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-bench" / "mcp-conformance"


def install(cache: Path) -> Path:
    """The suite's command, installed once under ``cache`` with its own Node 22."""
    binary = cache / "node_modules" / ".bin" / "conformance"
    if not binary.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), NODE, SUITE],
            check=True,
            capture_output=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int) -> subprocess.Popen:
    rag = str(ROOT / ".venv" / "bin" / "rag")
    subprocess.run([rag, "ingest", str(ROOT / "corpora"), "--index-dir", str(index_dir), "-q"], check=True)
    process = subprocess.Popen(
        [rag, "serve", "--index-dir", str(index_dir), "--port", str(port), "--model", "smollm2-135m"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if line.startswith("Serving index"):
            return process
        if process.poll() is not None:
            break
    process.kill()
    sys.exit("rag serve did not start")


def show_checks(results: Path) -> None:
    """Each scenario's checks that did not pass, with the suite's own words."""
    import json

    for checks in sorted(results.glob("*/checks.json")):
        scenario = checks.parent.name.removeprefix("server-").rsplit("-2", 1)[0]
        for check in json.loads(checks.read_text()):
            if check.get("status") not in ("SUCCESS", "INFO"):
                detail = check.get("errorMessage") or check.get("description") or ""
                print(f"{scenario}: {check.get('status')} {check.get('name', '')}: {str(detail)[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", help="run only these scenarios")
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    if shutil.which("npm") is None:
        sys.exit("npm is needed to install the suite (Debian: apt-get install npm)")
    binary = install(args.cache)
    env = {**os.environ, "PATH": f"{binary.parent}{os.pathsep}{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory(prefix="rag-mcp-conformance-") as tmp:
        port = free_port()
        server = start_server(Path(tmp) / "indexes", port)
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            scenarios = args.scenario or [None]
            for scenario in scenarios:
                results = Path(tmp) / "results"
                command = [str(binary), "server", "--url", url, "--suite", "all", "-o", str(results)]
                if scenario:
                    command += ["--scenario", scenario]
                result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
                summary = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
                print(summary[summary.find("=== SUMMARY") :] if "=== SUMMARY" in summary else summary)
                show_checks(results)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

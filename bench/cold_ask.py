"""A cold `rag ask` as a user runs it: when the evidence sentence is printed, and when the answer
ends, each a new process; the baseline, in the same run, is a cold `rag search` of the same
question (retrieval alone, no model), so the ratio says what the evidence adds to finding the
passages.

    python bench/cold_ask.py [--index demo] [--rounds 2]

Needs an index (`rag ingest corpora --index demo`). Prints the CPU, then medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    "How long should water be boiled at high altitude?",
    "What should you do for a snake bite?",
    "When are the radio check-ins?",
]
RAG = str(Path(sys.executable).with_name("rag"))


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def timed_search(question: str, index: str) -> float:
    began = time.perf_counter()
    subprocess.run([RAG, "search", question, "--index", index, "-k", "5"], capture_output=True, check=True)
    return time.perf_counter() - began


def timed_ask(question: str, index: str) -> tuple[float | None, float]:
    """(seconds to the evidence line, seconds to the end of the answer)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [RAG, "ask", question, "--index", index], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    evidence = None
    for line in process.stdout:
        if evidence is None and line.startswith("Evidence:"):
            evidence = time.perf_counter() - began
    process.wait()
    return evidence, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", default="demo")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    searches, evidences, wholes = [], [], []
    for _ in range(args.rounds):
        for question in QUESTIONS:
            searches.append(timed_search(question, args.index))
            evidence, whole = timed_ask(question, args.index)
            if evidence is not None:
                evidences.append(evidence)
            wholes.append(whole)
    search, evidence, whole = (statistics.median(v) for v in (searches, evidences, wholes))
    print(f"cpu: {cpu()}; {len(wholes)} cold runs of each")
    print(f"rag search (baseline)      median {search:.2f} s")
    print(f"rag ask, evidence printed  median {evidence:.2f} s  ({evidence / search:.2f}x the search)")
    print(f"rag ask, answer ended      median {whole:.2f} s  ({whole / search:.2f}x the search)")


if __name__ == "__main__":
    main()

"""Every benchmark script still starts: its imports resolve against the installed packages and
its options parse (``--help``); the memory benchmark runs end to end on a tiny input. The
benchmarks themselves read ../shared/data and take minutes to hours, so they are not run here."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=BENCH.parent)


def test_every_script_is_listed():
    assert "answer.py" in SCRIPTS and "fusion.py" in SCRIPTS and len(SCRIPTS) >= 12


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_starts(script):
    done = run(f"bench/{script}", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_memory_bench_runs_on_a_tiny_input():
    done = run("bench/memory.py", "--pages", "3", "--files", "5")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3-page PDF" in done.stdout and "5 small files: 5 chunks" in done.stdout

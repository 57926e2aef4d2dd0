"""The chat model in its own process (rag.worker): the same answers as in-process, and a death of
that process (a CPU it cannot run on, a fault, the out-of-memory killer) costs one answer with a
message that says what to run, never `rag ask`'s message or the server."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import Cancelled
from rag.llama_runtime import used_features
from rag.worker import ModelCrashed, ModelWorker, death_message

MESSAGES = [{"role": "user", "content": "Name three colours."}]
MODEL = Path("/models/SmolLM2-135M-Instruct.Q4_1.gguf")


# -- pure: what a death means -------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGILL, signal.SIGSEGV, signal.SIGBUS])
def test_a_fault_of_the_build_says_make_setup(sig):
    message = death_message(MODEL, -sig)
    assert sig.name in message and "make setup" in message and MODEL.name in message


def test_a_kill_says_memory_and_a_smaller_model():
    message = death_message(MODEL, -signal.SIGKILL)
    assert "memory" in message and "--model qwen2.5-coder-0.5b" in message


def test_other_deaths_ask_for_the_machine_report():
    assert "rag config --machine" in death_message(MODEL, -signal.SIGABRT)
    assert "exit 3" in death_message(MODEL, 3) and "rag config --machine" in death_message(MODEL, 3)


def test_used_features_reads_llama_cpps_system_info():
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 0 | AMX_INT8 = 0 | LLAMAFILE = 1 | OPENMP = 1 |"
    assert used_features(info) == ["SSE3", "AVX", "AVX2", "LLAMAFILE", "OPENMP"]


# -- the real worker ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker(tiny_model):
    worker = ModelWorker(tiny_model, threads=2, context_tokens=4096)
    yield worker
    worker.close()


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return  # a zombie: dead, not yet reaped by its parent
        except OSError:
            return
        time.sleep(0.05)


def test_the_worker_answers_as_the_model_does_in_process(worker, tiny_generator):
    assert worker.count_tokens(MESSAGES) == tiny_generator.count_tokens(MESSAGES)
    assert "".join(worker.stream(MESSAGES, max_tokens=16)) == "".join(tiny_generator.stream(MESSAGES, max_tokens=16))
    assert worker.yes_probability(MESSAGES) == pytest.approx(tiny_generator.yes_probability(MESSAGES), abs=1e-6)
    prefix = "1. Red"
    assert "".join(worker.stream(MESSAGES, max_tokens=8, prefix=prefix)) == "".join(
        tiny_generator.stream(MESSAGES, max_tokens=8, prefix=prefix)
    )


def test_a_stream_left_early_does_not_shift_the_next_reply(worker):
    whole = "".join(worker.stream(MESSAGES, max_tokens=12))
    pieces = worker.stream(MESSAGES, max_tokens=40)
    next(pieces)
    pieces.close()  # the reader stopped to check a sentence, or left
    assert "".join(worker.stream(MESSAGES, max_tokens=12)) == whole


def test_a_question_asked_while_a_stream_is_open_gets_its_own_reply(worker, tiny_generator):
    """A reader that pauses a stream and asks the model a check (the engine between sentences)
    gets a probability, not a piece of the answer the child wrote ahead."""
    expected = tiny_generator.yes_probability(MESSAGES)
    pieces = worker.stream(MESSAGES, max_tokens=60)
    next(pieces)
    time.sleep(0.3)  # the child writes pieces ahead meanwhile
    assert worker.yes_probability(MESSAGES) == pytest.approx(expected, abs=1e-6)
    assert list(pieces) == []  # that stream is over
    assert worker.evaluated_tokens() > 0


def test_a_stop_cancels_the_model_at_once(worker):
    with pytest.raises(Cancelled), worker.stop_when(lambda: True):
        "".join(worker.stream(MESSAGES, max_tokens=200))
    assert "".join(worker.stream(MESSAGES, max_tokens=4)), "the next call answers"


@pytest.mark.parametrize("sig,says", [(signal.SIGILL, "make setup"), (signal.SIGKILL, "memory")])
def test_a_dead_model_costs_one_answer_and_the_next_call_reloads_it(worker, sig, says):
    whole = "".join(worker.stream(MESSAGES, max_tokens=8))
    pid = worker.pid
    os.kill(pid, sig)
    _wait_gone(pid)
    with pytest.raises(ModelCrashed, match=says):
        "".join(worker.stream(MESSAGES, max_tokens=8))
    assert "".join(worker.stream(MESSAGES, max_tokens=8)) == whole, "a new process, the same answer"
    assert worker.pid != pid


def test_config_machine_names_the_cpu_the_build_and_what_it_uses(tiny_model):
    result = CliRunner().invoke(cli, ["config", "--machine", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["cpu"] and report["threads"] >= 1 and report["model"]
    assert report["llama_features"], "the instruction sets the loaded CPU backend uses"
    assert "amx_int8" not in [f.lower() for f in report["llama_features"]], "no AMX kernels"
    text = CliRunner().invoke(cli, ["config", "--machine"]).output
    assert text.splitlines()[0].startswith("cpu ")


# -- the server outlives its model --------------------------------------------------------------


def _model_child(server_pid: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == server_pid and b"rag.worker" in cmdline:
            return int(stat.parent.name)
    raise AssertionError("the server has no model process")


@pytest.mark.slow
def test_the_server_keeps_serving_when_its_model_dies(tmp_path, tiny_model):
    from test_server import QUESTION, _sse, _start, field_index

    process, url = _start(field_index(tmp_path), tiny_model)
    try:

        def ask() -> list[tuple[str, dict]]:
            with httpx.stream("POST", f"{url}api/ask", json={"question": QUESTION}, timeout=300) as response:
                return _sse(response)

        assert ask()[-1][0] == "done"
        child = _model_child(process.pid)
        os.kill(child, signal.SIGSEGV)
        _wait_gone(child)
        events = ask()
        kinds = [k for k, _ in events]
        assert kinds[0] == "evidence", "the documents' own sentence needs no model"
        assert kinds[-1] == "error" and "SIGSEGV" in events[-1][1]["message"]
        assert "make setup" in events[-1][1]["message"]
        hits = httpx.get(f"{url}api/search", params={"q": "boil water altitude"}).json()["hits"]
        assert hits[0]["source"].endswith("water.pdf"), "search goes on"
        again = ask()
        assert again[-1][0] == "done" and again[-1][1]["answer"], "the next question reloads the model"
        assert _model_child(process.pid) != child
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=30)

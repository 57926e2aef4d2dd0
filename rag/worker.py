"""The chat model in a process of its own, behind the Generator protocol.

llama.cpp is native code: an instruction the CPU lacks (SIGILL), a fault in a kernel (SIGSEGV)
or the kernel's out-of-memory killer ends the process that runs it. In its own process that
costs one answer, not `rag ask`'s message or the server: ``ModelWorker`` turns the death into a
``ModelCrashed`` that says what happened and what to run, and the next call starts the model
again. It also loads in the background: the process starts at once, and the evidence sentence,
which needs only token counts (a vocabulary-only load here), is found while the weights load.

The protocol is one request at a time on a pipe (``multiprocessing.connection`` framing): the
parent sends (method, arguments) and reads ("ok", value), or ("piece", text) ... ("end", None)
for a stream, or ("error", kind, message). Stopping is a byte in shared memory that llama.cpp's
abort callback reads between evaluation steps, so a stop needs no round trip.
"""

from __future__ import annotations

import mmap
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path

from rag.errors import Cancelled, ModelError
from rag.generator import GREEDY, Message, Sampling, Vocabulary

POLL_S = 0.05
"""How often a waiting parent asks its ``stopped()`` while the model works."""
CANCEL = 1
"""The stop flag's value for "stop at once" (llama.cpp's abort callback ends the evaluation)."""
PAUSE = 2
"""Its value for "end the stream after this token" (the reader stopped to check a sentence):
nothing is aborted, what was read stays in the cache for the stream that goes on."""


class ModelCrashed(ModelError):
    """The model's process died; the next call starts it again."""


def death_message(model: Path, returncode: int | None) -> str:
    """Pure: what a dead model process's exit status means for the user, and what to run."""
    name = model.name
    if returncode is not None and returncode < 0:
        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = f"signal {-returncode}"
        if signame in ("SIGILL", "SIGSEGV", "SIGBUS"):
            return (
                f"the model's process ({name}) died by {signame}: most often a llama.cpp build that uses "
                "instructions this CPU cannot run. Run: make setup (it proves the build on this CPU and "
                "rebuilds it the portable way if it crashes); if that does not help, run rag config --machine "
                "and report what it prints"
            )
        if signame == "SIGKILL":
            return (
                f"the model's process ({name}) was killed (SIGKILL), most likely for lack of memory. "
                "Close other programs, or use a smaller model: --model qwen2.5-coder-0.5b"
            )
        return (
            f"the model's process ({name}) crashed ({signame}). Run: rag config --machine, "
            "and report what it prints with the question that crashed it"
        )
    return f"the model's process ({name}) ended unexpectedly (exit {returncode}). Run: rag config --machine"


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests) has none
        return subprocess.DEVNULL


class ModelWorker:
    """A ``LlamaCppGenerator`` in a child process; the same methods, the same results."""

    continues = True

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int,
        context_tokens: int = 4096,
        state_dir: Path | None = None,
        n_gpu_layers: int = 0,
    ):
        if not Path(model_path).is_file():
            raise ModelError(f"model file not found: {model_path}. Pass --model PATH to a .gguf file")
        self.model_path = Path(model_path)
        self.context_tokens = context_tokens
        self._options = {
            "threads": threads,
            "context_tokens": context_tokens,
            "state_dir": str(state_dir) if state_dir else None,
            "n_gpu_layers": n_gpu_layers,
        }
        self._vocabulary = Vocabulary(self.model_path)
        self._primed: tuple[str, str] | None = None
        self._process: subprocess.Popen | None = None
        self._stop_flag = mmap.mmap(-1, 1)  # replaced by a shared one at each start
        self._unread = 0
        """Replies still to read before the next one (``prime`` does not wait for its own)."""
        self._start()

    # -- the child's life ---------------------------------------------------------------------

    def _start(self) -> None:
        """Start the child; it loads the weights while the caller goes on."""
        flag = tempfile.TemporaryFile()
        flag.write(b"\0")
        flag.flush()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        command = [
            sys.executable,
            "-m",
            "rag.worker",
            str(self.model_path),
            repr(self._options),
            str(to_child_r),
            str(from_child_w),
            str(flag.fileno()),
        ]
        self._process = subprocess.Popen(
            command,
            pass_fds=(to_child_r, from_child_w, flag.fileno()),
            stdin=subprocess.DEVNULL,
            stdout=_stderr_fd(),  # whatever llama.cpp prints never reaches an answer on stdout
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._to = Connection(to_child_w, readable=False)
        self._from = Connection(from_child_r, writable=False)
        self._stop_flag = mmap.mmap(flag.fileno(), 1)
        flag.close()
        self._unread = 0
        if self._primed:
            self.prime(*self._primed)

    def _died(self) -> ModelCrashed:
        process, self._process = self._process, None
        code = process.wait() if process else None
        self._close_pipes()
        return ModelCrashed(death_message(self.model_path, code))

    def _close_pipes(self) -> None:
        for conn in (getattr(self, "_to", None), getattr(self, "_from", None)):
            if conn is not None:
                conn.close()
        self._to = self._from = None

    def close(self) -> None:
        process, self._process = self._process, None
        self._close_pipes()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    def __del__(self):  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # -- one request at a time ----------------------------------------------------------------

    def _send(self, *request) -> None:
        if self._process is None:
            self._start()
        try:
            self._to.send(request)
        except (OSError, ValueError) as exc:
            raise self._died() from exc

    def _receive(self, stopped=None):
        """The next reply; a true ``stopped()``, asked before each wait, raises the stop flag."""
        try:
            while True:
                if stopped is not None and self._stop_flag[0] != CANCEL and stopped():
                    self._stop_flag[0] = CANCEL
                if self._from.poll(POLL_S):
                    break
                if self._process.poll() is not None:
                    raise EOFError
            reply = self._from.recv()
        except (EOFError, OSError) as exc:
            raise self._died() from exc
        if reply[0] == "error":
            _, kind, message = reply
            self._stop_flag[0] = 0
            if kind == "cancelled":
                raise Cancelled()
            raise ModelError(message)
        return reply

    def _drain(self) -> None:
        while self._unread:
            self._unread -= 1
            self._receive()

    _streaming = False
    """A stream's reply is still coming: a new request first ends it (``_end_stream``)."""

    def _end_stream(self) -> None:
        """End the open stream in the child and read up to its end, so the next reply read is
        the next request's (the child writes pieces ahead of a reader that paused)."""
        self._streaming = False
        if self._process is None:
            return
        self._stop_flag[0] = self._stop_flag[0] or PAUSE
        try:
            while self._receive()[0] != "end":
                pass
        except (Cancelled, ModelError):
            pass  # the stream's own end, after its reader had gone
        self._stop_flag[0] = 0

    def _ready(self) -> None:
        """The child up, no stream open, no reply unread, no stop raised: the next request's turn."""
        if self._process is None:
            self._start()
        if self._streaming:
            self._end_stream()
        self._drain()
        self._stop_flag[0] = 0

    def _call(self, method: str, *args):
        self._ready()
        self._send(method, *args)
        return self._receive(self._stopped)[1]

    _stopped = None

    @contextmanager
    def stop_when(self, stopped):
        """Within the block, the model stops as soon as ``stopped()`` is true (``Cancelled``)."""
        self._stopped = stopped
        try:
            yield
        finally:
            self._stopped = None
            if self._stop_flag[0] and self._process is not None:
                self._stop_flag[0] = 0

    # -- the Generator protocol ---------------------------------------------------------------

    def count_tokens(self, messages: list[Message]) -> int:
        return self._vocabulary.count_tokens(messages)

    def prime(self, system_prompt: str, user_prefix: str = "") -> None:
        """Ask the child to put the system prompt's state in its cache; returns at once (the reply
        is read before the next request's), and is asked again after a restart."""
        self._primed = (system_prompt, user_prefix)
        if self._process is None:
            self._start()  # which primes
            return
        self._send("prime", system_prompt, user_prefix)
        self._unread += 1

    def yes_probability(self, messages: list[Message]) -> float:
        return self._call("yes_probability", messages)

    def evaluated_tokens(self) -> int:
        return self._call("evaluated_tokens")

    def stream(
        self, messages: list[Message], *, max_tokens: int, sampling: Sampling = GREEDY, prefix: str = ""
    ) -> Iterator[str]:
        self._ready()
        self._send("stream", messages, max_tokens, asdict(sampling), prefix)
        self._streaming = True
        try:
            while self._streaming:
                try:
                    kind, value = self._receive(self._stopped)
                except (ModelError, Cancelled):
                    self._streaming = False  # the child's reply to this stream ends with its error
                    raise
                if kind == "end":
                    self._streaming = False
                    if self._stop_flag[0] == CANCEL:  # stopped after the child's last piece
                        self._stop_flag[0] = 0
                        raise Cancelled()
                    return
                if self._stop_flag[0] != CANCEL:  # once stopped, the pieces still coming are dropped
                    yield value  # another request made meanwhile ends this stream (``_streaming``)
        finally:
            if self._streaming:  # the reader left early (a sentence to check, a stop)
                self._end_stream()


# -- the child ----------------------------------------------------------------------------------


def _serve(model: str, options: dict, inbox: Connection, outbox: Connection, flag: mmap.mmap) -> None:
    from rag.generator import LlamaCppGenerator

    try:
        generator = LlamaCppGenerator(
            Path(model),
            threads=options["threads"],
            context_tokens=options["context_tokens"],
            state_dir=Path(options["state_dir"]) if options["state_dir"] else None,
            n_gpu_layers=options["n_gpu_layers"],
        )
    except ModelError as exc:
        loading_failed = str(exc)
    else:
        loading_failed = None
    stopped = lambda: flag[0] == CANCEL  # noqa: E731
    while True:
        try:
            method, *args = inbox.recv()
        except EOFError:
            return
        if loading_failed:
            outbox.send(("error", "model", loading_failed))
            continue
        try:
            with generator.stop_when(stopped):
                if method == "stream":
                    messages, max_tokens, sampling, prefix = args
                    pieces = generator.stream(
                        messages, max_tokens=max_tokens, sampling=Sampling(**sampling), prefix=prefix
                    )
                    try:
                        for piece in pieces:
                            if flag[0] == CANCEL:
                                raise Cancelled()
                            if flag[0] == PAUSE:  # the reader stopped to check a sentence
                                break
                            outbox.send(("piece", piece))
                    finally:
                        pieces.close()
                    outbox.send(("end", None))
                elif method == "yes_probability":
                    outbox.send(("ok", generator.yes_probability(*args)))
                elif method == "evaluated_tokens":
                    outbox.send(("ok", generator.evaluated_tokens()))
                elif method == "prime":
                    outbox.send(("ok", generator.prime(*args)))
                else:
                    outbox.send(("error", "model", f"the model's process has no method {method!r}"))
        except Cancelled:
            outbox.send(("error", "cancelled", "stopped"))
        except ModelError as exc:
            outbox.send(("error", "model", str(exc)))
        except Exception as exc:  # a bug here must not look like a crash of the model
            outbox.send(("error", "model", f"the model failed: {type(exc).__name__}: {exc}"))


def main(argv: list[str]) -> None:
    import ast

    model, options, inbox, outbox, flag = argv
    shared = mmap.mmap(int(flag), 1)
    os.close(int(flag))
    _serve(
        model,
        ast.literal_eval(options),
        Connection(int(inbox), writable=False),
        Connection(int(outbox), readable=False),
        shared,
    )


if __name__ == "__main__":
    main(sys.argv[1:])

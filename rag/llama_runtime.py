"""llama.cpp as installed: loading its CPU backend, and what the build uses on this machine.

The portable build (install/llama.py) ships one CPU backend per instruction-set level beside
libllama and lets llama.cpp pick the best one this CPU supports; llama-cpp-python does not load
them itself, so every process that uses llama.cpp imports it through ``import_llama``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def library_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "lib"


def cpu_variants(lib: Path | None) -> list[Path]:
    """The runtime-dispatch CPU backends of a portable build (none in a native one)."""
    return sorted(lib.glob("libggml-cpu-*.so")) if lib and lib.is_dir() else []


def import_llama():
    """``llama_cpp``, with a CPU backend registered: a portable build's best variant is loaded
    once per process (llama.cpp scores each against this CPU)."""
    import ctypes

    import llama_cpp

    lib = library_dir()
    if cpu_variants(lib):
        # the copy of libggml that libllama linked (a wheel holds no symbolic links, so
        # libggml.so and libggml.so.0 are two files, and two registries if both were loaded)
        ggml = ctypes.CDLL(mapped_library("libggml.so") or str(lib / "libggml.so.0"))
        ggml.ggml_backend_reg_by_name.restype = ctypes.c_void_p
        ggml.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
        if not ggml.ggml_backend_reg_by_name(b"CPU"):
            from llama_cpp._utils import suppress_stdout_stderr

            ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
            with suppress_stdout_stderr(disable=False):  # "load_backend: loaded CPU backend from ..."
                ggml.ggml_backend_load_all_from_path(str(lib).encode())
    return llama_cpp


def mapped_library(name: str) -> str | None:
    """The path this process mapped ``name`` (or one of its versioned names) from."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    found = re.search(rf"(/\S*/{re.escape(name)}(?:\.[\d.]+)?)$", maps, re.MULTILINE)
    return found.group(1) if found else None


def loaded_variant() -> str | None:
    """The CPU variant this process loaded (portable build), read from its memory map."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    found = re.search(r"libggml-cpu-([\w.]+?)\.so", maps)
    return found.group(1) if found else None


def build_stamp() -> dict:
    """What install/llama.py recorded of the installed build (native or portable, proven)."""
    try:
        return json.loads((Path(sys.prefix) / "rag-llama.json").read_text())
    except (OSError, ValueError):
        return {}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


NOTABLE_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8")


def used_features(system_info: str) -> list[str]:
    """Pure: llama.cpp's system-info line -> the instruction sets its CPU backend was built
    with (``AVX2 = 1`` -> ``AVX2``)."""
    return [name for name, on in re.findall(r"([A-Z0-9_]+) = (\d)", system_info) if on == "1"]


def machine_report(threads: int, model: str) -> dict:
    """One block a user can paste when reporting slowness: CPU, build, features, threads, model."""
    flags = cpu_flags()
    report = {
        "cpu": cpu_model(),
        "cpu_flags": [f for f in NOTABLE_FLAGS if f in flags],
        "threads": threads,
        "model": model,
    }
    stamp = build_stamp()
    report["llama_build"] = stamp.get("build", "unknown (not installed by make)")
    report["llama_proven"] = stamp.get("proven")
    try:
        llama_cpp = import_llama()
    except (ImportError, OSError) as exc:
        report["llama_cpp"] = f"not importable: {exc}"
        return report
    report["llama_cpp"] = getattr(llama_cpp, "__version__", "?")
    report["llama_variant"] = loaded_variant() or ("native" if report["llama_build"] == "native" else None)
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    report["llama_features"] = used_features(info)
    return report

"""llama.cpp's speed on this machine, by build: the native build (``-march=native`` less AMX)
against the portable one (runtime CPU dispatch), in the same run, prompt reading and writing.

Each build's wheel (from install/llama.py's cache, or given) is unpacked to a temporary folder
and run in a child process that finds it first on its path, so nothing is reinstalled. Rounds
alternate the builds (A B A B ...) so that a host that slows down mid-run slows both; the table
gives each build's median and the ratio portable / native.

    .venv/bin/python bench/llama_builds.py [--model qwen2.5-coder-1.5b] [--rounds 3]
        [--native WHEEL] [--portable WHEEL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "install"))

CHILD = r"""
import json, sys, time
from rag.llama_runtime import import_llama, loaded_variant, used_features
llama_cpp = import_llama()
from llama_cpp import Llama
model, prompt_tokens, gen_tokens, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=model, n_ctx=2048, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
text = "Boil water for one minute; above 2000 metres boil it for three minutes. " * 200
tokens = llm.tokenize(text.encode())[:prompt_tokens]
llm.eval(tokens[:16])  # warm the kernels and the allocator
llm.reset()
started = time.perf_counter()
llm.eval(tokens)
read_s = time.perf_counter() - started
started = time.perf_counter()
written = 0
for token in llm.generate(tokens, temp=0.0):  # the prompt is cached: only new tokens are computed
    written += 1
    if written == gen_tokens:
        break
write_s = time.perf_counter() - started
print(json.dumps({
    "prompt_tok_s": len(tokens) / read_s,
    "gen_tok_s": written / write_s,
    "variant": loaded_variant() or "native",
    "features": used_features(llama_cpp.llama_print_system_info().decode()),
}))
"""


def cached_wheel(build: str) -> Path:
    import llama

    found = sorted((llama.cache_root() / llama.build_key(build)).glob("*.whl"))
    if not found:
        raise SystemExit(
            f"no {build} wheel built here: run .venv/bin/python install/llama.py wheel --portable --out /tmp/w"
        )
    return found[0]


def run(folder: Path, model: Path, prompt: int, gen: int, threads: int) -> dict:
    env = {"PYTHONPATH": f"{folder}:{ROOT}", "PATH": "/usr/bin:/bin"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(prompt), str(gen), str(threads)],
        env=env,
        capture_output=True,
        text=True,
    )
    if child.returncode:
        raise SystemExit(f"the {folder.name} build failed (exit {child.returncode}): {child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--native", type=Path)
    parser.add_argument("--portable", type=Path)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    from rag.llama_runtime import cpu_flags, cpu_model
    from rag.models import resolve_model
    from rag.settings import load_settings

    model = resolve_model(args.model, load_settings().cache_path)
    wheels = {"native": args.native or cached_wheel("native"), "portable": args.portable or cached_wheel("portable")}
    flags = [f for f in ("amx_tile", "avx512f", "avx512_vnni", "avx2") if f in cpu_flags()]
    print(f"CPU: {cpu_model()} ({', '.join(flags)}); model {model.name}; {args.threads} threads", flush=True)
    rows: dict[str, list[dict]] = {name: [] for name in wheels}
    with tempfile.TemporaryDirectory() as scratch:
        folders = {}
        for name, wheel in wheels.items():
            folders[name] = Path(scratch) / name
            zipfile.ZipFile(wheel).extractall(folders[name])
        for round_ in range(args.rounds):
            for name, folder in folders.items():
                row = run(folder, model, args.prompt_tokens, args.gen_tokens, args.threads)
                rows[name].append(row)
                print(
                    f"round {round_ + 1} {name:<9} {row['prompt_tok_s']:7.1f} prompt tok/s {row['gen_tok_s']:6.2f} gen tok/s ({row['variant']})",
                    flush=True,
                )
    medians = {
        name: {key: statistics.median(r[key] for r in found) for key in ("prompt_tok_s", "gen_tok_s")}
        for name, found in rows.items()
    }
    print("\n| build | CPU backend | prompt tok/s | generation tok/s |\n|---|---|---|---|")
    for name, found in rows.items():
        m = medians[name]
        print(
            f"| {name} | {found[0]['variant']} ({', '.join(found[0]['features'])}) | {m['prompt_tok_s']:.1f} | {m['gen_tok_s']:.2f} |"
        )
    p, n = medians["portable"], medians["native"]
    print(
        f"| portable / native | | {p['prompt_tok_s'] / n['prompt_tok_s']:.3f} | {p['gen_tok_s'] / n['gen_tok_s']:.3f} |"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"cpu": cpu_model(), "flags": flags, "rows": rows, "medians": medians}, indent=2)
        )


if __name__ == "__main__":
    main()

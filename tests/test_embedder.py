import numpy as np
import pytest

from ingest.embedder import LazyEmbedder


def test_query_path_matches_the_document_path(embedder, model_cache):
    query = "How long should water be boiled above 2,000 metres?"
    fast = embedder.embed_query(query)
    assert (model_cache / "onnx" / "all-MiniLM-L6-v2.v2.onnx").is_file(), (
        "the ONNX copy is exported once into the cache"
    )
    assert embedder._onnx() is not None
    reference = embedder.embed_documents([query])[0]
    assert fast.shape == (384,) and abs(float(np.linalg.norm(fast)) - 1) < 1e-5
    assert float(fast @ reference) > 0.9999


def test_lazy_embedder_knows_its_name_without_loading():
    lazy = LazyEmbedder("multilingual")
    assert (lazy.name, lazy.dimension, lazy.multilingual, lazy.loaded) == ("multilingual-e5-small", 384, True, False)
    assert LazyEmbedder("all-MiniLM-L6-v2").key == "minilm"


@pytest.mark.slow
def test_int8_embedder_is_quantised_locally_and_stays_close_to_fp32(embedder, model_cache):
    from ingest.minilm import MiniLMInt8Embedder

    int8 = MiniLMInt8Embedder(threads=2, cache_dir=model_cache)
    texts = [
        "Boil drinking water for three minutes above 2,000 metres.",
        "The jeep burns 45 litres of petrol a day.",
        "Radio check-ins are at 08:00 and 18:00 on channel 16.",
        "Myocardial infarction risk rose with elevated LDL cholesterol in the cohort.",
        "Snake bites need a firm bandage over the whole limb.",
    ]
    quantised = int8.embed_documents(texts)
    assert (model_cache / "onnx" / "all-MiniLM-L6-v2-int8.v2.onnx").is_file()
    assert not list((model_cache / "onnx").glob("*partial*")) and not list((model_cache / "onnx").glob("*fused*"))
    import onnx

    ops = {node.op_type for node in onnx.load(str(model_cache / "onnx" / "all-MiniLM-L6-v2-int8.v2.onnx")).graph.node}
    assert {"QAttention", "SkipLayerNormalization", "MatMulInteger"} <= ops, "the int8 copy is the fused graph"
    assert "IsNaN" not in ops and "Where" not in ops, "attention exported eagerly, without torch's NaN guards"
    reference = embedder.embed_documents(texts)
    similarity = (quantised * reference).sum(1)
    assert similarity.min() > 0.97, similarity
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1, atol=1e-5)
    assert float(int8.embed_query(texts[1]) @ quantised[1]) > 0.9999, "query and bulk paths agree"
    assert (quantised @ quantised.T).argmax(1).tolist() == [0, 1, 2, 3, 4]
    alone = np.vstack([int8.embed_documents([text]) for text in texts])
    assert np.array_equal(quantised, alone), "texts shared out among threads come back in order, unchanged"
    assert int8.name != embedder.name, "an index records which vectors it holds"

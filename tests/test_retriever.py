from rag.retriever import Fusion, fuse

DENSE = [("a", 0.9), ("b", 0.8), ("c", 0.5)]
LEXICAL = [("c", 12.0), ("d", 6.0), ("a", 3.0)]


def test_convex_fusion_scales_each_list_and_adds():
    fused = dict(fuse(DENSE, LEXICAL, Fusion(0.5, 0.5, candidates=3, method="convex")))
    assert fused["a"] == 0.5 * 1.0 + 0.5 * 0.0
    assert fused["c"] == 0.5 * 0.0 + 0.5 * 1.0
    assert abs(fused["b"] - 0.5 * 0.75) < 1e-9 and abs(fused["d"] - 0.5 * 1 / 3) < 1e-9


def test_convex_depth_clips_scores_below_the_cut():
    fused = dict(fuse(DENSE, [], Fusion(1.0, 0.0, candidates=2, method="convex")))
    assert fused == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_rrf_and_single_list_modes():
    fused = dict(fuse(DENSE, LEXICAL, Fusion(1.0, 1.0, rrf_k=60, method="rrf")))
    assert fused["a"] == fused["c"] == 1 / 61 + 1 / 63
    assert fused["b"] == 1 / 62 and fused["d"] == 1 / 62
    assert [i for i, _ in fuse(DENSE, LEXICAL, Fusion(0.0, 1.0, method="rrf"))] == ["c", "d", "a"]


def test_edge_side_and_join_spans():
    from ingest.catalog import StoredChunk
    from ingest.lexical import terms
    from rag.retriever import edge_side, join_spans

    text = "Intro about camps and tents. " * 6 + "The boiling time at altitude is"
    assert edge_side(text, set(terms("boiling time altitude"))) == 1
    assert edge_side("Boiling time at altitude: see below. " + "Tents and camps. " * 10, set(terms("boiling altitude"))) == -1
    assert edge_side("camps " * 5 + "boiling altitude " + "camps " * 5, set(terms("boiling altitude"))) == 0
    first = StoredChunk("a", "/d", 1, "", 0, 19, "Boil water. At alti", 0)
    second = StoredChunk("b", "/d", 1, "", 12, 40, "At altitude boil three minutes.", 1)
    assert join_spans(first, second) == "Boil water. At altitude boil three minutes."


def test_a_reranker_reorders_the_first_passages(tmp_path, embedder):
    from ingest.index import Index
    from ingest.pipeline import sync
    from rag.retriever import Retriever

    (tmp_path / "docs").mkdir()
    for name, text in {"a.md": "Boil water for one minute.", "b.md": "Boiling water kills germs in water.", "c.md": "Tents need pegs."}.items():
        (tmp_path / "docs" / name).write_text(text)
    index = Index.create(tmp_path / "idx", "r", embedder_name=embedder.name, dimension=embedder.dimension)
    with index.writer():
        sync([tmp_path / "docs"], index, embedder)

    class Reverse:
        def rerank(self, query, hits):
            return list(reversed(hits))

    plain = Retriever(index, embedder).search("boil water", 2)
    reranked = Retriever(index, embedder, reranker=Reverse(), rerank_depth=3).search("boil water", 2)
    assert len(reranked) == 2 and reranked[0].source.endswith("c.md") and plain[0].source != reranked[0].source
    index.close()

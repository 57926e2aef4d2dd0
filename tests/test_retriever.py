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
    assert (
        edge_side("Boiling time at altitude: see below. " + "Tents and camps. " * 10, set(terms("boiling altitude")))
        == -1
    )
    assert edge_side("camps " * 5 + "boiling altitude " + "camps " * 5, set(terms("boiling altitude"))) == 0
    first = StoredChunk("a", "/d", 1, "", 0, 19, "Boil water. At alti", 0)
    second = StoredChunk("b", "/d", 1, "", 12, 40, "At altitude boil three minutes.", 1)
    assert join_spans(first, second) == "Boil water. At altitude boil three minutes."


def test_a_reranker_reorders_the_first_passages(tmp_path, embedder):
    from ingest.index import Index
    from ingest.pipeline import sync
    from rag.retriever import Retriever

    (tmp_path / "docs").mkdir()
    for name, text in {
        "a.md": "Boil water for one minute.",
        "b.md": "Boiling water kills germs in water.",
        "c.md": "Tents need pegs.",
    }.items():
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


def _descending(prefix: str, count: int, high: float, low: float) -> list[tuple[str, float]]:
    step = (high - low) / (count - 1)
    return [(f"{prefix}{i}", high - i * step) for i in range(count)]


def test_adaptive_fusion_leans_on_bm25_when_one_passage_holds_a_rare_identifier():
    from rag.retriever import query_weights

    # "How do I hide outliers?" vs a passage with "set style boxplot nooutliers": the embedder
    # barely sees the passage (37th of a flat list); BM25 has it far ahead of everything else.
    dense = _descending("d", 40, 0.62, 0.50)
    dense.insert(36, ("opt", 0.505))
    lexical = [("opt", 24.0)] + _descending("d", 40, 7.0, 5.0)
    dense_weight, lexical_weight = query_weights(dense, lexical, Fusion())
    assert lexical_weight > 0.6 > 0.4 > dense_weight and abs(dense_weight + lexical_weight - 1.0) < 1e-9
    assert fuse(dense, lexical, Fusion())[0][0] == "opt"
    assert fuse(dense, lexical, Fusion(method="convex"))[0][0] == "d0"  # the fixed mix missed it


def test_adaptive_fusion_leans_on_the_embedder_for_a_paraphrase():
    from rag.retriever import query_weights

    # A question in other words than the passage: one passage stands out by meaning, while
    # BM25 scatters over passages that share common words and has the right one 12th.
    dense = [("para", 0.81)] + _descending("l", 40, 0.46, 0.40)
    lexical = _descending("l", 40, 9.0, 7.5)
    lexical.insert(11, ("para", 8.5))
    dense_weight, lexical_weight = query_weights(dense, lexical, Fusion())
    assert dense_weight > 0.6 > 0.4 > lexical_weight
    assert fuse(dense, lexical, Fusion())[0][0] == "para"


def test_adaptive_fusion_keeps_the_configured_mix_without_a_shape_to_read():
    from rag.retriever import query_weights

    dense = _descending("d", 30, 0.7, 0.4)
    assert query_weights(dense, [("x", 3.0), ("y", 2.0)], Fusion()) == (0.7, 0.3)  # too few BM25 matches
    assert query_weights(dense, [], Fusion(0.7, 0.3)) == (0.7, 0.3)
    assert query_weights(dense, [("x", 1.0)] * 5, Fusion()) == (0.7, 0.3)  # all equal
    assert query_weights(dense, _descending("l", 30, 9, 1), Fusion(1.0, 0.0)) == (1.0, 0.0)  # dense only stays so
    assert query_weights(dense, _descending("l", 30, 9, 1), Fusion(method="rrf")) == (0.7, 0.3)
    # however much more peaked one list is, the other keeps a quarter of its configured weight
    even = _descending("e", 100, 0.9, 0.3)  # evenly spaced: a peak of about 1.7
    sharp = [("s", 3000.0)] + [(f"s{i}", 1.0) for i in range(99)]  # one outlier: about 10
    dense_weight, lexical_weight = query_weights(sharp, even, Fusion())
    assert 0.75 < dense_weight < 0.85 and lexical_weight > 0.25 * 0.3


def test_the_vector_store_answers_fewer_than_asked_and_nothing_when_empty(tmp_path):
    """Searches ask for 100 candidates without counting first (one call fewer per search)."""
    import numpy as np

    from ingest.store import ChromaStore

    store = ChromaStore.embedded(tmp_path / "vectors")
    try:
        query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
        assert store.query(query, 100) == []
        vectors = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.6, 0.8, 0.0]], dtype=np.float32)
        store.upsert(["far", "same", "near"], vectors, [("a.md", "h")] * 3)
        found = store.query(query, 100)
        assert [i for i, _ in found] == ["same", "near", "far"]
        assert abs(found[0][1] - 1.0) < 1e-5 and abs(found[1][1] - 0.6) < 1e-5
    finally:
        store.close()


def test_a_hit_extended_by_the_chunk_before_starts_where_that_chunk_starts(tmp_path, embedder):
    """So that a place's passages can be put in document order (rag.context.merge_same_place)."""
    import dataclasses

    from ingest.index import Index
    from ingest.pipeline import sync
    from rag.retriever import Retriever

    (tmp_path / "docs").mkdir()
    steps = " ".join(f"Step {n}: open the valve marked gauge{n} and wait for it to settle." for n in range(1, 60))
    (tmp_path / "docs" / "pump.md").write_text(f"# Pump\n\n{steps}\n")
    index = Index.create(tmp_path / "idx", "r", embedder_name=embedder.name, dimension=embedder.dimension)
    with index.writer():
        sync([tmp_path / "docs"], index, embedder)
    retriever = Retriever(index, embedder)
    chunks = sorted(index.catalog.get_chunks(list(index.catalog.all_chunk_ids())).values(), key=lambda c: c.ordinal)
    assert len(chunks) >= 2, "the file must span chunks for this test"
    second = chunks[1]
    hit = dataclasses.replace(retriever.search("pump valve", 1)[0], id=second.id, text=second.text, ordinal=1)
    first_gauge = next(w for w in second.text.split() if w.startswith("gauge"))
    query = first_gauge  # the match sits at the chunk's start: the chunk before is added
    (extended,) = retriever.with_neighbours(query, [hit])
    assert extended.ordinal == chunks[0].ordinal == 0
    assert extended.text.startswith(chunks[0].text[:40]) and extended.text.endswith(second.text[-40:])


def test_a_chunk_in_the_other_script_is_not_ranked_down_by_the_words_it_cannot_share():
    """An English question over a mixed folder: no English word can match a Hebrew chunk, so the
    lexical list's silence about it is no evidence; it takes its dense value there too."""
    dense = [("he", 0.80), ("en1", 0.79), ("en2", 0.70), ("en3", 0.60)]
    lexical = [("en1", 3.0), ("en2", 2.0), ("en3", 1.0)]
    fusion = Fusion(0.7, 0.3, candidates=4, method="convex")
    assert fuse(dense, lexical, fusion)[0][0] == "en1"
    fused = dict(fuse(dense, lexical, fusion, unreadable={"he"}))
    assert max(fused, key=fused.get) == "he" and abs(fused["he"] - 1.0) < 1e-9
    # a chunk the lexical list did match keeps its own lexical value
    assert dict(fuse(dense, lexical, fusion, unreadable={"en3"}))["en3"] == dict(fuse(dense, lexical, fusion))["en3"]


def test_which_script_a_text_is_written_in():
    from ingest.hebrew import crosses_script, script

    assert script("How far from the tents?") == "latin" and script("כמה רחוק מהאוהלים?") == "hebrew"
    assert script("המערכת מבוססת על OpenEMR") == "hebrew" and script("42 %") == ""
    assert crosses_script("How far?", "במרחק של שלושה מטרים") and not crosses_script("How far?", "3 m")
    assert not crosses_script("על איזה מוצר קוד פתוח מבוססת המערכת?", "המערכת מבוססת מוצר Open Source בשם OpenEMR")

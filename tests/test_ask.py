"""rag ask with the real retriever and a small real GGUF (SmolLM2-135M)."""

import pytest
from conftest import make_pdf

from ingest.index import Index
from ingest.pipeline import sync
from rag.engine import Engine
from rag.prompt import declines
from rag.retriever import Retriever


@pytest.fixture(scope="module")
def handbook(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("handbook")
    make_pdf(
        root / "water.pdf",
        [
            "Water treatment overview for field teams.",
            "Boil water at a rolling boil for one minute. Above 2000 metres of altitude, boil it for three minutes.",
            "Store treated water in clean, covered containers.",
        ],
    )
    (root / "radio.md").write_text(
        "# Radio\n\nScheduled check-ins happen at 08:00 and 18:00 on channel 16.\n", encoding="utf-8"
    )
    index = Index.create(root / "idx", "h", embedder_name=embedder.name, dimension=embedder.dimension)
    with index.writer():
        sync([root], index, embedder)
    yield index
    index.close()


class LoadCounter:
    def __init__(self, generator):
        self.generator, self.loads = generator, 0

    def __call__(self):
        self.loads += 1
        return self.generator


def _tiny_engine(index, embedder, generator, verifier, *, max_answer_tokens: int) -> Engine:
    """The real engine over ``index`` with the tiny model, no answerability gate, ``verifier`` checking."""
    return Engine(
        Retriever(index, embedder),
        generator,
        top_k=3,
        max_answer_tokens=max_answer_tokens,
        min_answerable=0,
        verifier=verifier,
    )


def test_ask_streams_an_answer_grounded_in_real_passages(handbook, embedder, tiny_generator):
    from rag.verify import SHOW_ALL

    engine = _tiny_engine(handbook, embedder, tiny_generator, SHOW_ALL, max_answer_tokens=48)
    streamed = []
    answer = engine.ask("How long should water be boiled above 2000 metres?", on_text=streamed.append)
    assert streamed and "".join(streamed).strip()
    assert answer.passages[0].source.endswith("water.pdf") and answer.passages[0].page == 2
    for passage in answer.passages:  # each passage is its own file's text, as indexed
        assert passage.text in {c.text for c in handbook.catalog.chunks_of(passage.source)}, passage
    assert set(answer.cited) <= {p.n for p in answer.passages}
    timings = answer.timings
    assert timings["prompt_tokens"] > 50 and timings["ttft_ms"] > 0 and "retrieve_ms" in timings


def test_abstains_without_loading_the_model_when_nothing_is_relevant(handbook, embedder, tiny_generator):
    loader = LoadCounter(tiny_generator)
    engine = Engine(Retriever(handbook, embedder), loader, top_k=3)
    answer = engine.ask("Which team won the 1998 football world cup final?")
    assert answer.abstained and answer.abstain_reason == "no relevant passage"
    assert answer.answer == "The documents do not contain an answer to this question."
    assert loader.loads == 0


def test_a_model_that_loads_in_the_background_is_started_as_the_question_arrives(handbook, embedder, tiny_generator):
    """Its weights load while the passages and the evidence are found (rag.worker loads in its
    own process), so the answer does not wait for both one after the other."""
    loader = LoadCounter(tiny_generator)
    engine = Engine(Retriever(handbook, embedder), loader, top_k=3, start_model_early=True)
    answer = engine.ask("Which team won the 1998 football world cup final?")
    assert answer.abstained and loader.loads == 1


class Scripted:
    """Pure logic under test: how the engine reads the model's reply, not the model."""

    def __init__(self, *pieces, yes=0.9):
        self.pieces, self.yes, self.streamed = pieces, yes, 0

    def count_tokens(self, messages):
        return sum(len(m["content"]) for m in messages) // 4

    def stream(self, messages, *, max_tokens, sampling=None, prefix=""):
        self.streamed += 1
        yield from self.pieces

    def yes_probability(self, messages):
        return self.yes


def test_passages_waiting_for_vectors_are_not_abstained_on_by_the_similarity_floor(tmp_path, embedder, tiny_generator):
    """An ingest killed between its stages: every chunk is searchable by its words only. The
    relevance floor (on dense similarity) must not turn that into "the documents do not say"."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "radio.md").write_text("# Radio\n\nCheck-ins happen at 08:00 on channel 16.\n", encoding="utf-8")
    index = Index.create(tmp_path / "idx", "p", embedder_name=embedder.name, dimension=embedder.dimension)
    with index.writer():
        sync([root], index, embedder)
    ids = sorted(index.catalog.all_chunk_ids())
    index.store.delete(ids)
    index.catalog.mark_pending(ids)
    engine = Engine(Retriever(index, embedder), tiny_generator, top_k=3, max_answer_tokens=8, min_answerable=0)
    engine.min_relevance = 0.99  # no passage could pass it by similarity
    answer = engine.ask("Which channel are the radio check-ins on?")
    assert answer.abstain_reason != "no relevant passage" and answer.passages[0].source.endswith("radio.md")
    assert answer.pending_vectors == len(ids) and answer.as_dict()["pending_vectors"] == len(ids)
    index.store.upsert(ids, embedder.embed_documents(["x"] * len(ids)), [(str(root / "radio.md"), "h")] * len(ids))
    index.catalog.mark_embedded(ids)
    again = engine.ask("Which channel are the radio check-ins on?")
    assert again.abstain_reason == "no relevant passage", "with its vector stored, the floor applies again"
    index.close()


def test_a_reply_that_declines_is_an_abstention(handbook, embedder):
    scripted = Scripted("The boiling ", "time is not ", "mentioned in the ", "context", ".")
    engine = Engine(Retriever(handbook, embedder), scripted, top_k=3, min_relevance=0.0)
    answer = engine.ask("How long should water be boiled?")
    assert answer.abstained and answer.abstain_reason == "the model found no answer in the passages"


def test_evidence_comes_before_the_answer(handbook, embedder):
    events = []
    engine = Engine(Retriever(handbook, embedder), Scripted("Boil it for three minutes ", "[1]."), top_k=3)
    answer = engine.ask(
        "How long should water be boiled above 2000 metres?",
        on_evidence=lambda e: events.append(("evidence", e)),
        on_text=lambda t: events.append(("text", t)),
    )
    assert events[0][0] == "evidence" and all(kind == "text" for kind, _ in events[1:])
    evidence = events[0][1]
    assert evidence == answer.evidence and "three minutes" in evidence.text
    assert evidence.source.endswith("water.pdf") and evidence.page == 2
    assert answer.as_dict()["evidence"]["page"] == 2 and not answer.abstained


def test_a_sentence_that_fails_its_check_never_reaches_the_reader(handbook, embedder):
    """The first sentence passes and is shown; the second names numbers no passage holds: it
    is withheld, and nothing of it is streamed (no retraction after display)."""
    streamed = []
    engine = Engine(
        Retriever(handbook, embedder),
        Scripted(
            "Boil water for ", "three minutes above 2000 metres [1].", " At 3500 metres boil it", " for 12 minutes [1]."
        ),
        top_k=3,
    )
    answer = engine.ask("How long should water be boiled above 2000 metres?", on_text=streamed.append)
    assert "".join(streamed) == "Boil water for three minutes above 2000 metres [1]." == answer.answer
    assert not answer.abstained and answer.cited == [1]
    assert (
        answer.draft == "Boil water for three minutes above 2000 metres [1]. At 3500 metres boil it for 12 minutes [1]."
    )
    assert [s["shown"] for s in answer.sentences] == [True, False]
    assert "3500" not in "".join(streamed) and "12" not in "".join(streamed)

    alone = Engine(Retriever(handbook, embedder), Scripted("Boil it for ", "12 minutes at 3500 metres [1]."), top_k=3)
    streamed.clear()
    answer = alone.ask("How long should water be boiled above 2000 metres?", on_text=streamed.append)
    assert answer.draft == "Boil it for 12 minutes at 3500 metres [1]." and answer.sentences[0]["p"] == 0.0
    assert answer.extractive and not answer.abstained, "the evidence answers in the documents' own words"
    assert (
        "".join(streamed)
        == answer.answer
        == ("Your documents say: “Above 2000 metres of altitude, boil it for three minutes.” [1]")
    )
    assert answer.cited == [1] and answer.shown_sources() == [1]

    doubtful = Engine(  # the evidence not trusted either: a plain refusal, the closest passage kept
        Retriever(handbook, embedder), Scripted("Boil it for ", "12 minutes at 3500 metres [1].", yes=0.2), top_k=3
    )
    doubtful.min_answerable = 0.0
    answer = doubtful.ask("How long should water be boiled above 2000 metres?")
    assert answer.abstained and answer.answer == "The documents do not contain an answer to this question."
    assert answer.abstain_reason == "the drafted answer is not supported by the passages: 12, 3500 appear in no passage"
    assert answer.evidence is not None and "three minutes" in answer.evidence.text


def test_passages_that_do_not_state_the_answer_are_not_given_to_the_model(handbook, embedder):
    scripted = Scripted("Channel 9 [1].", yes=0.2)
    engine = Engine(Retriever(handbook, embedder), scripted, top_k=3, min_relevance=0.0, min_answerable=0.6)
    answer = engine.ask("Which radio channel is used for emergencies?")
    assert answer.abstained and answer.abstain_reason == "the passages do not state the answer"
    assert answer.timings["answerable"] == 0.2 and scripted.streamed == 0
    assert answer.answer == "The documents do not contain an answer to this question."


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("The phone number of the base camp is not provided in the given context.", True),
        ("The documents do not say.", True),
        ("This information cannot be found in the passages.", True),
        ("המידע לא מופיע במסמכים.", True),
        ("Do not cut the wound, suck out venom or apply a tourniquet. [1]", False),
        ("Keep it boiling for three minutes [2]. The context also notes fuel use.", False),
        ("No. Iodine is not effective against Cryptosporidium [3].", False),
    ],
)
def test_declines(reply, expected):
    assert declines(reply) is expected


def test_an_uncited_answer_is_matched_to_its_passage():
    from rag.engine import supporting_passages
    from rag.prompt import Passage

    passages = [
        Passage(1, "/d/radio.md", None, "Radio", "Check-ins are at 08:00 and 18:00 on channel 16."),
        Passage(2, "/d/water.pdf", 2, "Boiling", "Above 2,000 metres keep water at a rolling boil for three minutes."),
    ]
    assert supporting_passages("Keep water at a rolling boil for three minutes above 2,000 metres.", passages) == [2]
    assert supporting_passages("Penguins live in Antarctica.", passages) == []


def test_a_shown_answer_always_points_to_a_passage_an_abstention_to_none():
    from rag.engine import Answer, Evidence
    from rag.prompt import Passage

    passages = [
        Passage(1, "/d/radio.md", None, "Radio", "Check-ins are at 08:00 and 18:00 on channel 16.", ordinal=0),
        Passage(2, "/d/water.pdf", 2, "Boiling", "Above 2,000 metres boil water for three minutes.", ordinal=4),
    ]
    evidence = Evidence("Above 2,000 metres boil water for three minutes.", "/d/water.pdf", 2, "Boiling", chunk=4)
    assert Answer("q", "Three minutes [2].", False, passages, cited=[2]).shown_sources() == [2]
    uncited = Answer("q", "Three minutes.", False, passages, supported_by=[2])
    assert uncited.shown_sources() == [2]
    rows = {s["n"]: s for s in uncited.as_dict()["sources"]}
    assert rows[2]["supporting"] and not rows[2]["cited"] and not rows[1]["supporting"]
    assert Answer("q", "Three.", False, passages, evidence=evidence).shown_sources() == [2], "the evidence's passage"
    assert Answer("q", "Three.", False, passages).shown_sources() == [1], "else the best passage"
    assert Answer("q", "Not stated.", True, passages, evidence=evidence).shown_sources() == []


class Recording:
    """The real tiny model, counting the prompts it is given."""

    def __init__(self, generator):
        self.generator, self.prompts = generator, 0

    def count_tokens(self, messages):
        return self.generator.count_tokens(messages)

    def stream(self, messages, *, max_tokens, sampling=None, prefix=""):
        self.prompts += 1
        return self.generator.stream(messages, max_tokens=max_tokens, prefix=prefix)

    def yes_probability(self, messages):
        return self.generator.yes_probability(messages)


def test_english_questions_go_to_the_fast_model_and_hebrew_ones_to_the_strong_one(handbook, embedder, tiny_generator):
    from rag.models import AUTO, model_roles

    assert model_roles(AUTO) == ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
    assert model_roles("/models/x.gguf") == ("/models/x.gguf", "/models/x.gguf")
    fast, strong = Recording(tiny_generator), Recording(tiny_generator)
    loader = LoadCounter(strong)
    engine = Engine(
        Retriever(handbook, embedder),
        fast,
        strong_generator=loader,
        top_k=2,
        max_answer_tokens=8,
        min_relevance=-1,
        min_answerable=0,
    )
    engine.ask("How long should water be boiled above 2000 metres?")
    assert (fast.prompts, strong.prompts, loader.loads) == (1, 0, 0), "the strong model is not even loaded"
    engine.ask("כמה זמן מרתיחים מים?")
    engine.ask("באיזה ערוץ הקשר?")
    assert (fast.prompts, strong.prompts, loader.loads) == (1, 2, 1)
    assert Engine(Retriever(handbook, embedder), fast).strong_generator is fast, "one model serves both roles"


def test_what_the_model_was_shown_in_a_label_counts_as_support(handbook, embedder):
    """water.pdf has no sections, so its passages are labelled with the file name."""
    engine = Engine(
        Retriever(handbook, embedder),
        Scripted("The water.pdf handbook says to boil it for three minutes [1]."),
        top_k=3,
    )
    answer = engine.ask("How long should water be boiled above 2000 metres?")
    assert not answer.abstained, answer.abstain_reason


def test_a_draft_stopped_at_each_sentence_for_the_models_check_goes_on_as_it_would_have(
    handbook, embedder, tiny_generator
):
    """With a verifier that asks the model, the llama.cpp stream is stopped at every sentence
    (the check needs the same context) and resumed from the text so far: the greedy answer is
    the same as when it is never stopped, and each sentence was checked by the model."""
    from rag.verify import Verifier

    never_asks = Verifier({"bias": 30.0}, {"bias": -30.0}, 0.0, 1.0)
    asks = Verifier({"bias": 30.0, "entailed": 1e-6}, {"bias": -30.0}, 0.0, 1.0)
    question = "How long should water be boiled above 2000 metres?"
    answers = []
    for verifier in (never_asks, asks):
        answers.append(_tiny_engine(handbook, embedder, tiny_generator, verifier, max_answer_tokens=60).ask(question))
    plain, paused = answers
    assert len(paused.sentences) >= 2, paused.sentences
    assert paused.answer == plain.answer
    assert paused.timings["completion_tokens"] >= plain.timings["completion_tokens"]


def test_a_question_that_names_a_file_is_answered_from_that_file_and_a_summary_cites_only_it(handbook, embedder):
    scripted = Scripted("Store it covered [1].")
    engine = Engine(Retriever(handbook, embedder), scripted, top_k=3, min_relevance=0.0)
    answer = engine.ask("What does radio.md say about water?")
    assert answer.passages and {p.source.rsplit("/", 1)[-1] for p in answer.passages} == {"radio.md"}, (
        "only the named file's passages, though water.pdf matches the words better"
    )
    heard, streamed = [], []
    summary = engine.ask("Summarise water.pdf", on_text=streamed.append, on_progress=heard.append)
    assert not summary.abstained and summary.extractive and scripted.streamed == 1, "no model for a summary"
    assert summary.answer.startswith("Key points of water.pdf:") and "".join(streamed) == summary.answer
    assert {p.source.rsplit("/", 1)[-1] for p in summary.passages} == {"water.pdf"}
    assert summary.cited == [p.n for p in summary.passages] and {p.page for p in summary.passages} <= {1, 2, 3}
    assert "three minutes" in summary.answer and heard and heard[-1].startswith("reading water.pdf: part")


def test_the_passages_are_read_once_per_question_and_each_stage_is_timed(handbook, embedder, tiny_model, tmp_path):
    """The answerable check, the draft and each sentence's check share one prompt in llama.cpp's
    cache, and the system prompt's state comes from disk: all passes added, the model reads less
    than the draft's prompt (twice the passages would be more)."""
    from rag.generator import LlamaCppGenerator
    from rag.prompt import SYSTEM_PROMPT, USER_PREFIX
    from rag.verify import DEFAULT_VERIFIER

    LlamaCppGenerator(tiny_model, threads=2, state_dir=tmp_path).prime(SYSTEM_PROMPT, USER_PREFIX)  # saves it
    generator = LlamaCppGenerator(tiny_model, threads=2, state_dir=tmp_path)
    generator.prime(SYSTEM_PROMPT, USER_PREFIX)  # a new process: loaded, not read
    assert generator.evaluated_tokens() == 0
    engine = _tiny_engine(handbook, embedder, generator, DEFAULT_VERIFIER, max_answer_tokens=64)
    answer = engine.ask("How long should water be boiled above 2000 metres?")
    t = answer.timings
    assert t["completion_tokens"] > 0 and answer.sentences, t  # it wrote and checked at least a sentence
    assert 0 < t["prompt_tokens_read"] <= t["prompt_tokens"], t
    stages = [t["retrieve_ms"], t["evidence_ms"], t["model_ready_ms"], t["answerable_ms"], t["first_token_ms"]]
    assert stages == sorted(stages) and stages[-1] <= t["total_ms"], t
    assert t["checks_ms"] > 0, t


def test_the_model_in_its_own_process_writes_and_checks_as_it_does_in_process(handbook, embedder, tiny_model):
    """Every sentence checked by the model between two pieces of the stream: the worker's answer,
    checks and all, is the in-process one (a check never reads a piece written ahead)."""
    from rag.generator import LlamaCppGenerator
    from rag.verify import EVIDENCE_WEIGHTS, Verifier
    from rag.worker import ModelWorker

    asks_and_shows = Verifier({"bias": 30.0, "entailed": 0.001}, EVIDENCE_WEIGHTS, 0.0, 1.0)
    question = "How should water be treated and stored by field teams?"
    answers = []
    worker = ModelWorker(tiny_model, threads=2)
    try:
        for generator in (LlamaCppGenerator(tiny_model, threads=2), worker):
            engine = _tiny_engine(handbook, embedder, generator, asks_and_shows, max_answer_tokens=80)
            answers.append(engine.ask(question))
    finally:
        worker.close()
    local, remote = answers
    assert len(local.sentences) >= 2, local.sentences  # at least one check between two pieces
    assert remote.answer == local.answer
    assert [s["p"] for s in remote.sentences] == [s["p"] for s in local.sentences]


def test_the_evidence_embeds_no_sentence_that_ingest_embedded(handbook, embedder, tiny_generator):
    """The evidence is scored on the sentence vectors stage 2 stored: a question embeds only
    itself. An index without them (built before they were kept) embeds the passages' sentences
    and chooses the same evidence."""
    from test_pipeline import CountingEmbedder

    counting = CountingEmbedder(embedder)
    engine = Engine(Retriever(handbook, counting), tiny_generator, top_k=3)
    question = "How long should water be boiled above 2000 metres?"
    stored = engine.prepare(question)
    assert counting.embedded == 0 and "three minutes" in stored.evidence.text
    saved = handbook.catalog.db.execute("SELECT key, chunk, vector FROM sentence_vectors").fetchall()
    assert saved
    handbook.catalog.db.execute("DELETE FROM sentence_vectors")
    try:
        embedded = engine.prepare(question)
        assert counting.embedded > 3, "an older index: the sentences are embedded at question time"
        assert embedded.evidence == stored.evidence
        assert embedded.evidence_similarity == pytest.approx(stored.evidence_similarity, abs=5e-4), "16-bit floats"
        assert [p.text for p in embedded.passages] == [p.text for p in stored.passages]
    finally:
        handbook.catalog.db.executemany("INSERT INTO sentence_vectors VALUES (?, ?, ?)", saved)

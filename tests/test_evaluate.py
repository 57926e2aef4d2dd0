import json

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.evaluate import QaItem, contains_answer, mrr_at, ndcg_at, normalize_answer, recall_at, sample


def test_ranking_metrics():
    rels = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], rels, 10) == pytest.approx(1.0)
    assert ndcg_at(["c", "a"], rels, 10) == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625))
    assert recall_at(["c", "a"], rels, 1) == 0.0 and recall_at(["c", "a"], rels, 2) == 0.5
    assert mrr_at(["c", "x", "b"], rels, 10) == pytest.approx(1 / 3)
    assert mrr_at(["c", "x", "b"], rels, 2) == 0.0


def test_answer_normalisation_english_and_hebrew():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert contains_answer("They beat the Denver Broncos, 24–10.", ["Denver Broncos"])
    assert not contains_answer("Denverite broncos", ["Denver Broncos"])
    assert contains_answer("בנו היה רַבִּי אלעזר.", ["רבי אלעזר"])
    assert contains_answer("רשב״י", ['רשב"י'])
    assert not contains_answer("הם התחבאו בפקיעין [1].", ["פקיעין"]), "strict by default: retrieval recall is unchanged"
    assert contains_answer("הם התחבאו בפקיעין [1].", ["פקיעין"], hebrew_prefixes=True)
    assert contains_answer("ומהמערה יצאו", ["מערה"], hebrew_prefixes=True), "ו + מ + ה"
    assert not contains_answer("התערוכה נערכת מחר", ["ערכת"], hebrew_prefixes=True), "a prefix is ו ה ב כ ל מ ש only"
    assert not contains_answer("the broncos", ["roncos"], hebrew_prefixes=True)


def test_sample_is_spread_and_deterministic():
    items = [QaItem(str(i), "q", ["a"], False) for i in range(10)]
    assert [i.id for i in sample(items, 3)] == ["0", "3", "6"]
    assert len(sample(items, None)) == 10


@pytest.fixture
def beir(env_clean):
    folder = env_clean / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Boiling water", "Boil water for one minute to kill bacteria and viruses."),
        ("d2", "Compass use", "Magnetic declination is the angle between magnetic and true north."),
        ("d3", "Snake bites", "Immobilise the limb and evacuate; never cut the wound."),
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs))
    queries = [("q1", "how long to boil drinking water"), ("q2", "what is declination on a compass")]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    return folder


def test_eval_beir_end_to_end(beir):
    result = CliRunner().invoke(cli, ["eval", "beir", str(beir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] == 2 and report["ndcg@10"] == 1.0 and report["mrr@10"] == 1.0
    assert set(report["modes"]) == {"dense", "lexical", "hybrid"}
    assert {"ndcg@10", "recall@10", "recall@100", "mrr@10"} <= set(report["modes"]["dense"])
    again = json.loads(CliRunner().invoke(cli, ["eval", "beir", str(beir), "--json"]).stdout)
    assert again["ndcg@10"] == 1.0 and again["chunks"] == report["chunks"]


def test_eval_qa_with_unanswerable_questions(env_clean):
    squad = {
        "version": "v2.0",
        "data": [
            {
                "title": "Water",
                "paragraphs": [
                    {
                        "context": "Water must boil for three minutes above 2000 metres.",
                        "qas": [
                            {
                                "id": "1",
                                "question": "How long must water boil above 2000 metres?",
                                "answers": [{"text": "three minutes", "answer_start": 16}],
                                "is_impossible": False,
                            },
                            {"id": "2", "question": "Who invented the kettle?", "answers": [], "is_impossible": True},
                        ],
                    }
                ],
            },
            {
                "title": "Radio",
                "paragraphs": [
                    {
                        "context": "Check in on channel 16 at 08:00 and 18:00.",
                        "qas": [
                            {
                                "id": "3",
                                "question": "Which channel is used to check in?",
                                "answers": [{"text": "16", "answer_start": 20}],
                            },
                        ],
                    }
                ],
            },
        ],
    }
    file = env_clean / "set" / "dev.json"
    file.parent.mkdir()
    file.write_text(json.dumps(squad))
    result = CliRunner().invoke(cli, ["eval", "qa", str(file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["questions"], report["unanswerable"]) == (2, 1)
    assert report["recall@1"] == 1.0 and report["index"] == "eval-set-minilm-int8"


def test_eval_folder_finds_the_file_and_page_of_each_question(env_clean):
    from conftest import make_pdf

    docs = env_clean / "manuals"
    docs.mkdir()
    make_pdf(
        docs / "pump.pdf",
        [
            "Pump manual. Safety notes for the operator.",
            "Priming: fill the casing with water before the first start, then open the vent screw.",
            "Maintenance: replace the shaft seal every 2,000 hours of running.",
        ],
    )
    (docs / "radio.md").write_text("# Radio\n\nCheck-ins are at 08:00 and 18:00 on channel 16.\n", encoding="utf-8")
    questions = env_clean / "my-questions.jsonl"
    rows = [
        {"question": "What do I do before starting the pump the first time?", "source": "pump.pdf", "page": 2},
        {"question": "How often is the shaft seal replaced?", "source": "manuals/pump.pdf", "page": 3},
        {"question": "Which channel are the check-ins on?", "source": "radio.md"},
        {"question": "Who wrote the pump manual?"},  # no source: not scored
        {"question": "When is the seal replaced?", "source": "pump.pdf", "page": 1},  # a wrong page: not first
        {"question": "How do I reset the controller?", "source": "controller.pdf"},  # not in the folder: never found
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    args = ["eval", "folder", str(questions), "--docs", str(docs), "--index-dir", str(env_clean / "indexes")]
    result = runner.invoke(cli, args + ["--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == 5 and report["not_located"] == 1
    assert set(report["modes"]) == {"dense", "lexical", "hybrid"}
    assert report["hit@1"] == 0.6 and report["hit@5"] == 0.8, report
    assert report["modes"]["lexical"]["hit@1"] == 0.6
    assert [m["question"] for m in report["missed_at_5"]] == ["How do I reset the controller?"]
    assert set(report["mrr@10_by_dense_weight"]) == {"0.0", "0.3", "0.5", "0.7", "0.9", "1.0"}
    assert report["mrr@10_by_dense_weight"]["1.0"] == report["modes"]["dense"]["mrr@10"], "1.0 is dense alone"
    assert report["mrr@10_by_dense_weight"]["0.7"] == report["mrr@10"], "0.7 is the default mix"
    assert report["suggested_dense_weight"] is None, "five questions are too few to suggest a weight"
    assert report["dense_weight_advice"].startswith("keep dense_weight = 0.7: 20 questions or more")
    text = runner.invoke(cli, args)
    assert "not in the top 5: How do I reset the controller? (controller.pdf)" in text.stderr
    assert runner.invoke(cli, ["eval", "folder", str(questions)]).exit_code != 0, "neither --docs nor --index"


def test_the_place_of_a_hit():
    from rag.evaluate import is_the_place

    item = QaItem("1", "q", [], False, "docs/pump.pdf", 2)
    assert is_the_place("/home/me/docs/pump.pdf", 2, item)
    assert not is_the_place("/home/me/docs/pump.pdf", 3, item)
    assert not is_the_place("/home/me/olddocs/pump.pdf", 2, QaItem("1", "q", [], False, "docs/pump.pdf", 2))
    assert is_the_place("/x/radio.md", None, QaItem("1", "q", [], False, "radio.md", None))


def test_a_weight_is_suggested_only_on_enough_questions_and_a_clear_margin():
    from rag.evaluate import suggested_weight

    now = [1.0, 0.5, 0.0, 1.0] * 10  # 40 questions' reciprocal ranks with the current mix (0.7)
    better = [1.0, 1.0, 0.5, 1.0] * 10  # dense alone: as good or better on every question
    weight, line = suggested_weight({0.5: now, 0.7: now, 1.0: better}, now, 0.7)
    assert weight == 1.0
    assert line.startswith(
        "dense_weight = 1.0 (embedding search alone): MRR@10 0.8750 on your 40 questions against 0.6250 with 0.7"
    )
    assert "RAG_DENSE_WEIGHT=1.0" in line
    weight, line = suggested_weight({0.7: now[:16], 1.0: better[:16]}, now[:16], 0.7)
    assert weight is None and line == "keep dense_weight = 0.7: 20 questions or more are needed to suggest another mix"
    noisy = [1.0, 0.0, 1.0, 1.0] * 10  # higher on average, but it loses as often as it wins
    weight, line = suggested_weight({0.7: now, 0.9: noisy}, now, 0.7)
    assert weight is None and "0.9's lead (MRR@10 +0.1250) is within the noise of 40 questions" in line
    weight, line = suggested_weight({0.5: better, 0.7: better, 0.9: better}, better, 0.7)
    assert weight is None and line == "keep dense_weight = 0.7: no other mix does better on your 40 questions"


def test_dense_weight_setting_reaches_search_and_is_checked(env_clean):
    from rag.api import fusion_of
    from rag.errors import RagError
    from rag.settings import load_settings

    assert fusion_of(load_settings({})).dense_weight == 0.7
    mix = fusion_of(load_settings({}, env={"RAG_DENSE_WEIGHT": "0.9"}))
    assert (mix.dense_weight, round(mix.lexical_weight, 6)) == (0.9, 0.1)
    with pytest.raises(RagError, match="dense_weight must be between 0 and 1, not 1.5 .from RAG_DENSE_WEIGHT"):
        fusion_of(load_settings({}, env={"RAG_DENSE_WEIGHT": "1.5"}))

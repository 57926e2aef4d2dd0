"""The sentence verifier (rag.verify): collect its signals on a set, fit them, draw the curve.

    .venv/bin/python bench/verifier.py collect --set manuals      # drafts + signals -> bench/runs/manuals.jsonl
    .venv/bin/python bench/verifier.py collect --set xquad --questions 40
    .venv/bin/python bench/verifier.py collect --set hebrew-pdf
    .venv/bin/python bench/verifier.py fit                        # fit on manuals, check on the others

collect: for each question, the engine's own steps (retrieve, evidence, context, the model's
answerability P(yes)), then the model's whole greedy draft, cut into sentences as the engine
cuts its stream; for each sentence every signal of rag.verify (the model's P(yes) that its
passage states it, and that any passage does, included) and whether it states a gold answer;
for the evidence sentence its signals and the same label. Nothing is gated: the rows hold
what every setting of the verifier would do with them.

fit: labels are the gold spans (strict) or, where the reviewed file bench/reviewed/SET.jsonl
judges a text, that judgement (answers in other words; each judgement is kept with the text it
judged and why). A logistic regression per kind (drafted sentence, evidence sentence), its L2
strength chosen by 5-fold cross-validation over questions; the thresholds, then, by the
out-of-fold predictions. Printed: each signal's weight and the cross-validated AUC with and
without it; the trade-off (shown-wrong against right answers shown) for each threshold pair,
nested cross-validated on manuals-qa; the same for the other sets with the manuals-qa fit;
and today's rule (answerability >= 0.50, then the support check) from the same rows.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "bench" / "runs"
REVIEWED = ROOT / "bench" / "reviewed"
sys.path.insert(0, str(ROOT / "bench"))


def collect(set_name: str, questions: int | None, max_tokens: int) -> Path:
    import numpy as np
    from answer import SETS, load_set

    from ingest.paths import file_name
    from rag.api import build_engine, opened_index, run_ingest
    from rag.citations import CitationFilter
    from rag.evaluate import contains_answer, eval_index_name
    from rag.prompt import check_messages, declines, statement_messages
    from rag.settings import load_settings
    from rag.support import check_answer
    from rag.verify import (
        SentenceSplitter,
        evidence_signals,
        plain,
        sentence_signals,
        supporting_passage,
    )

    embedder = SETS[set_name][1]
    settings = load_settings({"embedder": embedder} if embedder else {})
    source, folder, items = load_set(set_name, settings, questions)
    settings.index = eval_index_name(source, settings.embedder)
    run_ingest(settings, [str(folder)])
    RUNS.mkdir(parents=True, exist_ok=True)
    out_path = RUNS / f"{set_name}.jsonl"
    with opened_index(settings) as index, open(out_path, "w", encoding="utf-8") as out:
        engine = build_engine(settings, index)
        engine.prepare("What is this document about?")  # loads the embedder
        engine.generator_for("x").yes_probability([{"role": "user", "content": "Is this warm? Reply yes or no."}])
        for number, item in enumerate(items, 1):
            right = lambda text, gold=item.answers: contains_answer(text, gold, hebrew_prefixes=True)  # noqa: E731
            started = time.perf_counter()
            prepared = engine.prepare(item.question)
            row = {"id": item.id, "question": item.question, "gold": item.answers, "unanswerable": item.impossible}
            if prepared.messages is None:
                row["no_passage"] = True
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                continue
            generator, passages = prepared.generator, prepared.passages
            question = prepared.question
            answerable = generator.yes_probability(check_messages(question, passages))
            checked = time.perf_counter()
            citations = CitationFilter({p.n for p in passages}, {p.n: p.text for p in passages})
            splitter, sentences, first = SentenceSplitter(), [], None
            for piece in generator.stream(prepared.messages, max_tokens=max_tokens):
                first = first or time.perf_counter()
                sentences += [s.strip() for s in splitter.feed(citations.feed(piece))]
            tail = splitter.feed(citations.flush()) + [splitter.flush()]
            sentences += [s.strip() for s in tail if s.strip()]
            drafted = time.perf_counter()
            draft = " ".join(sentences)
            seen = "\n".join(f"{p.label()}{p.heading}\n{p.text}\n{file_name(p.source)}" for p in passages)
            evidence = prepared.evidence.text if prepared.evidence else ""
            rows = []
            for position, sentence in enumerate(sentences):
                n = supporting_passage(sentence, passages)
                before = time.perf_counter()
                entailed = generator.yes_probability(statement_messages(question, passages, plain(sentence), n))
                check_ms = (time.perf_counter() - before) * 1000
                entailed_any = generator.yes_probability(statement_messages(question, passages, plain(sentence)))
                signals = sentence_signals(
                    sentence,
                    question=question,
                    passages=passages,
                    evidence=evidence,
                    answerable=answerable,
                    entailed=entailed,
                    position=position,
                    seen=seen,
                )
                rows.append(
                    {
                        "text": sentence,
                        "signals": asdict(signals),
                        "entailed_any": entailed_any,
                        "declines": declines(sentence),
                        "right": right(plain(sentence)),
                        "check_ms": round(check_ms, 1),
                    }
                )
            similarity = 0.0
            if evidence and engine.retriever.embedder is not None:
                vectors = engine.retriever.embedder.embed_documents([evidence])
                similarity = float(vectors[0] @ engine.retriever.embedder.embed_query(question))
            top = bool(prepared.evidence and passages and prepared.evidence.source == passages[0].source)
            support = check_answer(draft, seen, question) if draft else None
            row.update(
                answerable=answerable,
                draft=draft,
                declined=bool(sentences) and declines(sentences[0]),
                draft_right=right(plain(draft)),
                support_reason="" if support is None or support.supported else support.reason,
                sentences=rows,
                evidence=evidence,
                evidence_signals=asdict(
                    evidence_signals(question, evidence, answerable=answerable, similarity=similarity, top=top)
                ),
                evidence_right=bool(evidence) and right(evidence),
                timings={
                    "check_ms": round((checked - started) * 1000, 1),
                    "first_token_ms": round(((first or drafted) - started) * 1000, 1),
                    "draft_ms": round((drafted - started) * 1000, 1),
                },
            )
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            print(f"\r{set_name} {number}/{len(items)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    np.random.seed(0)
    return out_path


# --- fitting -------------------------------------------------------------------------------------

SENTENCE_KEYS = ["answerable", "entailed", "support", "later", "unanchored"]
"""Chosen by cross-validated AUC over subsets of the nine signals on manuals-qa (reviewed labels):
these five 0.748-0.758 over four fold seeds, all nine 0.72 (fewer weights generalise better from
193 sentences); the model's statement check alone is 0.72, lexical support alone 0.61."""
EVIDENCE_KEYS = ["answerable", "similarity", "question", "top"]
PENALTIES = [0.01, 0.1, 1.0, 10.0]


def load_rows(set_name: str) -> list[dict]:
    path = RUNS / f"{set_name}.jsonl"
    return [json.loads(line) for line in path.open(encoding="utf-8")] if path.exists() else []


def load_reviews(set_name: str) -> dict[str, dict]:
    path = REVIEWED / f"{set_name}.jsonl"
    if not path.exists():
        return {}
    return {r["id"]: r for r in map(json.loads, path.open(encoding="utf-8"))}


def verdict(text: str, row: dict, review: dict | None, strict: bool) -> str:
    """ "right" (states the answer, or a key part, in any words), "neutral" (answers nothing,
    says nothing false) or "wrong", for ``text`` shown for ``row``'s question. Strict: a gold
    span decides (right, else wrong); reviewed: the judgement of this very text where the
    reviewed file has one (else the strict verdict)."""
    from rag.evaluate import contains_answer
    from rag.verify import plain

    if row["unanswerable"]:
        return "wrong"
    text = plain(text)
    if contains_answer(text, row["gold"], hebrew_prefixes=True):
        return "right"
    if not strict and review:
        for judgement in review.get("judged", []):
            if plain(judgement["text"]) == text:
                return judgement["verdict"]
    return "wrong"


def judged_right(text: str, row: dict, review: dict | None, strict: bool) -> bool:
    return verdict(text, row, review, strict) == "right"


def shown_outcome(texts: list[str], row: dict, review: dict | None, strict: bool) -> str:
    """A shown answer is right when one of its sentences states the answer and none is wrong."""
    verdicts = [verdict(t, row, review, strict) for t in texts]
    return "right" if "right" in verdicts and "wrong" not in verdicts else "wrong"


def vector(values: dict, keys: list[str]) -> list[float]:
    return [1.0] + [float(values[k]) for k in keys]


def fit_logistic(x, y, penalty: float):
    """L2-regularised logistic regression by Newton's method (the bias is not penalised)."""
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.zeros(x.shape[1])
    ridge = np.eye(x.shape[1]) * penalty
    ridge[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + ridge + np.eye(len(w)) * 1e-9
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w, x):
    import numpy as np

    return 1 / (1 + np.exp(-np.clip(np.asarray(x, float) @ w, -30, 30)))


def auc(scores, labels) -> float:
    pos = [s for s, good in zip(scores, labels) if good]
    neg = [s for s, good in zip(scores, labels) if not good]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def folds_of(ids: list[str], k: int = 5, seed: int = 13) -> dict[str, int]:
    order = sorted(set(ids))
    random.Random(seed).shuffle(order)
    return {q: i % k for i, q in enumerate(order)}


def out_of_fold(samples, keys, fold_of, penalty):
    """Each sample's prediction by a model fit without its question's fold."""
    predictions = [0.0] * len(samples)
    for fold in set(fold_of.values()):
        train = [s for s in samples if fold_of[s["qid"]] != fold]
        if not train or len({s["y"] for s in train}) < 2:
            continue
        w = fit_logistic([vector(s["x"], keys) for s in train], [s["y"] for s in train], penalty)
        for i, s in enumerate(samples):
            if fold_of[s["qid"]] == fold:
                predictions[i] = float(predict(w, [vector(s["x"], keys)])[0])
    return predictions


def best_penalty(samples, keys, fold_of) -> float:
    def loss(penalty):
        p = out_of_fold(samples, keys, fold_of, penalty)
        return -sum(math.log(max(1e-6, q if s["y"] else 1 - q)) for q, s in zip(p, samples))

    return min(PENALTIES, key=loss)


def samples_of(rows: list[dict], reviews: dict, strict: bool):
    sentences, evidence = [], []
    for row in rows:
        if row.get("no_passage"):
            continue
        review = reviews.get(row["id"])
        for s in row["sentences"]:
            sentences.append({"qid": row["id"], "x": s["signals"], "y": judged_right(s["text"], row, review, strict)})
        if row["evidence"]:
            evidence.append(
                {
                    "qid": row["id"],
                    "x": row["evidence_signals"],
                    "y": judged_right(row["evidence"], row, review, strict),
                }
            )
    return sentences, evidence


def outcome(row: dict, p_sentences: list[float], p_evidence: float, t: float, te: float, review, strict: bool):
    """What a reader sees for one question at thresholds (t, te): "right", "wrong" or "silent",
    and how: "model", "evidence" or "none". Sentences are shown while they pass; the first that
    fails ends the answer; a declining first sentence is an abstention."""
    if row.get("no_passage"):
        return "silent", "none"
    shown = []
    for s, p in zip(row["sentences"], p_sentences):
        if s["declines"] or p < t:
            break
        shown.append(s["text"])
    if shown:
        return shown_outcome(shown, row, review, strict), "model"
    if row["evidence"] and p_evidence >= te:
        return shown_outcome([row["evidence"]], row, review, strict), "evidence"
    return "silent", "none"


def today(row: dict, review, strict: bool) -> str:
    """Today's rule on the same draft: answerability >= 0.50, a decline abstains, the support
    check retracts (what the reader saw before the retraction is not counted here)."""
    if row.get("no_passage") or row["answerable"] < 0.5 or row["declined"] or row["support_reason"]:
        return "silent"
    return shown_outcome([s["text"] for s in row["sentences"]], row, review, strict)


def rates(results: list[tuple[dict, str]]) -> tuple[float, float]:
    """(shown-wrong share of all questions, right answers shown among the answerable ones)."""
    answerable = sum(not row["unanswerable"] for row, _ in results)
    wrong = sum(seen == "wrong" for _, seen in results)
    right = sum(seen == "right" for _, seen in results)
    return wrong / len(results), right / max(1, answerable)


THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]


def choose(points, limit: float):
    """The setting a reader would pick: the most right answers shown with at most ``limit`` of
    all questions shown wrong (the fewest wrong among equals)."""
    allowed = [p for p in points if p[2] <= limit]
    if not allowed:
        return None
    return max(allowed, key=lambda p: (round(p[3], 6), -p[2]))


def curve(rows, p_sentence, p_evidence, reviews, strict):
    points = []
    for t in THRESHOLDS:
        for te in THRESHOLDS + [1.01]:
            results = [
                (
                    row,
                    outcome(
                        row,
                        p_sentence[row["id"]],
                        p_evidence.get(row["id"], 0.0),
                        t,
                        te,
                        reviews.get(row["id"]),
                        strict,
                    )[0],
                )
                for row in rows
            ]
            wrong, right = rates(results)
            points.append((t, te, wrong, right))
    return points


def predictions(rows, sentence_model, evidence_model):
    ps, pe = {}, {}
    for row in rows:
        if row.get("no_passage"):
            ps[row["id"]] = []
            continue
        ps[row["id"]] = [
            float(predict(sentence_model, [vector(s["signals"], SENTENCE_KEYS)])[0]) for s in row["sentences"]
        ]
        pe[row["id"]] = (
            float(predict(evidence_model, [vector(row["evidence_signals"], EVIDENCE_KEYS)])[0])
            if row["evidence"]
            else 0.0
        )
    return ps, pe


def fit(limit: float, strict_only: bool, train: list[str], check: list[str], evidence_train: list[str] | None) -> None:
    rows = [row for name in train for row in load_rows(name)]
    if not rows:
        sys.exit(f"no bench/runs/{train[0]}.jsonl: run `bench/verifier.py collect --set {train[0]}` first")
    reviews = {k: v for name in train for k, v in load_reviews(name).items()}
    for strict in [True] if strict_only else [True, False]:
        label = "strict spans" if strict else "reviewed"
        sentences, evidence = samples_of(rows, reviews, strict)
        fold_of = folds_of([r["id"] for r in rows])
        if evidence_train:  # the evidence model from other sets too: its signals mean the same in every language
            pooled = [row for name in evidence_train for row in load_rows(name)]
            pooled_reviews = {k: v for name in evidence_train for k, v in load_reviews(name).items()}
            evidence = samples_of(pooled, pooled_reviews, strict)[1]
            fold_of = {**folds_of([r["id"] for r in pooled]), **fold_of}
        print(
            f"\n### {'+'.join(train)}, {label}: {len(sentences)} drafted sentences ({sum(s['y'] for s in sentences)} right), "
            f"{len(evidence)} evidence sentences ({sum(s['y'] for s in evidence)} right)"
        )
        models = {}
        for kind, samples, keys in (("sentence", sentences, SENTENCE_KEYS), ("evidence", evidence, EVIDENCE_KEYS)):
            penalty = best_penalty(samples, keys, fold_of)
            oof = out_of_fold(samples, keys, fold_of, penalty)
            w = fit_logistic([vector(s["x"], keys) for s in samples], [s["y"] for s in samples], penalty)
            models[kind] = w
            print(f"{kind}: L2 {penalty}, cross-validated AUC {auc(oof, [s['y'] for s in samples]):.3f}")
            for i, key in enumerate(keys, 1):
                rest = [k for k in keys if k != key]
                without = auc(out_of_fold(samples, rest, fold_of, penalty), [s["y"] for s in samples])
                print(f"  {key:<12} weight {w[i]:+.3f}   AUC without it {without:.3f}")
            print(f"  {'bias':<12} weight {w[0]:+.3f}")
        # nested: thresholds chosen on the training folds' own out-of-fold predictions, applied to the held-out fold
        nested = []
        for fold in sorted(set(fold_of.values())):
            train_rows = [r for r in rows if fold_of[r["id"]] != fold]
            test_rows = [r for r in rows if fold_of[r["id"]] == fold]
            s_train = [s for s in sentences if fold_of[s["qid"]] != fold]
            e_train = [s for s in evidence if fold_of[s["qid"]] != fold]
            inner = folds_of([r["id"] for r in train_rows] + [s["qid"] for s in e_train], seed=fold + 100)
            ps_in = dict(zip([i for i in range(len(s_train))], out_of_fold(s_train, SENTENCE_KEYS, inner, 1.0)))
            pe_in = out_of_fold(e_train, EVIDENCE_KEYS, inner, 1.0)
            by_q_s, by_q_e = {}, {}
            for i, s in enumerate(s_train):
                by_q_s.setdefault(s["qid"], []).append(ps_in[i])
            for s, p in zip(e_train, pe_in):
                by_q_e[s["qid"]] = p
            for r in train_rows:
                by_q_s.setdefault(r["id"], [])
            pick = choose(curve(train_rows, by_q_s, by_q_e, reviews, strict), limit) or (0.95, 1.01, 0, 0)
            ws = fit_logistic([vector(s["x"], SENTENCE_KEYS) for s in s_train], [s["y"] for s in s_train], 1.0)
            we = fit_logistic([vector(s["x"], EVIDENCE_KEYS) for s in e_train], [s["y"] for s in e_train], 1.0)
            ps, pe = predictions(test_rows, ws, we)
            for row in test_rows:
                seen, how = outcome(
                    row, ps[row["id"]], pe.get(row["id"], 0.0), pick[0], pick[1], reviews.get(row["id"]), strict
                )
                nested.append((row, seen, how))
        wrong, right = rates([(r, s) for r, s, _ in nested])
        via = {h: sum(1 for _, s, hh in nested if hh == h and s == "right") for h in ("model", "evidence")}
        base = rates([(r, today(r, reviews.get(r["id"]), strict)) for r in rows])
        print(
            f"nested cross-validation (limit {limit}): shown-wrong {wrong:.3f}, right shown {right:.3f} "
            f"(by the model {via['model']}, by the evidence {via['evidence']}); today's rule: shown-wrong {base[0]:.3f}, right {base[1]:.3f}"
        )
        ps, pe = predictions(rows, models["sentence"], models["evidence"])
        points = curve(rows, ps, pe, reviews, strict)
        front = sorted({(round(p[2], 3), round(p[3], 3)): p for p in points}.values(), key=lambda p: (p[2], -p[3]))
        best = []
        for p in front:
            if not best or p[3] > best[-1][3]:
                best.append(p)
        print("trade-off (in-sample fit; thresholds sentence/evidence -> shown-wrong, right shown):")
        for t, te, w_, r_ in best:
            print(f"  {t:.2f}/{te:.2f} -> {w_:.3f}, {r_:.3f}")
        pick = choose(points, limit)
        print(f"chosen at shown-wrong <= {limit}: {pick}")
        print(
            "weights:",
            json.dumps(
                {
                    "sentence": dict(
                        zip(["bias"] + SENTENCE_KEYS, map(lambda v: round(float(v), 4), models["sentence"]))
                    ),
                    "evidence": dict(
                        zip(["bias"] + EVIDENCE_KEYS, map(lambda v: round(float(v), 4), models["evidence"]))
                    ),
                }
            ),
        )
        for other in check:
            other_rows = load_rows(other)
            if not other_rows or not pick:
                continue
            other_reviews = load_reviews(other)
            ps, pe = predictions(other_rows, models["sentence"], models["evidence"])
            results = [
                (
                    r,
                    outcome(r, ps[r["id"]], pe.get(r["id"], 0.0), pick[0], pick[1], other_reviews.get(r["id"]), strict)[
                        0
                    ],
                )
                for r in other_rows
            ]
            wrong_o, right_o = rates(results)
            base_o = rates([(r, today(r, other_reviews.get(r["id"]), strict)) for r in other_rows])
            print(
                f"{other} with the {'+'.join(train)} fit: shown-wrong {wrong_o:.3f}, right shown {right_o:.3f}; "
                f"today's rule {base_o[0]:.3f}, {base_o[1]:.3f} ({len(other_rows)} questions)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--set", dest="set_name", default="manuals")
    c.add_argument("--questions", type=int)
    c.add_argument("--max-tokens", type=int, default=160)
    f = sub.add_parser("fit")
    f.add_argument("--limit", type=float, default=0.10, help="most shown-wrong a reader accepts")
    f.add_argument("--strict-only", action="store_true")
    f.add_argument("--train", nargs="+", default=["manuals"], help="the sets fit on")
    f.add_argument("--check", nargs="+", default=["xquad", "hebrew-pdf", "heq"], help="the sets the fit is checked on")
    f.add_argument("--evidence-train", nargs="+", help="fit the evidence model on these sets (default: --train)")
    args = parser.parse_args()
    if args.command == "collect":
        print(collect(args.set_name, args.questions, args.max_tokens))
    else:
        fit(args.limit, args.strict_only, args.train, args.check, args.evidence_train)


if __name__ == "__main__":
    main()

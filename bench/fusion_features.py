"""Fusion weights read from each query's lists, chosen by leave-one-collection-out: do they
generalise where today's adaptive rule does not (ArguAna, CoSQA)?

bench/fusion.py scores fixed rules (convex, RRF, adaptive, dense-if-BM25-is-flat). This one scores
rules whose dense share is a function of features of the query and of its two candidate lists,
on the same cached lists (run bench/fusion.py first; it caches, with each query, the cosine of
every lexical candidate and the BM25 score of every dense candidate):

- peaks: how far each list's best stands out (today's adaptive rule, ``rag.retriever.peak``);
- endorsement: how the embedder scores BM25's best (0 = at the dense list's rank-100 score,
  1 = at its best) and how BM25 scores the embedder's best; one list's winner that the other
  list also likes is a consensus;
- agreement of the two top tens, the best cosine, the query's length in terms.

Families, each chosen leave-one-collection-out (best mean regret against the better single list
on the other collections, the rule bench/fusion.py uses; and, second, the best worst-case regret):
- adaptive: today's family (base dense share, adaptation toward the peaks' share);
- endorsement: adaptive plus a shift toward the list whose winner the other list endorses, and
  toward dense when neither endorses the other's;
- dense-gated: adaptive, but a lexical candidate the embedder puts below a threshold gets no
  lexical credit (a BM25 match the embedder finds unrelated);
- learned: a logistic dense share over all the features above, fitted on the other collections
  (seeded random search; the held-out collection is never seen).

Each query's score as a function of its dense share is tabulated once (101 shares), so choosing
and fitting are fast; the held-out numbers are then scored exactly at the chosen shares.

    .venv/bin/python bench/fusion.py            # once: searches, caches the lists
    .venv/bin/python bench/fusion_features.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fusion import CANDIDATES, DEVELOPMENT, SETS, TOLERANCE, Query, searched  # noqa: E402

from ingest.lexical import terms  # noqa: E402
from rag.retriever import Fusion, peak, query_weights  # noqa: E402

GRID = np.linspace(0.0, 1.0, 101)
DEFAULT = Fusion()
FEATURES = ("peak share", "BM25 of dense's best", "cosine of BM25's best", "top-10 overlap", "best cosine", "log terms")


def _span(ranked: list[tuple[str, float]]) -> tuple[float, float]:
    return ranked[0][1], ranked[min(CANDIDATES, len(ranked)) - 1][1]


def _scaled(value: float, span: tuple[float, float]) -> float:
    top, low = span
    return (value - low) / (top - low) if top > low else 1.0


@dataclass
class Prepared:
    """One query as arrays: the union of its candidates, each one's min-max dense and lexical
    value as ``rag.retriever.fuse`` computes them, the embedder's view of each, and features."""

    query: Query
    ids: list[str]
    dense: np.ndarray
    lexical: np.ndarray
    embedder_view: np.ndarray
    """Each candidate's cosine scaled like the dense list (below 0 for ones under its rank 100)."""
    features: dict[str, float]

    @classmethod
    def of(cls, q: Query) -> Prepared:
        ids = list(dict.fromkeys([c for c, _ in q.dense] + [c for c, _ in q.lexical]))
        d, lx = dict(q.dense), dict(q.lexical)
        cosine = {**(q.cross_dense or {}), **d}
        bm25 = {**(q.cross_lexical or {}), **lx}
        ds = _span(q.dense) if q.dense else (1.0, 0.0)
        ls = _span(q.lexical) if q.lexical else (1.0, 0.0)
        dense = np.array([max(0.0, _scaled(d[c], ds)) if c in d else 0.0 for c in ids])
        lexical = np.array([max(0.0, _scaled(lx[c], ls)) if c in lx else 0.0 for c in ids])
        view = np.array([_scaled(cosine[c], ds) if c in cosine else -1.0 for c in ids])
        dp, lp = peak(q.dense, CANDIDATES), peak(q.lexical, CANDIDATES)
        features = {
            "dp": dp,
            "lp": lp,
            "endorse_dense": min(1.0, max(0.0, _scaled(bm25.get(q.dense[0][0], 0.0), ls))) if q.dense else 0.0,
            "endorse_lexical": min(1.0, max(0.0, _scaled(cosine.get(q.lexical[0][0], ds[1]), ds)))
            if q.lexical
            else 0.0,
            "overlap": len({c for c, _ in q.dense[:10]} & {c for c, _ in q.lexical[:10]}) / 10,
            "cosine": q.dense[0][1] if q.dense else 0.0,
            "terms": float(len(terms(q.text))),
        }
        return cls(q, ids, dense, lexical, view, features)

    def score(self, share: float, gate: float | None = None) -> float:
        lexical = self.lexical if gate is None else np.where(self.embedder_view >= gate, self.lexical, 0.0)
        fused = share * self.dense + (1 - share) * lexical
        order = np.argsort(-fused, kind="stable")[:60]
        return self.query.score([self.ids[i] for i in order])


@dataclass
class Collection:
    name: str
    metric: str
    queries: list[Prepared]
    dense: float
    lexical: float
    curves: dict[float | None, np.ndarray]
    """Gate (None: none) -> each query's score at each share of ``GRID``."""

    @property
    def better(self) -> float:
        return max(self.dense, self.lexical)

    def feature(self, key: str) -> np.ndarray:
        return np.array([p.features[key] for p in self.queries])

    def value(self, shares: np.ndarray, gate: float | None = None) -> float:
        """Mean score at per-query ``shares``, read from the tabulated curves (nearest share)."""
        curves = self.curves[gate]
        return float(curves[np.arange(len(curves)), _at(shares)].mean())

    def exact(self, shares: np.ndarray, gate: float | None = None) -> float:
        return statistics.fmean(p.score(float(s), gate) for p, s in zip(self.queries, shares))


GATES = (None, 0.0, 0.3)


def load(name: str) -> Collection:
    metric, queries = searched(name, fresh=False)
    if queries and queries[0].cross_dense is None:
        sys.exit(f"{name}: the cached lists predate cross scores; run bench/fusion.py --fresh --sets {name}")
    prepared = [Prepared.of(q) for q in queries]
    curves = {gate: np.array([[p.score(float(s), gate) for s in GRID] for p in prepared]) for gate in GATES}
    dense = statistics.fmean(q.score([c for c, _ in q.dense]) for q in queries)
    lexical = statistics.fmean(q.score([c for c, _ in q.lexical]) for q in queries)
    return Collection(name, metric, prepared, dense, lexical, curves)


def peak_share(c: Collection, base: float) -> np.ndarray:
    dp, lp = c.feature("dp"), c.feature("lp")
    ok = (dp > 0) & (lp > 0)
    return np.where(ok, dp / np.where(ok, dp + lp, 1.0), base)


Rule = Callable[[Collection], np.ndarray]


def adaptive(base: float, a: float, b: float = 0.0, disagree: float = 0.0) -> Rule:
    def shares(c: Collection) -> np.ndarray:
        ed, el = c.feature("endorse_dense"), c.feature("endorse_lexical")
        s = base + a * (peak_share(c, base) - base) + b * (ed - el) + disagree * (1 - np.maximum(ed, el))
        return np.clip(s, 0.0, 1.0)

    return shares


def families() -> dict[str, dict[str, tuple[Rule, float | None]]]:
    grid = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    found: dict[str, dict[str, tuple[Rule, float | None]]] = {"adaptive": {}, "endorsement": {}, "dense-gated": {}}
    for base in grid:
        for a in (0.0, 0.25, 0.5, 0.75, 1.0):
            found["adaptive"][f"{base} a={a}"] = (adaptive(base, a), None)
            for gate in GATES[1:]:
                found["dense-gated"][f"{base} a={a} gate={gate}"] = (adaptive(base, a), gate)
            for b in (0.1, 0.2, 0.3, 0.5):
                for disagree in (0.0, 0.1, 0.2, 0.3):
                    found["endorsement"][f"{base} a={a} b={b} d={disagree}"] = (adaptive(base, a, b, disagree), None)
    return found


def design(c: Collection) -> np.ndarray:
    """The learned family's inputs, centred near zero."""
    columns = [
        peak_share(c, 0.5) - 0.5,
        c.feature("endorse_dense") - 0.5,
        c.feature("endorse_lexical") - 0.5,
        c.feature("overlap") - 0.3,
        c.feature("cosine") - 0.7,
        np.log1p(c.feature("terms")) - 2.0,
    ]
    return np.stack(columns, axis=1)


def learned(train: list[Collection], worst_case: bool, seed: int = 0) -> np.ndarray:
    """Weights of a logistic dense share, by seeded random search on ``train`` alone."""
    rng = np.random.default_rng(seed)
    inputs = {c.name: design(c) for c in train}

    def objective(w: np.ndarray) -> float:
        regrets = [c.value(1 / (1 + np.exp(-(w[0] + inputs[c.name] @ w[1:])))) - c.better for c in train]
        return min(regrets) if worst_case else statistics.fmean(regrets)

    w = np.zeros(len(FEATURES) + 1)
    w[0], w[1] = math.log(0.7 / 0.3), 3.0  # start at roughly today's rule
    best, step = objective(w), 1.0
    for i in range(600):
        trial = w + rng.normal(0, step, w.shape) * (rng.random(w.shape) < 0.35)
        value = objective(trial)
        if value > best:
            w, best = trial, value
        if i % 150 == 149:
            step *= 0.5
    return w


def choose(train: list[Collection], members: dict[str, tuple[Rule, float | None]], worst_case: bool) -> str:
    def merit(item: str) -> float:
        rule, gate = members[item]
        regrets = [c.value(rule(c), gate) - c.better for c in train]
        return min(regrets) if worst_case else statistics.fmean(regrets)

    return max(members, key=merit)


def advice(collections: list[Collection], sizes=(30, 60, 150), draws: int = 200, seed: int = 0) -> dict:
    """What `rag eval folder`'s dense_weight advice does for a user who has ``size`` questions:
    score each weight on a random sample of the collection's queries, follow the advice rule
    (``rag.evaluate.suggested_weight``), and measure the change on the other queries."""
    from rag.evaluate import DENSE_WEIGHTS, suggested_weight

    rng = np.random.default_rng(seed)
    out = {}
    for c in collections:
        per = {
            w: c.curves[None][np.arange(len(c.queries)), _at(adaptive(w, DEFAULT.adaptation)(c))] for w in DENSE_WEIGHTS
        }
        for size in sizes:
            if len(c.queries) < 2 * size:
                continue
            changes, advised = [], 0
            for _ in range(draws):
                order = rng.permutation(len(c.queries))
                sample, rest = order[:size], order[size:]
                by_weight = {w: per[w][sample].tolist() for w in DENSE_WEIGHTS}
                weight, _ = suggested_weight(by_weight, by_weight[DEFAULT.dense_weight], DEFAULT.dense_weight)
                chosen = DEFAULT.dense_weight if weight is None else weight
                advised += weight is not None
                changes.append(float(per[chosen][rest].mean() - per[DEFAULT.dense_weight][rest].mean()))
            out[f"{c.name} {size}"] = {
                "advised": advised / draws,
                "mean change": statistics.fmean(changes),
                "worse by > 0.005": sum(x < -TOLERANCE for x in changes) / draws,
                "better by > 0.005": sum(x > TOLERANCE for x in changes) / draws,
            }
    return out


def _at(shares: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(shares) * (len(GRID) - 1)).astype(int), 0, len(GRID) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    collections = []
    for name in args.sets:
        print(f"{name}: tabulating", file=sys.stderr, flush=True)
        collections.append(load(name))
    today = {
        c.name: c.exact(np.array([query_weights(p.query.dense, p.query.lexical, DEFAULT)[0] for p in c.queries]))
        for c in collections
    }
    results: dict[str, dict[str, tuple[str, float]]] = {}
    for family, members in [*families().items(), ("learned", {})]:
        for worst_case in (False, True):
            label = f"{family}, chosen by {'worst' if worst_case else 'mean'} regret"
            print(f"{label}: leave-one-collection-out", file=sys.stderr, flush=True)
            results[label] = {}
            for held in collections:
                train = [c for c in collections if c is not held]
                if family == "learned":
                    w = learned(train, worst_case)
                    shares = 1 / (1 + np.exp(-(w[0] + design(held) @ w[1:])))
                    results[label][held.name] = ("w=" + " ".join(f"{v:.2f}" for v in w), held.exact(shares))
                else:
                    pick = choose(train, members, worst_case)
                    rule, gate = members[pick]
                    results[label][held.name] = (pick, held.exact(rule(held), gate))
    development = [c for c in collections if c.name in DEVELOPMENT]
    print("| family (LOCO choice) | " + " | ".join(c.name for c in collections) + " | mean | within target |")
    print("|---|" + "---|" * (len(collections) + 2))
    row = " | ".join(f"{c.dense:.4f} / {c.lexical:.4f}" for c in collections)
    print(f"| dense / lexical | {row} | | |")
    print(
        "| today's default | "
        + " | ".join(f"{today[c.name]:.4f}" for c in collections)
        + f" | {statistics.fmean(today.values()):.4f} | "
        + f"{sum(today[c.name] >= c.better - TOLERANCE for c in collections)} of {len(collections)} |"
    )
    for label, chosen in results.items():
        cells = []
        for c in collections:
            value = chosen[c.name][1]
            mark = "" if value >= c.better - TOLERANCE else "*"
            cells.append(f"{value:.4f}{mark}")
        within = sum(chosen[c.name][1] >= c.better - TOLERANCE for c in collections)
        kept = sum(chosen[c.name][1] >= today[c.name] - TOLERANCE for c in development)
        print(
            f"| {label} | {' | '.join(cells)} | {statistics.fmean(v for _, v in chosen.values()):.4f} | "
            f"{within} of {len(collections)}; development sets kept {kept} of {len(development)} |"
        )
    print("\n(* below the better single list by more than 0.005)")
    advised = advice(collections)
    print(
        "\n| collection, questions the user has | advice given | mean change on the other questions | worse by > 0.005 | better by > 0.005 |"
    )
    print("|---|---|---|---|---|")
    for key, row in advised.items():
        print(
            f"| {key} | {row['advised']:.2f} | {row['mean change']:+.4f} | {row['worse by > 0.005']:.2f} | "
            f"{row['better by > 0.005']:.2f} |"
        )
    if args.json_out:
        payload = {
            "collections": {c.name: {"metric": c.metric, "dense": c.dense, "lexical": c.lexical} for c in collections},
            "today": today,
            "families": results,
            "advice": advised,
        }
        Path(args.json_out).write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

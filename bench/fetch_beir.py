#!/usr/bin/env python3
"""Rebuild the wider retrieval development suite (BEIR layout) from public GitHub snapshots.

Why: `rag eval beir` needs collections of other kinds than SciFact / XQuAD / HeQ (and never
DBpedia-entity or MS MARCO, which are held back for checking).  Hugging Face and the BEIR
download server are not reachable here, so every collection is rebuilt from files that public
GitHub repositories carry.  The repositories are brought in with the search tool's `fetch`
(`github:OWNER/NAME`), which leaves a bare git directory at
``/work/.mirror/OWNER+NAME/repo``; this script only reads those with `git cat-file`, so it needs
nothing but the Python standard library and the `git` binary, and it downloads nothing.

Collections built (see bench/beir_sources.md for sizes, licences and caveats):

  arguana          argument -> best counter-argument (ArguAna counterargs corpus, idebate.org), en
  cosqa            web query -> Python function (CoSQA code-search test split), en
  nfcorpus         lay health query -> medical abstract (NFCorpus test split, *preprocessed* text), en
  fiqa-mini        financial question -> forum answer (FiQA task 2, FinBERT-QA test answers only), en
  semeval-cqa      forum question -> similar forum question (SemEval-2016 Task 3 subtask B, Qatar Living), en
  trec-covid-mini  COVID information need -> CORD-19 paper (TREC-COVID qrels, 2,000-paper metadata excerpt), en
  jsquad           question -> Wikipedia paragraph (JGLUE JSQuAD v1.3 validation), ja
  squad-it         question -> Wikipedia paragraph (SQuAD-it test), it

Output: ``$XDG_CACHE_HOME/rag-bench/beir/<name>/`` (default ``~/.cache/rag-bench/beir``) with
``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``),
``qrels/test.tsv`` (header ``query-id<TAB>corpus-id<TAB>score``; only positive scores are written)
and ``provenance.json`` (source repository, commit, paths, licence, original and sampled sizes,
rule, seed, sha256 of each written file).

Subsampling rule (identical for every collection, so that all sets together embed in well under
15 minutes on 2 CPU cores at ~100 passages/s):

  1. eligible queries = queries of the chosen split with at least one relevant document
     (score > 0) present in the available corpus;
  2. keep at most MAX_QUERIES (300) of them: the ones with the smallest
     sha256("<SEED>|<collection>|q|<query id>");
  3. keep every document judged relevant for a kept query;
  4. fill up to MAX_DOCS (5,000) documents with the remaining documents of smallest
     sha256("<SEED>|<collection>|d|<doc id>").

Hash ranks instead of `random` keep the selection identical across Python versions.  Files are
written in source order, so two runs over the same snapshots give byte-identical output (the
sha256 values in provenance.json let a later session check that).

Usage:
  python bench/fetch_beir.py                # build every collection whose source is present
  python bench/fetch_beir.py arguana cosqa  # build only these
  python bench/fetch_beir.py --list         # show the sources and whether they are present
  options: --mirror DIR (default $RAG_BENCH_MIRROR or /work/.mirror), --out DIR

A source that is absent (repository not fetched, or the pinned commit / file not in the
snapshot) is skipped with a message that says which `fetch` would bring it; the script then
exits 0 unless no collection at all could be built.  It is light: it parses a few tens of MB of
JSON/XML/text and writes about 35 MB; it runs no model.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict
from pathlib import Path

SEED = "rag-beir-dev-v1"
MAX_QUERIES = 300
MAX_DOCS = 5000

DEFAULT_MIRROR = Path(os.environ.get("RAG_BENCH_MIRROR") or "/work/.mirror")
DEFAULT_OUT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-bench" / "beir"

# Each source is pinned to a full commit SHA; files are read as "<commit>:<path>".
REPOS = {
    "arguana": ("cchang-vassar/Semantic-Relations-in-Vector-Embeddings", "420c6ae764718840c05770926528dbecf1c3417a"),
    "cosqa": ("Jun-jie-Huang/CoCLR", "14ebcacf9e9bc3e7109102632bc63047876f27d2"),
    "nfcorpus": ("hakimamarullah/medisearch-api", "0ae71a4bb2416506dbdd9a5f8894e7830b99f19f"),
    "fiqa": ("yuanbit/FinBERT-QA", "108a294daa3896af6dd382e301a2df54031102ca"),
    "semeval": ("Mieloch/cqa-sem-eval", "d45fc6a4789471ac25b0bdbf4bc162fc54b8b32e"),
    "cord19": ("mugoemm/CORD19-Data-Project", "98b539fe5fdd129300a6487159273e96b38d3c5f"),
    "anserini": ("castorini/anserini-tools", "5b819c1a45c8a0a3ec9426f476694f44a29dfaf3"),
    "jglue": ("yahoojapan/JGLUE", "6f071c09316baae89c3d083a90985b4b1cb9968c"),
    "squadit": ("crux82/squad-it", "86a19baebed654d07c4e790c07d39a02ceb6b15f"),
}


class SourceMissing(Exception):
    """The snapshot, commit or file a collection needs is not on this machine."""


def norm(text: str) -> str:
    """Collapse all whitespace runs to single spaces."""
    return " ".join(str(text).split())


class Repo:
    """Read-only access to one fetched bare repository at a pinned commit."""

    def __init__(self, mirror: Path, key: str):
        self.name, self.commit = REPOS[key]
        self.git_dir = mirror / self.name.replace("/", "+") / "repo"
        if not self.git_dir.is_dir():
            raise SourceMissing(f"{self.git_dir} is absent (fetch github:{self.name})")
        probe = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "-e", f"{self.commit}^{{commit}}"], capture_output=True
        )
        if probe.returncode != 0:
            raise SourceMissing(f"commit {self.commit} is not in {self.git_dir} (fetch github:{self.name} again)")

    def read(self, path: str) -> bytes:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "blob", f"{self.commit}:{path}"], capture_output=True
        )
        if proc.returncode != 0:
            raise SourceMissing(
                f"{self.name}@{self.commit[:12]}:{path} is not in the snapshot (files of 4 MiB and more never are)"
            )
        return proc.stdout

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8")

    def list(self, prefix: str) -> list[str]:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "ls-tree", "-r", "--name-only", "-z", self.commit, "--", prefix],
            capture_output=True,
            check=True,
        )
        return [p for p in proc.stdout.decode("utf-8").split("\0") if p]

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """Read many blobs through one `git cat-file --batch` process."""
        request = "".join(f"{self.commit}:{p}\n" for p in paths).encode("utf-8")
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "--batch"],
            input=request,
            capture_output=True,
            check=True,
        )
        out, pos, result = proc.stdout, 0, {}
        for path in paths:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode("utf-8")
            pos = end + 1
            if header.endswith(" missing"):
                raise SourceMissing(f"{self.name}@{self.commit[:12]}:{path} is not in the snapshot")
            size = int(header.split()[2])
            result[path] = out[pos : pos + size]
            pos += size + 1
        return result

    def describe(self, paths: list[str]) -> dict:
        return {
            "repository": f"github:{self.name}",
            "commit": self.commit,
            "paths": paths,
            "snapshot": str(self.git_dir),
        }


class Collection:
    """A collection before subsampling: documents, queries of the test split, graded qrels."""

    def __init__(self):
        self.docs: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id -> (title, text)
        self.queries: OrderedDict[str, str] = OrderedDict()
        self.qrels: dict[str, dict[str, int]] = {}
        self.exclude_docs_of_query: dict[str, str] = {}  # query id -> its own document id

    def add_doc(self, doc_id: str, title: str, text: str) -> None:
        title, text = norm(title), norm(text)
        if doc_id not in self.docs and (title or text):
            self.docs[doc_id] = (title, text)

    def add_qrel(self, qid: str, did: str, score: int) -> None:
        if score > 0:
            row = self.qrels.setdefault(qid, {})
            row[did] = max(score, row.get(did, 0))


def _rank(name: str, kind: str, ident: str) -> str:
    return hashlib.sha256(f"{SEED}|{name}|{kind}|{ident}".encode()).hexdigest()


def subsample(name: str, col: Collection) -> tuple[Collection, dict]:
    eligible = [
        q
        for q in col.queries
        if any(d in col.docs and d != col.exclude_docs_of_query.get(q) for d in col.qrels.get(q, {}))
    ]
    kept_q = set(sorted(eligible, key=lambda q: _rank(name, "q", q))[:MAX_QUERIES])
    excluded = {col.exclude_docs_of_query[q] for q in kept_q if q in col.exclude_docs_of_query}
    relevant = {d for q in kept_q for d in col.qrels[q] if d in col.docs and d not in excluded}
    others = [d for d in col.docs if d not in relevant and d not in excluded]
    room = max(0, MAX_DOCS - len(relevant))
    fill = set(sorted(others, key=lambda d: _rank(name, "d", d))[:room])
    out = Collection()
    for d, (title, text) in col.docs.items():
        if d in relevant or d in fill:
            out.docs[d] = (title, text)
    for q, text in col.queries.items():
        if q in kept_q:
            out.queries[q] = text
            out.qrels[q] = {d: s for d, s in col.qrels[q].items() if d in out.docs}
    stats = {
        "original": {
            "documents": len(col.docs),
            "queries_in_split": len(col.queries),
            "queries_with_a_relevant_document": len(eligible),
            "qrels_positive_pairs": sum(len(v) for v in col.qrels.values()),
        },
        "sampled": {
            "documents": len(out.docs),
            "queries": len(out.queries),
            "qrels_positive_pairs": sum(len(v) for v in out.qrels.values()),
            "relevant_documents": len(relevant),
        },
        "seed": SEED,
        "rule": (
            f"queries with >=1 relevant doc; keep <= {MAX_QUERIES} of smallest "
            f"sha256('{SEED}|{name}|q|<qid>'); keep all their relevant docs; fill to "
            f"<= {MAX_DOCS} docs by smallest sha256('{SEED}|{name}|d|<docid>')"
        ),
    }
    if col.exclude_docs_of_query:
        stats["note_excluded"] = (
            "each kept query's own document (same argument) is left out of "
            "the corpus, as BEIR's ignore_identical_ids would"
        )
    return out, stats


def write(out_dir: Path, col: Collection, provenance: dict) -> dict:
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "qrels").mkdir(parents=True)
    with open(tmp / "corpus.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for d, (title, text) in col.docs.items():
            fh.write(json.dumps({"_id": d, "title": title, "text": text}, ensure_ascii=False) + "\n")
    with open(tmp / "queries.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for q, text in col.queries.items():
            fh.write(json.dumps({"_id": q, "text": text}, ensure_ascii=False) + "\n")
    with open(tmp / "qrels" / "test.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in col.queries:
            for d, s in col.qrels[q].items():
                fh.write(f"{q}\t{d}\t{s}\n")
    provenance["sha256"] = {
        rel: hashlib.sha256((tmp / rel).read_bytes()).hexdigest()
        for rel in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
    }
    with open(tmp / "provenance.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(provenance, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return provenance


# --------------------------------------------------------------------------- builders
# Each builder returns (Collection, provenance dict without the sampling part).


def build_arguana(mirror: Path):
    """ArguAna counterargs corpus (Wachsmuth et al., ACL 2018), as BEIR uses it.

    Documents: every point and counter of all splits (training, validation, test) from
    02-extracted-arguments (points titled by their heading line).  Queries: the test split's
    points; relevant (score 1): the counter written against that point.  The corpus directory
    was deleted from the repository in a later commit, so the commit is pinned before that.
    """
    repo = Repo(mirror, "arguana")
    prefix = "arguana-counterargs-corpus/02-extracted-arguments/"
    pattern = re.compile(
        r"^"
        + re.escape(prefix)
        + r"(training|validation|test)/([^/]+)/([^/]+)/(pro|con)/\4(\d+)([ab])-(point|counter)\.txt$"
    )
    files = sorted(p for p in repo.list(prefix) if pattern.match(p))
    if not files:
        raise SourceMissing("no ArguAna argument files at the pinned commit")
    blobs = repo.read_many(files)
    col = Collection()
    points: dict[tuple, str] = {}
    counters: dict[tuple, str] = {}
    for path in files:
        split, theme, debate, side, num, _ab, kind = pattern.match(path).groups()
        short = hashlib.sha1(debate.encode("utf-8")).hexdigest()[:10]
        base = f"{split}-{theme}-{short}-{side}{num}"
        raw = blobs[path].decode("utf-8", errors="replace").strip()
        if kind == "point":
            head, _, body = raw.partition("\n")
            doc_id = base + "a"
            col.add_doc(doc_id, head, body)
            points[(split, theme, debate, side, num)] = doc_id
        else:
            doc_id = base + "b"
            col.add_doc(doc_id, "", raw)
            counters[(split, theme, debate, side, num)] = doc_id
    for key, pid in points.items():
        if key[0] != "test" or key not in counters or pid not in col.docs:
            continue
        title, text = col.docs[pid]
        col.queries[pid] = norm(f"{title}. {text}" if title else text)
        col.add_qrel(pid, counters[key], 1)
        col.exclude_docs_of_query[pid] = pid
    prov = {
        "kind": "argument retrieval (counter-argument)",
        "language": "en",
        "source": repo.describe([prefix + "{training,validation,test}/THEME/DEBATE/{pro,con}/*-{point,counter}.txt"]),
        "licence": "not stated in the corpus readme; idebate.org Debatabase content (academic use, cite Wachsmuth et al. 2018)",
        "caveats": "ids are ours (split-theme-sha1(debate)[:10]-sideNN a|b), not BEIR's; texts keep their trailing reference lists",
    }
    return col, prov


def build_cosqa(mirror: Path):
    """CoSQA code search: test queries (500, all label 1) over the shared 6,267-function code base."""
    repo = Repo(mirror, "cosqa")
    paths = ["data/search/code_idx_map.txt", "data/search/cosqa-retrieval-test-500.json"]
    codes = json.loads(repo.text(paths[0]))
    tests = json.loads(repo.text(paths[1]))
    col = Collection()
    for code, idx in sorted(codes.items(), key=lambda kv: kv[1]):
        did = f"code-{idx}"
        if did not in col.docs and code.strip():
            col.docs[did] = ("", code.strip())  # keep code layout (newlines, indentation)
    for item in tests:
        if int(item.get("label", 0)) != 1:
            continue
        col.queries[item["idx"]] = norm(item["doc"])
        col.add_qrel(item["idx"], f"code-{item['retrieval_idx']}", 1)
    prov = {
        "kind": "code search (web query -> Python function)",
        "language": "en (queries) / Python (documents)",
        "source": repo.describe(paths),
        "licence": "dataset: Computational Use of Data Agreement (C-UDA); code: MIT (repository README)",
    }
    return col, prov


def build_nfcorpus(mirror: Path):
    """NFCorpus test split from the original distribution (not BEIR's raw-text corpus.jsonl)."""
    repo = Repo(mirror, "nfcorpus")
    base = "data/nfcorpus/"
    paths = [base + p for p in ("test.docs", "dev.docs", "test.titles.queries", "test.2-1-0.qrel")]
    col = Collection()
    for path in paths[:2]:
        for line in repo.text(path).splitlines():
            if "\t" in line:
                did, text = line.split("\t", 1)
                col.add_doc(did, "", text)
    for line in repo.text(paths[2]).splitlines():
        if "\t" in line:
            qid, text = line.split("\t", 1)
            col.queries[qid] = norm(text)
    for line in repo.text(paths[3]).splitlines():
        parts = line.split()
        if len(parts) == 4:
            col.add_qrel(parts[0], parts[2], int(parts[3]))
    prov = {
        "kind": "nutrition / medical (lay query -> PubMed abstract)",
        "language": "en",
        "source": repo.describe(paths),
        "licence": "free for academic purposes (NFCorpus README); NutritionFacts.org terms for other uses",
        "caveats": (
            "documents and queries are the distribution's PREPROCESSED text (lowercased, stop-words "
            "and numbers removed, no punctuation); corpus = test+dev docs (3,395 of 3,633); qrels = "
            "test.2-1-0.qrel, byte-identical to BEIR's nfcorpus test qrels (2 = direct, 1 = indirect link)"
        ),
    }
    return col, prov


def build_fiqa_mini(mirror: Path):
    """FiQA 2018 task 2 questions whose every relevant answer is among FinBERT-QA's test answers."""
    repo = Repo(mirror, "fiqa")
    paths = [
        "retriever/test_answers.csv",
        "data/raw/FiQA_train_question_final.tsv",
        "data/raw/FiQA_train_question_doc_final.tsv",
    ]
    col = Collection()
    for line in repo.text(paths[0]).splitlines():
        if "\t" in line:
            did, text = line.split("\t", 1)
            col.add_doc(did.strip(), "", text)
    questions = {}
    for row in csv.reader(io.StringIO(repo.text(paths[1])), delimiter="\t"):
        if len(row) >= 3 and row[1] != "qid":
            questions[row[1]] = norm(row[2])
    rel: dict[str, set] = {}
    for row in csv.reader(io.StringIO(repo.text(paths[2])), delimiter="\t"):
        if len(row) >= 3 and row[1] != "qid":
            rel.setdefault(row[1], set()).add(row[2])
    for qid, docs in rel.items():
        if qid in questions and docs <= set(col.docs):
            col.queries[qid] = questions[qid]
            for d in sorted(docs):
                col.add_qrel(qid, d, 1)
    prov = {
        "kind": "financial opinion Q&A (question -> forum answer)",
        "language": "en",
        "source": repo.describe(paths),
        "licence": "not stated (FiQA 2018 challenge data, redistributed in the FinBERT-QA repository)",
        "caveats": (
            "only 865 answers are available (FinBERT-QA's test answers; the 57,638-answer corpus file is "
            "over the 4 MiB snapshot limit), so every document is relevant to some query: much easier "
            "than BEIR FiQA; queries = FiQA questions whose relevant answers are all present"
        ),
    }
    return col, prov


def build_semeval_cqa(mirror: Path):
    """SemEval-2016 Task 3 subtask B (Qatar Living forum): original question -> related questions."""
    repo = Repo(mirror, "semeval")
    paths = ["data/SemEval2016-Task3-CQA-QL-dev.xml", "data/SemEval2016-Task3-CQA-QL-train-part2.xml"]
    grade = {"PerfectMatch": 2, "Relevant": 1}
    col = Collection()
    canonical: dict[tuple, str] = {}
    for path in paths:
        root = ET.fromstring(repo.read(path))
        for org in root.iter("OrgQuestion"):
            qid = org.get("ORGQ_ID")
            if qid not in col.queries:
                subj = org.findtext("OrgQSubject") or ""
                body = org.findtext("OrgQBody") or ""
                col.queries[qid] = norm(f"{subj}. {body}" if subj and body else subj or body)
            for rq in org.iter("RelQuestion"):
                title = norm(rq.findtext("RelQSubject") or "")
                text = norm(rq.findtext("RelQBody") or "")
                key = (title, text)
                did = canonical.setdefault(key, rq.get("RELQ_ID"))  # same thread under two ids -> one doc
                col.add_doc(did, title, text)
                col.add_qrel(qid, did, grade.get(rq.get("RELQ_RELEVANCE2ORGQ"), 0))
    prov = {
        "kind": "forum question similarity (question -> duplicate / related question)",
        "language": "en (informal)",
        "source": repo.describe(paths),
        "licence": "SemEval-2016 Task 3 data, free for research use (task website)",
        "caveats": (
            "only 117 original questions with 10 judged candidates each; the corpus pools all candidates "
            "(1,170 before de-duplication), so other queries' candidates act as unjudged distractors; "
            "PerfectMatch = 2, Relevant = 1"
        ),
    }
    return col, prov


def build_trec_covid_mini(mirror: Path):
    """TREC-COVID (BEIR test qrels and questions) over a 2,000-row CORD-19 metadata excerpt."""
    meta_repo = Repo(mirror, "cord19")
    ans = Repo(mirror, "anserini")
    meta_path = "metadata_subset_small.csv"
    topic_path = "topics/topics.beir-v1.0.0-trec-covid.test.tsv.gz"
    qrel_path = "qrels/qrels.beir-v1.0.0-trec-covid.test.txt"
    col = Collection()
    for row in csv.DictReader(io.StringIO(meta_repo.text(meta_path))):
        col.add_doc(row["cord_uid"], row.get("title") or "", row.get("abstract") or "")
    for line in gzip.decompress(ans.read(topic_path)).decode("utf-8").splitlines():
        if "\t" in line:
            qid, text = line.split("\t", 1)
            col.queries[qid] = norm(text)
    for line in ans.text(qrel_path).splitlines():
        parts = line.split()
        if len(parts) == 4:
            col.add_qrel(parts[0], parts[2], int(parts[3]))
    prov = {
        "kind": "COVID-19 scientific literature (information need -> paper)",
        "language": "en",
        "source": {
            "documents": meta_repo.describe([meta_path]),
            "queries_and_qrels": ans.describe([topic_path, qrel_path]),
        },
        "licence": "CORD-19 metadata (per-article licences, see CORD-19); TREC-COVID topics/qrels via anserini-tools (Apache-2.0 repository)",
        "caveats": (
            "documents are only the first 2,000 rows of a CORD-19 metadata.csv (mostly pre-2020 coronavirus "
            "papers), so only ~24 of the 50 topics keep a relevant paper, with 1-6 each: a small, high-variance set; "
            "most judged-relevant papers of those topics are absent"
        ),
    }
    return col, prov


def _squad_paragraphs(data: dict):
    for article in data["data"]:
        for para in article["paragraphs"]:
            yield article, para


def build_jsquad(mirror: Path):
    """JGLUE JSQuAD v1.3: validation questions; corpus = validation + test paragraphs."""
    repo = Repo(mirror, "jglue")
    paths = ["datasets/jsquad-v1.3/valid-v1.3.json", "datasets/jsquad-v1.3/test-v1.3.json"]
    col = Collection()
    seen: dict[str, str] = {}
    for split_no, path in enumerate(paths):
        data = json.loads(repo.text(path))
        for article, para in _squad_paragraphs(data):
            context = para["context"]
            title, sep, body = context.partition(" [SEP] ")
            if not sep:
                title, body = article.get("title", ""), context
            qas = para.get("qas") or []
            pid = qas[0]["id"].rsplit("q", 1)[0] if qas else f"s{split_no}-{len(col.docs)}"
            pid = seen.setdefault(norm(body), pid)
            col.add_doc(pid, title, body)
            if split_no == 0:
                for qa in qas:
                    if qa.get("is_impossible"):
                        continue
                    col.queries[qa["id"]] = norm(qa["question"])
                    col.add_qrel(qa["id"], pid, 1)
    prov = {
        "kind": "Japanese Wikipedia QA as passage retrieval (question -> paragraph)",
        "language": "ja",
        "source": repo.describe(paths),
        "licence": "CC BY-SA 4.0 (JGLUE README)",
        "caveats": "SQuAD-style reading-comprehension data turned into retrieval: one relevant paragraph per question",
    }
    return col, prov


def build_squad_it(mirror: Path):
    """SQuAD-it test (Italian, semi-automatic translation of SQuAD v1.1 dev)."""
    repo = Repo(mirror, "squadit")
    path = "SQuAD_it-test.json.gz"
    data = json.loads(gzip.decompress(repo.read(path)).decode("utf-8"))
    col = Collection()
    seen: dict[str, str] = {}
    for a_no, article in enumerate(data["data"]):
        for p_no, para in enumerate(article["paragraphs"]):
            pid = seen.setdefault(norm(para["context"]), f"a{a_no}-p{p_no}")
            col.add_doc(pid, article.get("title", ""), para["context"])
            for qa in para.get("qas") or []:
                col.queries[qa["id"]] = norm(qa["question"])
                col.add_qrel(qa["id"], pid, 1)
    prov = {
        "kind": "Italian Wikipedia QA as passage retrieval (question -> paragraph)",
        "language": "it",
        "source": repo.describe([path]),
        "licence": "CC BY-SA 4.0 (squad-it README)",
        "caveats": (
            "translation of SQuAD v1.1 dev: the same 48 Wikipedia articles XQuAD draws on, so topics "
            "overlap the xquad-en set already in use (different language and paragraphs selection)"
        ),
    }
    return col, prov


BUILDERS = OrderedDict(
    [
        ("arguana", build_arguana),
        ("cosqa", build_cosqa),
        ("nfcorpus", build_nfcorpus),
        ("fiqa-mini", build_fiqa_mini),
        ("semeval-cqa", build_semeval_cqa),
        ("trec-covid-mini", build_trec_covid_mini),
        ("jsquad", build_jsquad),
        ("squad-it", build_squad_it),
    ]
)

NEEDS = {
    "arguana": ["arguana"],
    "cosqa": ["cosqa"],
    "nfcorpus": ["nfcorpus"],
    "fiqa-mini": ["fiqa"],
    "semeval-cqa": ["semeval"],
    "trec-covid-mini": ["cord19", "anserini"],
    "jsquad": ["jglue"],
    "squad-it": ["squadit"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help=f"collections to build (default: all): {', '.join(BUILDERS)}")
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="folder holding OWNER+NAME/repo snapshots")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (one folder per collection)")
    ap.add_argument("--list", action="store_true", help="list sources and whether they are present, build nothing")
    args = ap.parse_args(argv)
    names = args.names or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        ap.error(f"unknown collection(s): {', '.join(unknown)}")

    if args.list:
        for name in names:
            states = []
            for key in NEEDS[name]:
                try:
                    Repo(args.mirror, key)
                    states.append(f"github:{REPOS[key][0]}@{REPOS[key][1][:12]} present")
                except SourceMissing as exc:
                    states.append(f"MISSING: {exc}")
            print(f"{name:16} " + "; ".join(states))
        return 0

    built = 0
    for name in names:
        try:
            col, prov = BUILDERS[name](args.mirror)
        except SourceMissing as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        sample, stats = subsample(name, col)
        prov = {"name": name, **prov, **stats}
        write(args.out / name, sample, prov)
        built += 1
        s = stats["sampled"]
        print(
            f"{name:16} docs {s['documents']:5d}  queries {s['queries']:4d}  qrels {s['qrels_positive_pairs']:5d}"
            f"  (from {stats['original']['documents']} docs, "
            f"{stats['original']['queries_with_a_relevant_document']} usable queries) -> {args.out / name}"
        )
    if built == 0:
        print("no collection built: fetch the repositories listed by --list first", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

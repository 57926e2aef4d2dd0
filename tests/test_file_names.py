"""Any file name the OS can hold is indexed and never stops a run (issue #14).

A seeded generator makes a few hundred names of raw bytes: latin-1 and cp1255 bytes that are
not UTF-8, newlines, tabs, escape characters, leading dashes, right-to-left text, bidi
controls and names at the OS's 255-byte limit. The real CLI ingests them, re-ingests
unchanged, sees renames as renames and deletions as deletions, forgets one, and every
--json output parses.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.paths import ESCAPED, from_stored, readable, stored

ROOT = Path(__file__).resolve().parent.parent
NAMES = 240
SEED = 14

_PIECES = [
    b"caf\xe9",
    b"\xf9\xe5\xec\xe5\xed",
    b"\x80\x81\xfe\xff",
    "שלום".encode(),
    "نص".encode(),
    b"\n",
    b"\t",
    b"\x1b[31m",
    b"\r",
    b"-",
    b"--help",
    b" ",
    b"report",
    b"\xe2\x80\xae",
    b"%41",
    b"fsbytes:",
    b"\\",
    b"'\"",
    b"*?[",
    "ü".encode(),
]


def random_names(count: int, seed: int) -> list[bytes]:
    """Distinct file names (bytes) with a .txt suffix, none hidden, at most 255 bytes."""
    rng = random.Random(seed)
    names: list[bytes] = []
    seen: set[bytes] = set()
    while len(names) < count:
        parts = [rng.choice(_PIECES) for _ in range(rng.randint(1, 5))]
        parts += [bytes([rng.choice([b for b in range(1, 256) if b not in (0x2F,)]) for _ in range(rng.randint(0, 6))])]
        stem = b"".join(parts)
        if len(names) % 40 == 7:  # some at the limit: 255 bytes in all
            stem = (stem * 60)[:251]
        name = stem.lstrip(b".~") + b".txt"
        if b"/" in name or b"\0" in name or name == b".txt" or name.lower() in seen:
            continue
        seen.add(name.lower())
        names.append(name)
    return names


def _rag(*args: str | bytes, index_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAG_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "rag", *args], env=env, capture_output=True, timeout=600)


def _json(process: subprocess.CompletedProcess):
    assert process.returncode == 0, process.stderr.decode("utf-8", "replace")
    return json.loads(process.stdout)  # strict: raises on invalid JSON or lone surrogates in bytes


def test_stored_paths_round_trip():
    for name in random_names(200, SEED + 1):
        path = "/data/" + os.fsdecode(name)
        text = stored(path)
        text.encode("utf-8")  # storable by SQLite and Chroma
        assert from_stored(text) == path
    assert stored("/plain/ünïcode/שלום.txt") == "/plain/ünïcode/שלום.txt", "valid names are stored as they are"
    assert from_stored(stored(ESCAPED + "x")) == ESCAPED + "x", "a name that looks escaped still round-trips"


def test_readable_is_one_printable_line():
    shown = readable(os.fsdecode(b"/d/caf\xe9\nnext\tline\x1b.txt"))
    assert shown == "/d/caf\ufffd\\nnext\\tline\\x1b.txt"
    assert readable("/d/\u202eevil.txt") == "/d/\\u202eevil.txt"


@pytest.mark.slow
def test_fuzzed_names_ingest_resync_rename_delete_forget(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "indexes"
    docs.mkdir()
    names = random_names(NAMES, SEED)
    base = os.fsencode(docs)
    for i, name in enumerate(names):
        with open(base + b"/" + name, "wb") as handle:
            handle.write(f"Note {i}: the pump at station {i * 7} was serviced on day {i}.\n".encode())
    # a path near the OS limit (4,096 bytes): 15 folders of 250 bytes, then a file
    deep = base + b"".join(b"/" + bytes([0x41 + i]) * 250 for i in range(15))
    os.makedirs(deep)
    with open(deep + b"/deep\xe9.txt", "wb") as handle:
        handle.write(b"The deepest note says the pump was serviced twice.\n")
    assert len(deep) > 3800

    report = _json(_rag("ingest", str(docs), "--json", "-q", index_dir=index_dir))
    assert (report["added"], report["skipped"]) == (NAMES + 1, [])
    os.remove(deep + b"/deep\xe9.txt")
    assert _json(_rag("ingest", str(docs), "--json", "-q", index_dir=index_dir))["deleted"] == 1

    again = _json(_rag("ingest", str(docs), "--json", "-q", index_dir=index_dir))
    assert (again["unchanged"], again["added"], again["chunks_added"]) == (NAMES, 0, 0), "nothing embedded again"

    rng = random.Random(SEED + 2)
    renamed = names[: NAMES // 2]
    new_names = [n for n in random_names(NAMES * 2, SEED + 3) if n not in names][: len(renamed)]
    for old, new in zip(renamed, new_names):
        os.rename(base + b"/" + old, base + b"/" + new)
    deleted = rng.sample(names[NAMES // 2 :], NAMES // 4)
    for name in deleted:
        os.remove(base + b"/" + name)
    synced = _json(_rag("ingest", str(docs), "--json", "-q", index_dir=index_dir))
    assert (synced["renamed"], synced["deleted"], synced["added"]) == (len(renamed), len(deleted), 0)

    target = base + b"/" + new_names[0]
    forgot = _rag("forget", target, index_dir=index_dir)
    assert forgot.returncode == 0, forgot.stderr.decode("utf-8", "replace")
    listed = _json(_rag("sources", "--json", index_dir=index_dir))
    assert len(listed) == NAMES - len(deleted) - 1
    assert all("\n" not in row["path"] for row in listed)

    hits = _json(_rag("search", "pump serviced", "--json", "-k", "3", index_dir=index_dir))["hits"]
    assert len(hits) == 3
    status = _rag("status", index_dir=index_dir)
    assert status.returncode == 0 and b"Traceback" not in status.stderr

"""Real PDFs we did not pick: Debian's documentation packages, ingested as a user would.

Downloads the packages with ``apt-get download`` (no install; ``dpkg -x`` unpacks them into
the cache folder, reused by later runs), takes a deterministic sample of their PDFs spread
over every package, and runs the real `rag ingest` (default settings: worker processes, OCR
on, the English embedder chosen from the text) into a fresh index. Then, in the same run, the
PDFs of ../shared/data/manuals-qa, the speed baseline.

Prints, for each folder: files indexed, partial (pages lost, each with its reason), skipped by
reason, pages lost to an exception, pages/s to searchable (stage 1) and to the last vector,
and the parser processes' and this process's peak memory. For every skipped file it says
whether pypdf alone or PDFium alone reads any text from it, so a skip that one of them could
have avoided shows.

    .venv/bin/python bench/real_pdfs.py                      # 600 PDFs from 7 packages
    .venv/bin/python bench/real_pdfs.py --files 200 --packages texlive-science-doc octave-doc
    .venv/bin/python bench/real_pdfs.py --folder ~/my-pdfs  # any folder of PDFs instead
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from ingest.offline import enforce_offline

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PACKAGES = [
    "texlive-latex-base-doc",
    "texlive-latex-recommended-doc",
    "texlive-pictures-doc",
    "texlive-metapost-doc",
    "texlive-science-doc",
    "lilypond-doc-pdf",
    "octave-doc",
]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-bench" / "debian"


def fetch(packages: list[str], cache: Path) -> dict[str, Path]:
    """Each package unpacked under ``cache/x/PACKAGE`` (downloaded once; PDFs gzipped by the
    packager are unpacked beside them)."""
    debs, out = cache / "debs", {}
    debs.mkdir(parents=True, exist_ok=True)
    for package in packages:
        target = cache / "x" / package
        if not target.is_dir():
            if not list(debs.glob(f"{package}_*.deb")):
                print(f"downloading {package} …", flush=True)
                subprocess.run(["apt-get", "download", "-q", package], cwd=debs, check=True, capture_output=True)
            deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
            staging = target.with_suffix(".partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(deb), str(staging)], check=True)
            for packed in staging.rglob("*.pdf.gz"):
                if packed.is_file() and not packed.is_symlink():
                    packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
            staging.rename(target)
        out[package] = target
    return out


def sample(unpacked: dict[str, Path], files: int) -> list[tuple[str, Path]]:
    """About ``files`` PDFs, the same share of each package, evenly spaced in path order; a
    file that several packages or links hold is taken once."""
    found: dict[str, list[Path]] = {}
    seen: set[str] = set()
    for package, root in unpacked.items():
        for path in sorted(root.rglob("*.pdf")):
            if path.is_symlink() or not path.is_file():
                continue
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                found.setdefault(package, []).append(path)
    total = sum(map(len, found.values()))
    picked = []
    for package, paths in found.items():
        want = max(1, round(files * len(paths) / total))
        step = max(1, len(paths) / want)
        picked += [(package, paths[int(i * step)]) for i in range(min(want, len(paths)))]
    return picked


def page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except Exception:  # noqa: BLE001 - pypdf may count what PDFium cannot open
        try:
            from pypdf import PdfReader

            return len(PdfReader(path).pages)
        except Exception:  # noqa: BLE001
            return 0
    try:
        return len(document)
    finally:
        document.close()


def alone(path: Path) -> str:
    """Does pypdf alone, or PDFium alone, read any text from ``path``?"""
    import logging

    import pypdfium2 as pdfium
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    verdicts = []
    try:
        document = pdfium.PdfDocument(str(path))
        chars = sum(len(document[i].get_textpage().get_text_range().strip()) for i in range(len(document)))
        verdicts.append(f"PDFium alone: {chars} characters")
    except Exception as exc:  # noqa: BLE001
        verdicts.append(f"PDFium alone: fails ({type(exc).__name__}: {str(exc)[:60]})")
    try:
        chars = sum(len((page.extract_text() or "").strip()) for page in PdfReader(path).pages)
        verdicts.append(f"pypdf alone: {chars} characters")
    except Exception as exc:  # noqa: BLE001
        verdicts.append(f"pypdf alone: fails ({type(exc).__name__}: {str(exc)[:60]})")
    return "; ".join(verdicts)


def category(reason: str) -> str:
    """A skip reason without the file's own details (numbers, quoted names)."""
    return re.sub(r"\d+(\.\d+)?", "N", re.sub(r"'[^']*'", "'…'", reason.split(" (")[0]))[:90]


class ChildMemory:
    """The highest resident memory of any process this one started (the parser workers), read
    from /proc every half second. (getrusage's children figure counts the parent's pages that a
    forked child shares before it starts its own program, so it shows this process's size.)"""

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.5):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
                except OSError:
                    continue
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kb = max(self.peak_kb, int(fields["VmHWM"].split()[0]))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kb


def ingest(label: str, pdfs: list[Path], work: Path) -> dict:
    """The real `rag ingest` of ``pdfs`` (hard-linked into one folder) into a fresh index."""
    from rag.api import run_ingest
    from rag.settings import load_settings

    folder = work / label
    folder.mkdir(parents=True)
    for n, pdf in enumerate(pdfs):
        link = folder / f"{n:04d}-{pdf.name}"
        try:
            os.link(pdf, link)
        except OSError:
            shutil.copyfile(pdf, link)
    pages = sum(page_count(p) for p in folder.iterdir())
    settings = load_settings({"index_dir": str(work / f"{label}-index"), "index": "bench"})
    started = time.perf_counter()
    watcher = ChildMemory()
    report = run_ingest(settings, [str(folder)])
    seconds = time.perf_counter() - started
    parser_mb = watcher.stop() / 1024
    lost = sum(len(row["lost"]) for row in report.partial)
    return {
        "label": label,
        "files": len(pdfs),
        "pages": pages,
        "report": report,
        "seconds": seconds,
        "lost": lost,
        "searchable_pps": pages / report.searchable_seconds if report.searchable_seconds else 0.0,
        "pps": pages / seconds,
        "parser_mb": parser_mb,
    }


def show(result: dict) -> None:
    report = result["report"]
    indexed = report.added + report.changed
    print(f"\n## {result['label']}: {result['files']} PDFs, {result['pages']} pages")
    print(f"- indexed: {indexed} files ({len(report.partial)} partial), skipped: {len(report.skipped)}")
    print(f"- pages lost to an exception: {result['lost']}")
    print(
        f"- pages/s: {result['searchable_pps']:.1f} to searchable ({report.searchable_seconds:.1f} s), "
        f"{result['pps']:.1f} to the last vector ({result['seconds']:.1f} s); chunks {report.chunks_added}"
    )
    print(f"- largest parser process: {result['parser_mb']:.0f} MB")
    for row in report.partial:
        for part in row["lost"]:
            print(f"  partial {Path(row['path']).name}: page {part['page']}: {part['reason']}")
    reasons = Counter(category(row["reason"]) for row in report.skipped)
    for reason, count in reasons.most_common():
        print(f"  skipped {count}: {reason}")
    for row in report.skipped:
        print(f"    {Path(row['path']).name}: {row['reason']} [{alone(Path(row['path']))}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=PACKAGES)
    parser.add_argument("--files", type=int, default=600, help="PDFs sampled from the packages")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--folder", type=Path, help="ingest the PDFs under this folder instead of the packages")
    parser.add_argument("--no-baseline", action="store_true", help="skip the manuals-qa baseline")
    args = parser.parse_args()

    if args.folder:
        picked = [("folder", p) for p in sorted(args.folder.rglob("*.pdf")) if p.is_file()]
    else:
        picked = sample(fetch(args.packages, args.cache), args.files)
    enforce_offline()
    per_package = Counter(package for package, _ in picked)
    print(f"sample: {len(picked)} PDFs: " + ", ".join(f"{p} {n}" for p, n in per_package.items()))
    with tempfile.TemporaryDirectory(prefix="rag-real-pdfs-") as tmp:
        work = Path(tmp)
        results = [ingest("packages", [p for _, p in picked], work)]
        baseline = sorted((DATA / "manuals-qa" / "corpus").glob("*.pdf"))
        if baseline and not args.no_baseline:
            results.append(ingest("manuals-qa", baseline, work))
        for result in results:
            show(result)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process (embedder, store, catalog): {own:.0f} MB")
    if len(results) == 2:
        packages, manuals = results
        print(
            f"pages/s against manuals-qa, same run: {packages['pps'] / manuals['pps']:.2f}x to the last vector, "
            f"{packages['searchable_pps'] / manuals['searchable_pps']:.2f}x to searchable"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Build a folder of real documents from Debian's documentation packages (downloaded here, not
# committed), plus the hostile cases that a user's folder holds: a corrupt and an encrypted PDF.
#   bash bench/real_docs.sh /tmp/real-docs
set -euo pipefail
out=$(mkdir -p "${1:-/tmp/real-docs}" && cd "${1:-/tmp/real-docs}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
mkdir -p "$out"
cd "$work"
apt-get download -q dblatex-doc camlidl-doc aptitude-doc-en docbook-xsl-doc-pdf >/dev/null
for deb in *.deb; do dpkg -x "$deb" x; done
find x -name '*.pdf.gz' -type f -exec gunzip -f {} \;
find x -name '*.pdf' -exec cp {} "$out/" \;
mkdir -p "$out/html" && find x -path '*aptitude*' -name '*.html' | head -40 | xargs -I{} cp {} "$out/html/"
mkdir -p "$out/markdown" && for f in /usr/share/doc/*/README.md; do cp "$f" "$out/markdown/$(basename "$(dirname "$f")").md"; done 2>/dev/null || true
cd "$root"
"$root/.venv/bin/python" - "$out" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import make_docx, make_pdf
out = Path(sys.argv[1])
make_docx(out / "field-plan.docx", [("h1", "Field plan"), ("p", "The survey boat leaves the harbour at 06:30 every Thursday.")])
make_pdf(out / "encrypted.pdf", ["The safe combination is 31-7-44."], password="s3cret")
good = next(p for p in sorted(out.glob("*.pdf")) if p.name != "encrypted.pdf")
(out / "corrupt.pdf").write_bytes(good.read_bytes()[:3000])
PY
rm -rf "$work"
find "$out" -type f | sed 's/.*\.//' | sort | uniq -c

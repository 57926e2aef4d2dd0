#!/usr/bin/env bash
# End to end: install from a carried folder with no network, then ingest and ask.
#   bash bench/offline_install.sh [CARRY_DIR] [--drop-heb]
# Writes CARRY_DIR with `bash run.sh carry` when it holds no install yet (this step needs the
# registries), clones this repository's main into a temp folder, and there, in a network
# namespace with no route out (`unshare -n`), with pip's configuration, local wheel folders and
# caches out of reach (a fresh HOME), runs `bash run.sh offline CARRY_DIR`: it must install,
# index corpora/ and answer with a citation. --drop-heb first removes Debian's tesseract-ocr-heb
# so the carried .deb files are what brings Hebrew OCR back. Needs root (unshare, apt).
# Exits non-zero when any step fails; prints each step's time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
carry=${1:-/tmp/rag-carry}
drop_heb=0
[ "${2:-}" = --drop-heb ] && drop_heb=1

step() { printf '%-40s %6ss\n' "$1" "$2"; }

start=$SECONDS
if [ ! -d "$carry/wheels" ]; then
    bash "$repo/run.sh" carry "$carry" >/dev/null
fi
step "carried folder ($(du -sh "$carry" | cut -f1))" $((SECONDS - start))

work=$(mktemp -d /tmp/rag-offline.XXXX)
git clone -q --branch main "$repo" "$work/rag"
mkdir -p "$work/home"
if ((drop_heb)); then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -q tesseract-ocr-heb >/dev/null
fi

start=$SECONDS
unshare -n env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL \
    PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 HOME="$work/home" XDG_CACHE_HOME="$work/home/.cache" \
    bash "$work/rag/run.sh" offline "$carry" >"$work/out.txt" 2>"$work/err.txt" || {
    echo "offline install failed; the last lines:" >&2
    tail -20 "$work/err.txt" >&2
    exit 1
}
step "offline install + ingest + ask" $((SECONDS - start))

grep -E '^run.sh: installing|^llama.py:' "$work/err.txt" "$work/out.txt" || true
tail -3 "$work/out.txt"
tail -3 "$work/err.txt"
grep -qE '\[[0-9]+\]' "$work/out.txt" || { echo "the answer has no citation" >&2; exit 1; }
grep -qE '^\[1\] corpora/[^ ]+\.(md|pdf|html|txt|docx)' "$work/err.txt" || { echo "no cited file under Sources" >&2; exit 1; }
tesseract --list-langs 2>/dev/null | grep -qx heb || { echo "Tesseract has no Hebrew after the install" >&2; exit 1; }
"$work/rag/.venv/bin/rag" config --machine | head -4
echo "offline install: ok ($work)"

#!/usr/bin/env bash
# The two set-up commands of the README, for a fresh machine:
#   bash run.sh demo    install everything, index corpora/, answer a sample question
#   bash run.sh test    install everything, run the test suite
#   bash run.sh carry DIR     (a connected machine) write to DIR all that an install needs:
#                             wheels, the portable llama.cpp build, model packages, .deb files
#   bash run.sh offline DIR   install from DIR with no network, index corpora/, answer
# Installs what the Makefile needs from the system when it is missing (make, a C/C++
# compiler for llama-cpp-python, Python's venv, Tesseract with Hebrew and English for OCR;
# for the tests, Chromium, which drives the web page of `rag serve`, and a font with Hebrew
# letters for the pictures the OCR tests print) with apt-get, then hands over to make.
set -euo pipefail
cd "$(dirname "$0")"

# The system packages the product needs (the compiler is needed only where llama.cpp is built).
SYSTEM_PACKAGES=(make python3-venv tesseract-ocr tesseract-ocr-heb tesseract-ocr-eng)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if [ "${1:-}" = offline ]; then
    [ -d "${2:-}/wheels" ] || { echo "run.sh: give the folder bash run.sh carry wrote: bash run.sh offline DIR" >&2; exit 1; }
    dir=$(cd "$2" && pwd)
    missing=()
    for name in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' || missing+=("$name")
    done
    if ((${#missing[@]})) && [ -f "$dir/debs/Packages" ]; then
        # the folder is a flat apt repository: apt resolves against it and what is installed
        apt=$(mktemp -d)
        echo "deb [trusted=yes] file:$dir/debs ./" >"$apt/sources.list"
        opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives" -q)
        mkdir -p "$apt/lists/partial" "$apt/archives/partial"
        echo "run.sh: installing ${missing[*]} from $dir/debs" >&2
        $sudo apt-get "${opts[@]}" update >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "${missing[@]}"
        rm -rf "$apt"
    elif ((${#missing[@]})); then
        echo "run.sh: $dir has no .deb files (made without apt?); please install: ${missing[*]}" >&2
    fi
    exec make demo CARRIED="$dir"
fi

missing=()
command -v make >/dev/null || missing+=(make)
command -v c++ >/dev/null || missing+=(build-essential)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
for lang in heb eng; do
    tesseract --list-langs 2>/dev/null | grep -qx "$lang" || missing+=("tesseract-ocr-$lang")
done
if [ "${1:-}" = test ]; then
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
fi
if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null; then
        echo "run.sh: please install: ${missing[*]} (no apt-get on this system)" >&2
        exit 1
    fi
    echo "run.sh: installing ${missing[*]} with apt-get" >&2
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "run.sh: Python 3.11 or newer is needed (found $(python3 --version)); set PYTHON=/path/to/python3.11 and rerun" >&2
    [ -n "${PYTHON:-}" ] || exit 1
}
if [ "${1:-}" = carry ]; then
    [ -n "${2:-}" ] || { echo "run.sh: give the folder to write: bash run.sh carry DIR" >&2; exit 1; }
    mkdir -p "$2/debs"
    command -v dpkg-scanpackages >/dev/null || $sudo apt-get install -y -q dpkg-dev
    dir=$(cd "$2" && pwd)
    make carry CARRY="$dir"
    # each system package and all it depends on, for a machine that has none of them
    mapfile -t debs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${SYSTEM_PACKAGES[@]}" | grep -v '^[ <]' | sort -u)
    (cd "$dir/debs" && apt-get download -q "${debs[@]}" && dpkg-scanpackages -m . 2>/dev/null >Packages)
    echo "run.sh: $dir holds the install ($(du -sh "$dir" | cut -f1)); on the other machine: bash run.sh offline $dir" >&2
    exit 0
fi
exec make "$@"

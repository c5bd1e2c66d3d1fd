# madoguchi — `make run` starts the service, `make test` runs every test. Both create .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HAYSTACK_TELEMETRY_ENABLED := False
export TOKENIZERS_PARALLELISM := false

RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
RASA_LOCK := integrations/rasa_action/lock.txt

.PHONY: run test install lock ingest eval bench chromium rasa-action-venv axe-core clean

# Reproducible installs: every package, pip and the build backend included, at the version and with the hashes in
# requirements/lock.txt (the app and its dev extras, resolved for CPython 3.11 on x86_64 Linux), then madoguchi
# itself with no dependencies of its own choosing and no build environment fetched. `make lock` re-resolves it.
LOCK := requirements/lock.txt
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2
# `make lock` moves every pin to the newest release the ranges allow; `make lock UPGRADE="--upgrade-package fastapi"`
# moves one; `make lock UPGRADE=` only adds what pyproject.toml newly asks for.
UPGRADE ?= --upgrade
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS); }
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(UPGRADE) --extra dev -o $(LOCK) pyproject.toml requirements/build.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(UPGRADE) -o $(RASA_LOCK) integrations/rasa_action/requirements.txt

# rasa-sdk, for the test of the Rasa action (integrations/rasa_action), in a virtualenv of its own: it pins an older
# pydantic than madoguchi's.
$(RASA_STAMP): $(RASA_LOCK)
	test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(RASA_LOCK)
	touch $(RASA_STAMP)

rasa-action-venv: $(RASA_STAMP)

# Headless Chromium for the browser tests comes from Debian (a test tool's own browser download cannot work here),
# with a Japanese font so screenshots show text rather than boxes.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi ipa; } || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-ipafont-gothic >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"; }

# axe-core (the accessibility rules the browser tests run on every page) from the npm registry, pinned; the tests
# inject this file into headless Chromium and need no network themselves.
AXE_VERSION := 4.10.3
AXE_CORE := var/axe/node_modules/axe-core/axe.min.js
$(AXE_CORE):
	@{ command -v npm >/dev/null 2>&1 && npm install --silent --no-save --no-audit --no-fund --prefix var/axe \
	  axe-core@$(AXE_VERSION) >/dev/null; } || echo "axe-core could not be installed: accessibility tests will be skipped"

axe-core: $(AXE_CORE)

run: install
	$(BIN)/madoguchi serve

ingest: install
	$(BIN)/madoguchi ingest --tenant amagasaki
	$(BIN)/madoguchi ingest --tenant tokyo

test: install chromium rasa-action-venv axe-core
	$(BIN)/python -m pytest $(PYTEST_ARGS)

eval: install
	$(BIN)/madoguchi eval --tenant amagasaki --queries ../shared/data/localgovfaq/queries-test.jsonl

bench: install
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/dialogue.py
	$(BIN)/python bench/content.py

clean:
	rm -rf $(VENV) $(RASA_VENV) $(LOCK_VENV) var

# unikat: `make serve` builds the sample catalog and serves it; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= unikat-home
PORT ?= 2100
SAMPLES := sample_data/lib-a.mrc sample_data/lib-b.mrc sample_data/lib-c.xml sample_data/ejournals.pica

.PHONY: install yaz sample serve test integration lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian's yaz gives yaz-client, zoomsh and yaz-marcdump for the real-client tests.
yaz:
	@command -v yaz-client >/dev/null 2>&1 || { \
	  echo "installing Debian package yaz (real-client tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yaz >/dev/null) \
	  || echo "could not install yaz: the yaz-client tests will be skipped"; }

sample: $(HOME_DIR)/.built

$(HOME_DIR)/.built: $(VENV)/.installed $(SAMPLES) sample_data/unikat.toml
	rm -rf $(HOME_DIR)
	mkdir -p $(HOME_DIR)
	cp sample_data/unikat.toml $(HOME_DIR)/unikat.toml
	$(BIN)/unikat --home $(HOME_DIR) load --library A sample_data/lib-a.mrc
	$(BIN)/unikat --home $(HOME_DIR) load --library B sample_data/lib-b.mrc
	$(BIN)/unikat --home $(HOME_DIR) load --library C sample_data/lib-c.xml
	$(BIN)/unikat --home $(HOME_DIR) load --library ZDB sample_data/ejournals.pica
	$(BIN)/unikat --home $(HOME_DIR) stats
	touch $@

serve: sample
	$(BIN)/unikat --home $(HOME_DIR) serve --port $(PORT)

test: install yaz
	$(BIN)/pytest -q -rs

integration: install yaz
	$(BIN)/pytest -q -rs -m integration

lint: install
	$(BIN)/ruff check index zserver tests bench

bench: install yaz
	$(BIN)/python bench/run.py

clean:
	rm -rf $(HOME_DIR) $(VENV) *.egg-info .pytest_cache

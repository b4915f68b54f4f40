# unikat: `make serve` builds the sample catalog and serves it; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= unikat-home
PORT ?= 2100
SAMPLES := sample_data/lib-a.mrc sample_data/lib-b.mrc sample_data/lib-c.xml sample_data/ejournals.pica

.PHONY: install clients sample serve test integration lint bench fuzz soak clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian packages the real-client tests drive: yaz (yaz-client, zoomsh, yaz-marcdump),
# chromium with its driver (the web page in a headless browser) and postgresql (the catalog
# store on PostgreSQL: tests/pgserver.py starts a throwaway server). Tests skip with a printed
# reason when a package cannot be installed (no root, no package mirror).
DEBIAN_PACKAGES := yaz idzebra-2.0 chromium chromium-driver postgresql
CLIENT_COMMANDS := yaz-client zebrasrv chromium chromedriver pg_ctlcluster

clients:
	@missing=""; for c in $(CLIENT_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages $(DEBIAN_PACKAGES) (missing:$$missing)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null) \
	  || echo "could not install $(DEBIAN_PACKAGES): the tests that need them will be skipped"; \
	fi

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

test: install clients
	$(BIN)/pytest -q -rs

integration: install clients
	$(BIN)/pytest -q -rs -m integration

lint: install
	$(BIN)/ruff check index zserver tests bench fuzz

bench: install clients
	$(BIN)/python bench/run.py

# 200 connections mixing Z39.50, SRU and hostile input for SOAK_MINUTES while loads run;
# the report (memory, descriptors, latency, a verdict) goes to bench/out/soak.md. Not part of test.
SOAK_MINUTES ?= 10
soak: install
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

# Every fuzz target (fuzz/*.py) for FUZZ_SECONDS each; crashes are left as fuzz/crash-<sha1>.
FUZZ_SECONDS ?= 60
fuzz: install
	@for target in fuzz/ber.py fuzz/queries.py fuzz/records.py fuzz/http_requests.py fuzz/itemorder.py fuzz/iso18626.py fuzz/oai_tokens.py; do \
	  echo "== $$target ($(FUZZ_SECONDS) s)"; \
	  $(BIN)/python $$target -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/ > fuzz/last-run.log 2>&1; \
	  status=$$?; grep -v '^INFO: Instrumenting' fuzz/last-run.log | tail -3; \
	  [ $$status -eq 0 ] || { echo "$$target failed (fuzz/last-run.log, fuzz/crash-*)"; exit $$status; }; \
	done

clean:
	rm -rf $(HOME_DIR) $(VENV) *.egg-info .pytest_cache

# unikat: `make serve` builds the sample catalog and serves it; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOME_DIR ?= unikat-home
PORT ?= 2100
SAMPLES := sample_data/lib-a.mrc sample_data/lib-b.mrc sample_data/lib-c.xml sample_data/ejournals.pica

.PHONY: install clients sample serve test hosts integration lint bench fuzz soak clean

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

# Then the store, loading, consolidation, ILL and protocol suites once more with every home's
# catalog store on PostgreSQL (a throwaway server for the run: tests/pgserver.py); what never
# reads the store (record parsing, engines alone, query languages) is not run twice, nor the
# 30 loads of each engine (test_incremental_loads: the engines' merge; loads one after another
# on PostgreSQL are in test_replicas and test_hosts), to keep the whole run within CI's time.
POSTGRESQL_TESTS := tests/index tests/zserver tests/integration
POSTGRESQL_SAME := tests/index/records tests/index/test_postings_runs.py tests/index/test_engines.py \
	tests/index/test_ranking.py tests/index/test_query_cost.py tests/index/test_normalize.py \
	tests/index/test_titles.py tests/index/test_passwords.py tests/index/test_users.py tests/index/test_config.py \
	tests/index/test_cluster_load.py tests/index/test_replicas.py tests/index/test_postgresql_store.py \
	tests/index/test_migrate.py tests/zserver/querylang tests/integration/test_hosts.py \
	tests/integration/test_replicas_serving.py tests/index/test_incremental_loads.py

test: install clients
	$(BIN)/pytest -q -rs
	UNIKAT_TEST_STORE=postgresql $(BIN)/pytest -q -rs $(POSTGRESQL_TESTS) $(addprefix --ignore=,$(POSTGRESQL_SAME))

# unikat on several hosts built on this machine (network namespaces; needs root): PostgreSQL,
# loading hosts, search hosts following the published index (tests/integration/test_hosts.py)
hosts: install clients
	$(BIN)/pytest -q -rs tests/integration/test_hosts.py tests/integration/test_replicas_serving.py

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

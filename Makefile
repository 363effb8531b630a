# Two commands on a fresh machine: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test soak bench lint clean explore

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run  ## serve on http://127.0.0.1:8000, seeding an empty store first
	$(BIN)/citypeers serve --seed-if-empty --host $(HOST) --port $(PORT)

# Two workers, one per core; a file's tests stay on one worker (--dist loadfile), so module fixtures are made
# once and each worker has its own FalkorDB. `python -m pytest` alone runs the suite serially.
test: $(VENV)/.installed-test  ## the whole suite: SQLite, FalkorDB over Bolt, (Neo4j when NEO4J_URI is set)
	$(BIN)/python -m pytest -n 2 --dist loadfile

soak: $(VENV)/.installed-test  ## long reliability runs (tests marked soak): schemathesis, kill -9 rounds; prints figures
	$(BIN)/python -m pytest -m soak -s tests/reliability
	$(BIN)/python -m pytest -s tests/reliability/test_store_faults.py  # outage timings: locked, down, back

bench: $(VENV)/.installed-test  ## benchmarks: figures and ratios against baselines measured in the same run
	$(BIN)/python -m bench

explore:  ## rebuild the explorer's bundle (web/explore/dist) from its lockfile; needs Node and npm
	cd web/explore && npm ci --no-audit --no-fund && node build.mjs

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info

# `make run` starts the dashboard, `make test` runs the tests, `make bench` the benchmark,
# `make load` the load runs (a class of visitors for minutes).
# Each creates .venv and installs the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test load bench lint

run: $(VENV)/.installed
	$(BIN)/python -m ui

# Tests in two rounds: most of them in TEST_WORKERS processes at once (pytest-xdist), then the
# ones marked `alone` (the crowd, the budget) one at a time on an
# otherwise idle machine. Both rounds run (each lists its slowest tests); the target fails if
# either does. Load runs (marked `load`: the two-minute soak in Chromium, the class of 30
# headless visitors, the sidebar probe) are `make load`.
TEST_WORKERS ?= 2
# (`--dist load`: `loadfile` ended 32 s later, a long file last on one worker; `loadgroup`
# groups nothing with pytest 9.2, pytest-xdist issue 1386.)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not alone and not load" -n $(TEST_WORKERS) --dist load \
	    --durations=10; \
	first=$$?; \
	$(BIN)/python -m pytest -m "alone and not load" --durations=5; second=$$?; \
	test $$first -eq 0 && test $$second -eq 0

load: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m load --durations=5

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.installed $@

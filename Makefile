# Two commands set up a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit install clean eval bench

demo: $(STAMP)  ## install, then run the demo: sample publishers -> ingestion -> site on :8000
	$(BIN)/broadsheet demo

test: $(STAMP) lint unit  ## install, lint, type-check and run every test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

eval: $(STAMP)  ## quality on every development set, held to the floors in eval/
	$(BIN)/python -m eval.extraction --all --check
	$(BIN)/python -m eval.stories --data ../shared/data/stories/uci-headlines-dev.jsonl
	$(BIN)/python -m eval.similarity --data ../shared/data/similarity/semeval2022-en-dev.jsonl

bench: $(STAMP)  ## speed against a baseline measured in the same run; prints ratios
	$(BIN)/python -m bench.extraction
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.stories

install: $(STAMP)

# Reinstall only when what pins the environment changes.
$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, alone: the CPU build (a local wheel on this project's machines), before any
	# other package can pull a multi-GB CUDA build in
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

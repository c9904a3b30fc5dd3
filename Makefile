# Two commands matter: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo ">> creating virtual environment in $(VENV) and installing accessguard (first run takes a minute)"
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "accessguard needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar on -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/accessguard demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff check only: the code's layout is kept by hand (STYLE.md), not by `ruff format`,
# which would rewrite most files.
lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo

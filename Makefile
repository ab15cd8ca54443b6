# The README's two commands: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test install

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## run: the product on the embedded SQLite database (console, API, scheduler, SMS sender, fake gateway, outbound worker and local receiver)
run: $(INSTALLED)
	$(FLASK) db upgrade
	$(FLASK) bootstrap
	$(FLASK) serve

## test: the whole suite, every database test on SQLite and on PostgreSQL
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

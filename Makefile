# The README's two commands are `make run` and `make test`; both go through `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
VENDOR := socialdesk/web/static/vendor

.PHONY: install run test lint demo clean

install: $(STAMP) $(VENDOR)/.stamp

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

$(VENDOR)/.stamp: package.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/fullcalendar/index.global.min.js $(VENDOR)/fullcalendar.min.js
	cp node_modules/sortablejs/Sortable.min.js $(VENDOR)/sortable.min.js  # workflow board drag and drop
	cp node_modules/axe-core/axe.min.js $(VENDOR)/  # accessibility checks in the browser tests
	cp node_modules/chart.js/dist/chart.umd.js $(VENDOR)/chart.umd.min.js  # inbox report charts
	touch $(VENDOR)/.stamp

run: install
	$(BIN)/socialdesk demo --keep-existing
	$(BIN)/socialdesk run

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test.sh

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy socialdesk

clean:
	rm -rf $(VENV) node_modules $(VENDOR) artifacts

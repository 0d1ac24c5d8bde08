PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/whistle dev

# The dashboard's browser test drives Debian's chromium (with a CJK font for the Chinese labels); installed
# once, only where it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei) \
		|| echo "chromium could not be installed here: the dashboard browser test will be skipped"

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: install
	$(BIN)/whistle bench

clean:
	rm -rf $(VENV) .whistle

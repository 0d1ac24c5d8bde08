PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test bench messages clean

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

# After changing a message a person reads: update both catalogues from the source, then translate what is new
# (an empty msgstr in zh_CN; tests/i18n/test_catalogue.py fails until every message is translated).
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --sort-output --omit-header --no-location -o i18n/whistle.pot .
	for lang in zh_CN en; do $(BIN)/pybabel -q update -i i18n/whistle.pot -d i18n/locales -D whistle -l $$lang \
		--no-fuzzy-matching --ignore-obsolete --width=120; done
	rm i18n/whistle.pot

bench: install
	$(BIN)/whistle bench

clean:
	rm -rf $(VENV) .whistle

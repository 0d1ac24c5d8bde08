PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test audit lock bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,test]'
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
	$(MAKE) --no-print-directory audit
	$(BIN)/pytest

# What production installs (the Dockerfile) is pinned, with hashes, in requirements.lock: after changing the
# dependencies in pyproject.toml run `make lock` (tests/test_compose.py fails, offline, while the lock is stale).
lock: install
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
		--custom-compile-command "make lock" -o requirements.lock

# pip-audit over requirements.lock: a known vulnerability fails; when the vulnerability service does not
# answer (offline, or a registry mirror without it) the lock is not audited, with a warning.
define AUDIT_VERDICT
import json, pathlib, sys
path = pathlib.Path(sys.argv[1])
report = json.loads(path.read_text()) if path.exists() and path.stat().st_size else {"dependencies": []}
vulnerable = [d for d in report["dependencies"] if d.get("vulns")]
for d in vulnerable:
    print(f"pip-audit: {d['name']} {d['version']}: " + ", ".join(v["id"] for v in d["vulns"]), file=sys.stderr)
audited = [d for d in report["dependencies"] if "skip_reason" not in d]
if not audited:
    print("warning: pip-audit: the vulnerability service did not answer; requirements.lock NOT audited", file=sys.stderr)
else:
    print(f"pip-audit: {len(audited)} of {len(report['dependencies'])} locked packages audited, {len(vulnerable)} vulnerable")
sys.exit(1 if vulnerable else 0)
endef
export AUDIT_VERDICT

audit: install
	@rm -f $(VENV)/audit.json
	@timeout 90 $(BIN)/pip-audit --no-deps --disable-pip --progress-spinner off --timeout 10 \
		-r requirements.lock -f json -o $(VENV)/audit.json 2>/dev/null || true
	@$(BIN)/python -c "$$AUDIT_VERDICT" $(VENV)/audit.json

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

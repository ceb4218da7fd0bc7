# The two commands a fresh machine needs: `make demo` and `make test`. Both create the venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint typecheck layers pytest format bench clean vscode-check vsix

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }; }; } || echo 'note: bubblewrap (bwrap) is missing and could not be installed (needs root and apt-get); the Bash sandbox needs it: apt-get install bubblewrap' >&2
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentls demo

test: check vscode-check pytest

check: lint typecheck layers

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The architecture invariants of docs/ARCHITECTURE.md that imports can show.
layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format server tests bench
	$(BIN)/ruff check --fix server tests bench

# The VS Code extension: lint (eslint), strict types, unit tests, and the .vsix package.
VSCODE_DEPS := client-vscode/node_modules/.installed

$(VSCODE_DEPS): client-vscode/package-lock.json
	cd client-vscode && npm ci --no-audit --no-fund --loglevel=error
	@touch $(VSCODE_DEPS)

vscode-check: $(VSCODE_DEPS)
	cd client-vscode && npm run --silent lint && npm run --silent typecheck && npm test --silent

vsix: $(VSCODE_DEPS)
	cd client-vscode && npm run --silent package
	@echo "built client-vscode/agentls.vsix: code --install-extension client-vscode/agentls.vsix"

bench: $(STAMP)
	$(BIN)/python -m bench.overhead

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

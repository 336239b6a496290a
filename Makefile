# opsbook: the two commands are `make run` and `make test`; both bootstrap what they need.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin

.PHONY: setup run test lab rerun grade-check bench stack-up stack-down status export lint lock clean

setup:            ## venv + lock, kernel, Debian packages, secrets (idempotent)
	@bash scripts/bootstrap.sh

run: setup        ## stack up → all notebooks (papermill) → HTML + evidence → stack down
	@bash scripts/run.sh

test: setup       ## everything CI checks (starts and always stops the stack)
	@bash scripts/test.sh

lab: setup        ## stack up if not healthy → JupyterLab on notebooks/ (kernel opsbook, URL + token)
	@bash scripts/lab.sh

rerun: setup      ## every day × {first run, second run, after a restart} → table (evidencia/rerun.md)
	@PYTHONWARNINGS=ignore $(BIN)/python scripts/rerun.py $(ARGS)

grade-check: setup  ## grade the reference (100 %) and the untouched release (≤ 20 %) of every day → table
	@PYTHONWARNINGS=ignore $(BIN)/python scripts/grade_check.py $(ARGS)

bench: setup      ## benchmarks: ratios against a baseline measured in the same run
	@set -e; for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

stack-up: setup
	@$(BIN)/opsbook stack up

stack-down:
	@$(BIN)/opsbook stack down

status:
	@$(BIN)/opsbook stack status

export: setup     ## HTML export of the executed notebooks + evidence index
	@$(BIN)/opsbook notebooks export

lint: setup       ## ruff + the layer contract of lib/opsbook ([tool.importlinter] in pyproject.toml)
	@$(BIN)/ruff check lib dags tests bench scripts notebooks
	@$(BIN)/lint-imports --no-cache

lock:             ## recompile requirements.txt from requirements.in
	@$(BIN)/uv pip compile -q --python-version 3.11 requirements.in --override requirements-overrides.txt -o requirements.txt

clean: stack-down
	rm -rf var evidencia/dia_* evidencia/html evidencia/index.html

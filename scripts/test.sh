#!/usr/bin/env bash
# `make test`: lint (ruff + layer contract), the unit tests (no services; 4 pytest-xdist workers,
# since most of their time is waiting on timers and subprocesses), then the live stack for the
# integration tests and the notebooks (nbval-lax), one at a time on one stack, in the order of a
# course (tests/conftest.py). The stack is always stopped at the end, even when a test fails; on
# success `opsbook stack down` runs explicitly and fails the build if any process survives it.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore
stack_down_done=0
stop_stack() { [ "$stack_down_done" = 1 ] || opsbook stack down || true; }
trap stop_stack EXIT
set -e
start=$(date +%s)
ruff check lib dags tests bench scripts notebooks
lint-imports --no-cache  # the layer contract of lib/opsbook (pyproject.toml [tool.importlinter])
pytest -p no:cacheprovider -m unit -n 4 --durations=15 tests
opsbook stack up
pytest -p no:cacheprovider -m "not unit" --durations=40 --nbval-lax --nbval-current-env tests notebooks "$@"
# "down leaves no process behind": exit code 1 when a pid survives (even after SIGKILL).
stack_down_done=1
opsbook stack down
echo "make test: OK en $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# `make test`: lint, unit and DAG tests, then the live stack for the integration tests and the
# notebooks (nbval-lax). The stack is always stopped at the end, even when a test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore
stop_stack() { opsbook stack down || true; }
trap stop_stack EXIT
set -e
ruff check lib dags tests bench
opsbook stack up
pytest -p no:cacheprovider --nbval-lax --nbval-current-env tests notebooks "$@"

#!/usr/bin/env bash
# `make run`: stack up → every day notebook with papermill → HTML + evidence index → stack down.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore
stop_stack() { opsbook stack down || true; }
trap stop_stack EXIT
set -e
opsbook stack up
opsbook notebooks run "$@"

#!/usr/bin/env bash
# `make test`: lint (ruff + layer contract), the unit tests (no services; 4 pytest-xdist workers,
# since most of their time is waiting on timers and subprocesses), then the live stack for the
# integration tests and the notebooks (nbval-lax), in the order of a course (tests/conftest.py).
# The live part runs on two isolated stacks at once (tests/shards.py): day 4 with the Celery and
# blue-green tests on the second one (var/shard-b, ports +1000, its own PostgreSQL database),
# everything else on the usual one; one test at a time on each. OPSBOOK_TEST_SHARDS=1, or any
# argument, runs it all on one stack. The stacks are always stopped at the end, even when a test
# fails; on success `opsbook stack down` runs explicitly for each and fails the build if any
# process survives it.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore
shards=${OPSBOOK_TEST_SHARDS:-2}
[ $# -eq 0 ] || shards=1
# a DSN given by hand names one database: the second stack would share it (and its Redis prefix)
[ -z "${OPSBOOK_PG_DSN:-}" ] || shards=1
b_env=(
  OPSBOOK_TEST_SHARD=b
  OPSBOOK_VAR_DIR="$PWD/var/shard-b"
  OPSBOOK_PORT_OFFSET=$(( ${OPSBOOK_PORT_OFFSET:-0} + 1000 ))
  OPSBOOK_PG_DB="${OPSBOOK_PG_DB:-opsbook}_b"
)
b_log="$PWD/var/log/pytest-pila-b.log"
stack_down_done=0
stop_stacks() {
  [ "$stack_down_done" = 1 ] && return
  opsbook stack down || true
  [ "$shards" = 2 ] && { env "${b_env[@]}" opsbook stack down || true; }
}
trap stop_stacks EXIT
set -e
start=$(date +%s)
ruff check lib dags tests bench scripts notebooks
lint-imports --no-cache  # the layer contract of lib/opsbook (pyproject.toml [tool.importlinter])
pytest -p no:cacheprovider -m unit -n 4 --durations=15 tests
live=(-p no:cacheprovider -m "not unit" --durations=40 --nbval-lax --nbval-current-env tests notebooks)
if [ "$shards" = 2 ]; then
  mkdir -p var/log
  sync_dir=$(mktemp -d)
  export OPSBOOK_TEST_SYNC="$sync_dir"
  env "${b_env[@]}" opsbook stack up --quiet &
  b_up=$!
  opsbook stack up
  wait "$b_up"
  echo "pila b (día 4, Celery, blue-green) en marcha; su salida: $b_log"
  env "${b_env[@]}" pytest "${live[@]}" > "$b_log" 2>&1 &
  b_pid=$!
  rc_a=0
  OPSBOOK_TEST_SHARD=a pytest "${live[@]}" || rc_a=$?
  rc_b=0
  wait "$b_pid" || rc_b=$?
  echo "──────── pila b: salida de pytest ────────"
  cat "$b_log"
  rm -rf "$sync_dir"
  [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] || { echo "make test: fallan pruebas (pila a: $rc_a, pila b: $rc_b)"; exit 1; }
else
  opsbook stack up
  pytest "${live[@]}" "$@"
fi
# "down leaves no process behind": exit code 1 when a pid survives (even after SIGKILL).
stack_down_done=1
opsbook stack down
[ "$shards" = 2 ] && env "${b_env[@]}" opsbook stack down
echo "make test: OK en $(( $(date +%s) - start )) s"

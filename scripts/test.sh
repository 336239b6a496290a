#!/usr/bin/env bash
# `make test`: lint (ruff + layer contract), the unit tests (no services; 4 pytest-xdist workers,
# since most of their time is waiting on timers and subprocesses), then the live part on two
# stacks side by side:
#   stack A (the usual ports): every integration test, the restart test, then days 1, 2, 3 and 5
#     with nbval-lax (the instructor's reference runs) and their untouched releases graded as the
#     next student, in the order of a course (tests/conftest.py);
#   stack B (ports + OPSBOOK_TEST_B_OFFSET, var/pila_b, database <OPSBOOK_PG_DB>_b, Redis db 1):
#     day 4, the longest day, the same way (reference run, then its untouched release graded).
# Each day still runs its reference and then its next student on one stack, so what one run
# leaves behind is still tested against the next; the two stacks share nothing but the machine's
# PostgreSQL/Redis servers (own database, role and Redis db) and evidencia/ (day 5 waits for
# day 4's reference run: OPSBOOK_TEST_AWAIT in tests/conftest.py). Arguments (`bash
# scripts/test.sh -k x`) run the whole selection on stack A alone, as does OPSBOOK_TEST_ONE_STACK=1.
# Both stacks are always stopped at the end, even when a test fails; on success `opsbook stack
# down` runs explicitly for each and fails the build if any process survives it.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore

B_DIR="$PWD/var/pila_b"
B_ENV=(OPSBOOK_PORT_OFFSET="${OPSBOOK_TEST_B_OFFSET:-300}" OPSBOOK_VAR_DIR="$B_DIR"
       OPSBOOK_PG_DB="${OPSBOOK_PG_DB:-opsbook}_b"
       OPSBOOK_REDIS_URL="redis://127.0.0.1:${OPSBOOK_REDIS_PORT:-6379}/1")
B_TESTS=(notebooks/dia_4_escalado tests/integration/test_grading_dia4.py)
B_LOG="$B_DIR/pytest.log"
B_DONE="$B_DIR/dia_4_referencia.fin"
LIVE=(pytest -p no:cacheprovider --nbval-lax --nbval-current-env)
two_stacks=1
{ [ $# -gt 0 ] || [ -n "${OPSBOOK_TEST_ONE_STACK:-}" ]; } && two_stacks=0

b_pid=""
stack_down_done=0
stop_stacks() {
    [ -n "$b_pid" ] && kill -- -"$b_pid" 2>/dev/null
    [ "$stack_down_done" = 1 ] && return
    opsbook stack down || true
    [ "$two_stacks" = 1 ] && { env "${B_ENV[@]}" opsbook stack down || true; }
}
trap stop_stacks EXIT
trap 'exit 130' INT TERM

second_stack() {  # day 4 on stack B; writes $B_DONE once its reference run ended, however it ended
    env "${B_ENV[@]}" opsbook stack up --quiet || { touch "$B_DONE"; return 1; }
    env "${B_ENV[@]}" "${LIVE[@]}" --durations=10 "${B_TESTS[0]}"; local ref=$?
    touch "$B_DONE"
    env "${B_ENV[@]}" "${LIVE[@]}" --durations=10 "${B_TESTS[1]}" || return 1
    return "$ref"
}

set -e
start=$(date +%s)
ruff check lib dags tests bench scripts notebooks
lint-imports --no-cache  # the layer contract of lib/opsbook (pyproject.toml [tool.importlinter])
pytest -p no:cacheprovider -m unit -n 4 --durations=15 tests
set +e
status=0
if [ "$two_stacks" = 1 ]; then
    mkdir -p "$B_DIR"
    rm -f "$B_DONE"
    echo "== pila B (día 4, puertos +${OPSBOOK_TEST_B_OFFSET:-300}): registro en $B_LOG"
    set -m  # its own process group, so stop_stacks can end its pytest and kernels at once
    second_stack > "$B_LOG" 2>&1 &
    b_pid=$!
    set +m
    opsbook stack up || { status=1; kill -- -"$b_pid" 2>/dev/null; }
    [ "$status" = 0 ] && { OPSBOOK_TEST_AWAIT="$B_DONE" "${LIVE[@]}" -m "not unit" --durations=40 \
        $(printf -- '--ignore=%s ' "${B_TESTS[@]}") tests notebooks || status=1; }
    kill -0 "$b_pid" 2>/dev/null && echo "== esperando a la pila B (día 4)…"
    wait "$b_pid" || status=1
    b_pid=""
    echo "== pila B (día 4): $B_LOG"
    cat "$B_LOG"
else
    opsbook stack up && "${LIVE[@]}" -m "not unit" --durations=40 tests notebooks "$@" || status=1
fi
[ "$status" = 0 ] || exit 1
# "down leaves no process behind": exit code 1 when a pid survives (even after SIGKILL).
stack_down_done=1
opsbook stack down || exit 1
[ "$two_stacks" = 1 ] && { env "${B_ENV[@]}" opsbook stack down || exit 1; }
echo "make test: OK en $(( $(date +%s) - start )) s"

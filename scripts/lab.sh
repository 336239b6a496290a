#!/usr/bin/env bash
# `make lab`: the student's way in. Starts the stack when it is not healthy (with progress),
# then JupyterLab on notebooks/ with the `opsbook` kernel, bound to 127.0.0.1 with a random
# token, and prints the URL with that token. Stopping JupyterLab (Ctrl+C) leaves the stack
# running: `make stack-down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONWARNINGS=ignore
say() { printf '\033[1m[lab]\033[0m %s\n' "$*"; }

if python -c 'import sys; from opsbook.stack.state import is_healthy; sys.exit(0 if is_healthy() else 1)'; then
  say "el stack ya está sano"
else
  say "el stack no está sano: arrancándolo (opsbook stack up)"
  opsbook stack up
fi

port=${OPSBOOK_LAB_PORT:-$(( 8888 + ${OPSBOOK_PORT_OFFSET:-0} ))}
token=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')
url="http://127.0.0.1:${port}/lab/tree/dia_1_testing/dia_1_testing.ipynb?token=${token}"
extra=()
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || extra+=(--no-browser)   # no desktop: print the URL only
[ "$(id -u)" != 0 ] || extra+=(--allow-root)                          # course containers run as root
say "JupyterLab (kernel «Python (opsbook)») en:"
say "    ${url}"
say "Ctrl+C detiene JupyterLab; el stack sigue en marcha hasta 'make stack-down'."
exec jupyter lab "${extra[@]}" \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" --ServerApp.port_retries=0 \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$PWD/notebooks" \
  --MappingKernelManager.default_kernel_name=opsbook

#!/usr/bin/env bash
# Bootstrap of opsbook (`make setup`): virtualenv + pinned lock, Jupyter kernel, Debian packages,
# generated secrets. Idempotent: a second run only checks and takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || die "no encuentro $PY: instala Python ≥ 3.11 (Debian: apt-get install python3 python3-venv)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "opsbook necesita Python ≥ 3.11 ($("$PY" --version))"

# ---- 1. virtualenv with the pinned lock ------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creando .venv con $("$PY" --version)"
  "$PY" -m venv .venv || die "python3 -m venv falló (Debian: apt-get install python3-venv)"
fi
[ -x .venv/bin/uv ] || { say "instalando uv en .venv"; .venv/bin/python -m pip install -q uv; }
lock_sum=$(sha256sum requirements.txt pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat .venv/.opsbook-lock 2>/dev/null)" != "$lock_sum" ]; then
  say "instalando requirements.txt (lock fijado) con uv"
  .venv/bin/uv pip sync -q --python .venv/bin/python requirements.txt
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  echo "$lock_sum" > .venv/.opsbook-lock
fi
# Bytecode, compiled once per lock: with PYTHONDONTWRITEBYTECODE=1 (set on the course machines)
# Python never writes .pyc, so every Airflow process, kernel and task compiled Airflow, pandas...
# from source at each start (`import airflow`: 6.4 s → 3.4 s of CPU with it; docs/rendimiento.md).
if [ "$(cat .venv/.opsbook-bytecode 2>/dev/null)" != "$lock_sum" ]; then
  say "compilando el bytecode del entorno (una vez por lock)"
  .venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages >/dev/null 2>&1 || true
  echo "$lock_sum" > .venv/.opsbook-bytecode
fi

# ---- 2. Jupyter kernel inside the venv -------------------------------------------------------
if [ ! -f .venv/share/jupyter/kernels/opsbook/kernel.json ]; then
  say "registrando el kernel 'opsbook' (--sys-prefix)"
  .venv/bin/python -m ipykernel install --sys-prefix --name opsbook --display-name "Python (opsbook)" >/dev/null
fi
# JupyterLab's kernels on IPC sockets in Jupyter's 0700 runtime folder, not TCP on 127.0.0.1
.venv/bin/python -c 'from opsbook.course.kernels import install_server_config as i; i()'

# ---- 3. Debian packages ----------------------------------------------------------------------
need=(prometheus prometheus-alertmanager prometheus-node-exporter nginx-light)
if [ "${OPSBOOK_MINIMAL:-}" = "1" ]; then
  say "OPSBOOK_MINIMAL=1: sin Chromium, LibreOffice ni poppler (no habrá capturas ni presentación renderizada)"
else
  # Complete evidence by default: UI screenshots, browser tests and the rendered executive deck.
  need+=(chromium libreoffice-impress poppler-utils fonts-crosextra-carlito)
fi
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "instalando paquetes Debian: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "faltan paquetes: ${missing[*]}. En Debian/Ubuntu: sudo apt-get install --no-install-recommends ${missing[*]}; o usa 'docker compose up' (ver README)."
  fi
fi
for b in prometheus promtool prometheus-alertmanager amtool prometheus-node-exporter nginx; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || die "no encuentro '$b' tras instalar los paquetes"
done
# Debian may start packaged services on systems with systemd: they would take our ports.
for unit in prometheus prometheus-alertmanager prometheus-node-exporter nginx; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$unit" 2>/dev/null; then
    say "AVISO: el servicio del sistema '$unit' está activo y puede ocupar los puertos del curso;"
    say "       detenlo con 'sudo systemctl disable --now $unit' o cambia OPSBOOK_PORT_OFFSET."
  fi
done

# ---- 4. PostgreSQL and Redis (metadata DB / broker of the Celery mode, optional warehouse) ----
.venv/bin/python - <<'PYEOF' || true
import socket
from opsbook.settings import HOST, settings
for name, port, hint in [
    ("PostgreSQL", settings.ports.postgres, "apt-get install postgresql && pg_ctlcluster 15 main start"),
    ("Redis", settings.ports.redis, "apt-get install redis-server && redis-server --daemonize yes --bind 127.0.0.1"),
]:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        print(f"[setup] AVISO: {name} no responde en {HOST}:{port} (lo necesitan el modo Celery y el día 4): {hint}")
PYEOF

# ---- 5. secrets (generated once, never committed) --------------------------------------------
.venv/bin/python -c 'from opsbook.settings import settings, ensure_secrets; ensure_secrets(settings)'
say "listo"

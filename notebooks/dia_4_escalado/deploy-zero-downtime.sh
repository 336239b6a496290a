#!/usr/bin/env bash
# Despliegue blue-green sin tiempo de inactividad (Día 4). Envoltorio fino de `opsbook deploy`:
# los seis pasos (compatibilidad, arrancar green, health checks, pruebas de humo + calentamiento,
# cambio de tráfico en nginx, drenar y retirar blue) quedan registrados con marca de tiempo en
# evidencia/dia_4/deploy_zero_downtime_dia4.txt. Si un paso falla, blue sigue sirviendo y el
# script termina con código 1 explicando el motivo.
#
#   uso: ./deploy-zero-downtime.sh VERSION [--load 20]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ $# -lt 1 ]]; then
  echo "uso: $0 VERSION [--load PETICIONES_POR_SEGUNDO] [--smoke-dag DAG]" >&2
  exit 2
fi
exec "$ROOT/.venv/bin/opsbook" deploy "$@"

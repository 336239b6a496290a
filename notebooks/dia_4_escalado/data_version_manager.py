#!/usr/bin/env python
"""Gestor de versiones de datos de clientes (el ``data_version_manager.py`` del temario).

Script fino sobre ``opsbook.pipeline.versioning`` / ``opsbook.pipeline.schema_registry``: toda la lógica vive
en la librería y este fichero solo la expone.

Uso:
    python data_version_manager.py                 # demostración: datos legacy v1/v2/v3 →
                                                   # validar → subir a v3 → validar de nuevo
    python data_version_manager.py check --mode BACKWARD NUEVO.avsc ANTERIOR.avsc [...]
    python data_version_manager.py validate FICHERO [--version N]
    python data_version_manager.py upgrade FICHERO [--to N] [--output CARPETA]
    python data_version_manager.py matrix

Los subcomandos son los de ``opsbook schema`` (mismos códigos de salida: 0 compatible/válido,
1 incompatible/inválido, 2 fichero ilegible).
"""

from __future__ import annotations

import sys


def demo(n_per_version: int = 1000) -> int:
    """Validate legacy data, upgrade it to the latest version and validate again."""
    from opsbook.pipeline.schema_registry import registry
    from opsbook.pipeline.versioning import legacy_mix, validate_upgrade_revalidate

    batches = legacy_mix({1: n_per_version, 2: n_per_version, 3: n_per_version})
    result = validate_upgrade_revalidate(batches)
    for version, errors in result["errors_before"].items():
        print(f"v{version}: {len(batches[version])} registros legacy, {len(errors)} errores")
    print(f"subidos a v{result['target']}: {len(result['upgraded'])} registros, "
          f"{len(result['errors_after'])} errores tras el upgrade")
    print("versiones registradas:", ", ".join(f"v{v}" for v in registry().versions))
    return 0 if not result["errors_after"] else 1


def main(argv: list[str]) -> int:
    """Run the demo without arguments, else delegate to ``opsbook schema``."""
    if not argv:
        return demo()
    from opsbook.cli.main import main as opsbook_main

    return opsbook_main(["schema", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

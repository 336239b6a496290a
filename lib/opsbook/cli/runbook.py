"""``opsbook runbook ...``: the syllabus's ``runbook.py`` as a command.

Why this module exists: on-call engineers need the runbook by hand too — read the catalog,
list and inspect incidents, render a post-mortem, switch automation off for a class
discussion, or feed an Alertmanager payload to the engine inline.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    """Add the ``runbook`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser("runbook", help="runbook automático de incidentes")
    sub = parser.add_subparsers(dest="action", metavar="ACCION")
    sub.required = True
    sub.add_parser("catalog", help="catálogo de incidentes").set_defaults(func=_catalog)
    sub.add_parser("incidents", help="incidentes registrados").set_defaults(func=_incidents)
    p_show = sub.add_parser("show", help="línea de tiempo de un incidente (JSON)")
    p_show.add_argument("incident_id")
    p_show.set_defaults(func=_show)
    p_pm = sub.add_parser("postmortem", help="post-mortem Markdown de un incidente")
    p_pm.add_argument("incident_id")
    p_pm.set_defaults(func=_postmortem)
    p_auto = sub.add_parser("automation", help="activa/desactiva la remediación automática")
    p_auto.add_argument("estado", choices=["on", "off", "status"])
    p_auto.set_defaults(func=_automation)
    p_handle = sub.add_parser("handle", help="procesa un payload de Alertmanager (archivo o -)")
    p_handle.add_argument("archivo")
    p_handle.set_defaults(func=_handle)


def _catalog(args: argparse.Namespace) -> int:
    from opsbook.incidents.catalog import catalog

    for row in catalog().rows():
        print(f"{row['severidad']}  {row['categoria']:<26} {row['tipo']:<22} {row['alerta']}")
    return 0


def _incidents(args: argparse.Namespace) -> int:
    from opsbook.incidents.runbook import incidents_dir
    from opsbook.incidents.timeline import IncidentStore

    for inc in IncidentStore(incidents_dir()).all():
        print(f"{inc.id}  {inc.type:<20} {inc.severity}  {inc.status:<10} "
              f"MTTR {inc.durations()['mttr_s']}")
    return 0


def _load(incident_id: str):
    from opsbook.incidents.runbook import incidents_dir
    from opsbook.incidents.timeline import IncidentStore

    store = IncidentStore(incidents_dir())
    if not store.path(incident_id).exists():
        print(f"incidente {incident_id!r} no encontrado en {store.folder}")
        return None
    return store.load(incident_id)


def _show(args: argparse.Namespace) -> int:
    inc = _load(args.incident_id)
    if inc is None:
        return 1
    print(json.dumps(inc.to_dict(), indent=2, ensure_ascii=False, default=str))
    return 0


def _postmortem(args: argparse.Namespace) -> int:
    from opsbook.incidents import postmortem

    inc = _load(args.incident_id)
    if inc is None:
        return 1
    print(postmortem.render(inc))
    return 0


def _automation(args: argparse.Namespace) -> int:
    from opsbook.incidents import runbook

    if args.estado != "status":
        runbook.set_automation(args.estado == "on")
    print("automatización " + ("ACTIVADA" if runbook.automation_enabled() else "DESACTIVADA"))
    return 0


def _handle(args: argparse.Namespace) -> int:
    from opsbook.incidents import runbook

    raw = sys.stdin.read() if args.archivo == "-" else open(args.archivo).read()
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(f"payload inválido ({exc}): se espera el JSON del webhook de Alertmanager")
        return 2
    ids = runbook.default_runbook().handle(payload, background=False)
    print("incidentes: " + (", ".join(ids) or "ninguno (duplicado o fuera del catálogo)"))
    return 0

"""Incidents: catalog, runbook, diagnostics, recovery, drills, post-mortems and timelines.

Layer: day capability (imports stack and the platform rooms; independent of ``deploy``).
"""

"""Observability: metrics catalog, signals, StatsD bridge, Prometheus queries, alerts, dashboard.

Layer: platform (imports only ``opsbook.settings`` and the top-level helpers).
"""

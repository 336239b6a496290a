"""Airflow: the one REST client wrapper, DAG runs, DAG releases and bundles, DAG tests.

Layer: platform (imports only ``opsbook.settings`` and the top-level helpers).
"""

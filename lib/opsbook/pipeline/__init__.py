"""The sales pipeline: data generator, validation, ETL, warehouse, customers, schemas, versioning.

Layer: platform (imports only ``opsbook.settings`` and the top-level helpers).
"""

"""Deploy and scale: blue-green, zero-downtime checks, load generator, Celery scaling runs.

Layer: day capability (imports stack and the platform rooms; independent of ``incidents``).
"""

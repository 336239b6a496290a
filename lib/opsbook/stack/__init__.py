"""The native stack: supervised processes, their configs, health, state, reaper and Celery mode.

Layer: above the platform rooms (airflow, observability, pipeline), below incidents/deploy.
"""

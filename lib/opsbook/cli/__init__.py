"""Sub-commands of ``opsbook``: one module per command, each with ``register(subparsers)``.

A module here must import cheaply (heavy imports inside the handler) so ``opsbook --help``
stays fast.
"""

"""The stack's alert receiver with the automated runbook plugged in.

Why this module exists: the receiver (:mod:`opsbook.observability.alert_receiver`) records every
Alertmanager notification and knows nothing about incidents; the runbook
(:func:`opsbook.incidents.runbook.on_notification`) answers them. The observability room may not
import the incidents room, so the two meet here, one layer up: the stack runs
``python -m opsbook.incidents.responder`` as its ``alert-receiver`` program.
"""

from __future__ import annotations

from opsbook.incidents import runbook
from opsbook.observability import alert_receiver


def main() -> None:
    """Serve the stack's webhook, handing each notification to the runbook."""
    alert_receiver.main(on_notification=runbook.on_notification)


if __name__ == "__main__":
    main()

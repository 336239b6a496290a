"""Exec one stack program from its JSON spec (``python -m opsbook.stack.launch <spec.json>``).

Why this module exists: supervisord's ``environment=`` syntax cannot carry values such as the
JSON DAG-bundle list safely, and secrets do not belong in ``supervisord.conf``. Each program
spec (argv + environment) is written by :mod:`opsbook.stack.supervisor_conf` to a 0600 JSON file;
this tiny launcher merges the environment and ``exec``s the real command, so the pid that
supervisord tracks is the program itself.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Replace this process with the program described by the spec file.

    Args:
        argv: ``[spec_path]`` (default ``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("uso: python -m opsbook.stack.launch <programa.json>")
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    env = {**os.environ, **spec["env"]}
    os.execvpe(spec["argv"][0], spec["argv"], env)


if __name__ == "__main__":
    main()

"""Every third-party package the repo imports directly is declared in ``requirements.in``.

A package that only arrives as somebody else's dependency disappears the day that somebody
drops it. The test walks the AST of every Python file of the repo (imports inside functions
included), maps each top-level import name to its installed distributions
(``importlib.metadata.packages_distributions``) and requires one of them to be declared.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("lib", "dags", "scripts", "bench", "tests", "notebooks")


def normalize(name: str) -> str:
    """PEP 503 normalisation of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(path: Path) -> set[str]:
    """Distribution names of a requirements file (extras, versions and comments dropped)."""
    return {name for line in path.read_text().splitlines() for name in declared_line(line)}


def declared_line(line: str) -> set[str]:
    """The distribution name of one requirement line (empty for a comment or an option)."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return set()
    return {normalize(re.split(r"[\[<>=!~;\s]", line, maxsplit=1)[0])}


def python_files() -> list[Path]:
    """The repo's own Python files (no venv, no runtime state)."""
    return sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py")
                  if ".ipynb_checkpoints" not in p.parts)


def top_level_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports of one file, at any depth of the AST."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def local_names() -> set[str]:
    """Names importable from the repo itself: opsbook, sibling modules and folders."""
    names = {"opsbook"}
    for path in python_files():
        names.add(path.stem)
        names |= {part for part in path.relative_to(ROOT).parts[:-1]}
    return names


def undeclared_imports() -> dict[str, list[str]]:
    """Import name → its distributions, for every third-party import nobody declared."""
    wanted = declared(ROOT / "requirements.in")
    dists = packages_distributions()
    local = local_names()
    missing: dict[str, list[str]] = {}
    for path in python_files():
        for name in top_level_imports(path):
            if name in sys.stdlib_module_names or name in local or name == "__future__":
                continue
            providers = sorted({normalize(d) for d in dists.get(name, [])})
            if not wanted & set(providers):
                missing.setdefault(name, providers or ["<no instalado>"])
    return missing


def test_every_direct_import_is_declared_in_requirements_in():
    missing = undeclared_imports()
    assert not missing, f"sin declarar en requirements.in (import → distribuciones): {missing}"


def test_the_scan_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    import numpy.linalg\n    from yaml import safe_load\n")
    assert top_level_imports(src) == {"numpy", "yaml"}


def test_declared_names_are_normalised(tmp_path):
    req = tmp_path / "r.in"
    req.write_text("# comment\napache-airflow[statsd]==3.3.2\nPyYAML  # yaml\ncelery[redis]<5.7\n")
    assert declared(req) == {"apache-airflow", "pyyaml", "celery"}


def excluded(path: Path) -> set[str]:
    """Packages an overrides file removes (a marker that never holds, ``sys_platform == "never"``).

    Returns:
        Their normalised distribution names.
    """
    return {name for line in path.read_text().splitlines()
            if "never" in line.split("#", 1)[0] for name in declared_line(line)}


def test_the_lock_leaves_out_what_the_overrides_remove():
    removed = excluded(ROOT / "requirements-overrides.txt")
    assert "rfc3987-syntax" in removed  # +2.5 s of CPU per Airflow process when installed
    assert "--override requirements-overrides.txt" in (ROOT / "Makefile").read_text()
    locked = declared(ROOT / "requirements.txt")
    assert locked and not removed & locked, f"el lock instala lo que se quitó: {removed & locked}"

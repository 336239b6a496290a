"""Docstring coverage of ``lib/opsbook`` (an interrogate-style count, no extra dependency).

Why this module exists: self-documenting code is one of day 5's topics. ruff's pydocstyle rules
(Google convention, on in ``pyproject.toml``) reject a missing or malformed docstring; this
module *measures* the coverage so the test suite can assert a threshold and the day-5 notebook
can quote the figure (a technical-debt indicator) instead of claiming it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Coverage:
    """Docstring coverage of a package.

    Attributes:
        total: public modules, classes, functions and methods found.
        documented: how many of them have a docstring.
        missing: ``file:line name`` of each undocumented one.
    """

    total: int = 0
    documented: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        """Documented / total × 100 (100 when there is nothing to document)."""
        return 100.0 if self.total == 0 else 100.0 * self.documented / self.total


def _public(name: str) -> bool:
    return not name.startswith("_")


def _visit(node: ast.AST, where: str, cov: Coverage, parents_public: bool = True) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            public = parents_public and _public(child.name)
            if public:
                cov.total += 1
                if ast.get_docstring(child):
                    cov.documented += 1
                else:
                    cov.missing.append(f"{where}:{child.lineno} {child.name}")
            if isinstance(child, ast.ClassDef):
                _visit(child, where, cov, public)


def docstring_coverage(package_dir: Path = PACKAGE_DIR) -> Coverage:
    """Count public modules, classes, functions and methods with a docstring.

    Private names (leading underscore) and everything nested in a function are skipped, as
    pydocstyle does; ``__init__``-style dunders count as private.

    Args:
        package_dir: root folder of the package (default: ``lib/opsbook``).

    Returns:
        The :class:`Coverage`.
    """
    cov = Coverage()
    for path in sorted(Path(package_dir).rglob("*.py")):
        rel = path.relative_to(package_dir.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        cov.total += 1
        if ast.get_docstring(tree):
            cov.documented += 1
        else:
            cov.missing.append(f"{rel}:1 (módulo)")
        _visit(tree, str(rel), cov)
    return cov

"""The architecture of lib/opsbook holds: rooms in layers, no import cycles, small modules.

The layer contract lives in ``pyproject.toml`` (``[tool.importlinter]``, checked by
``lint-imports``); ``docs/arquitectura.md`` shows it as the module map. These tests keep the two
in step and re-check the contract on an import graph built here from the AST of every module,
so imports inside functions and ``importlib.import_module("opsbook....")`` with a literal name
count too, whatever import-linter's version sees.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lib" / "opsbook"
MAX_TOP_LEVEL_MODULES = 12
MAX_LINES = 400


# ---- the import graph ------------------------------------------------------------------------
def module_names(package: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module of ``package`` (packages as their name)."""
    out = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports, at any depth (functions included)."""
    modules = module_names(package)
    root = package.name

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" for a in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                    node.func, "id", None)) == "import_module" and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                targets = [node.args[0].value]
            for target in targets:
                if target.split(".")[0] == root and (dep := owner(target)) and dep != mod:
                    graph[mod].add(dep)
        graph.setdefault(mod, set())
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


# ---- the contract and its map ----------------------------------------------------------------
def contract_layers() -> list[tuple[list[str], bool]]:
    """Layers of the pyproject contract, top first: (names, independent siblings?)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert contract["containers"] == ["opsbook"]
    layers = []
    for raw in contract["layers"]:
        independent = ":" not in raw
        layers.append(([n.strip() for n in re.split(r"[|:]", raw)], independent))
    return layers


def allowed_from_contract() -> dict[str, tuple[int, set[str]]]:
    """Room → (layer number from 1, rooms it may import) according to the contract."""
    layers = contract_layers()
    out = {}
    for i, (names, independent) in enumerate(layers):
        below = {n for lower, _ in layers[i + 1:] for n in lower}
        for name in names:
            siblings = set() if independent else set(names) - {name}
            out[name] = (i + 1, below | siblings)
    return out


def allowed_from_docs() -> dict[str, tuple[int, set[str]]]:
    """The same, read from the module map table of docs/arquitectura.md."""
    text = (ROOT / "docs" / "arquitectura.md").read_text()
    section = text.split("### Mapa de módulos", 1)[1]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            (room,) = re.findall(r"`([\w.]+)`", cells[1])
            out[room] = (int(cells[0]), set(re.findall(r"`([\w.]+)`", cells[3])))
        elif out and not line.startswith("|"):
            break
    return out


def room_of(module: str) -> str:
    """``opsbook.stack.health`` → ``stack``; ``opsbook.settings`` → ``settings``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# ---- tests -----------------------------------------------------------------------------------
def test_no_import_cycles_counting_imports_inside_functions():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (pkg / "c.py").write_text("import importlib\nimportlib.import_module('pkg.a')\n")
    graph = import_graph(pkg)
    assert graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]


def test_every_import_respects_the_layer_contract():
    allowed = allowed_from_contract()
    wrong = sorted(f"{mod} -> {dep}" for mod, deps in import_graph(PACKAGE).items()
                   for dep in deps
                   if room_of(dep) and room_of(mod) and room_of(dep) != room_of(mod)
                   and room_of(dep) not in allowed[room_of(mod)][1])
    assert wrong == []


def test_the_contract_names_every_room_and_top_level_module():
    children = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
                if (p.suffix == ".py" and p.name != "__init__.py")
                or (p.is_dir() and (p / "__init__.py").exists())}
    assert set(allowed_from_contract()) == children


def test_the_module_map_in_the_docs_matches_the_contract():
    documented = allowed_from_docs()
    assert len(documented) >= 8
    assert documented == allowed_from_contract()


def test_few_top_level_modules_and_no_big_module():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    rooms = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    assert len(rooms) >= 5
    big = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_rest_paths_live_in_two_modules_and_one_http_library():
    """Airflow's REST paths only in airflow/paths.py (the SDK knows its own); Alertmanager's in
    the one module that asks it; no ``requests`` or ``urllib.request`` anywhere."""
    holders = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if "/api/v2" in p.read_text())
    assert holders == ["airflow/paths.py", "observability/alerts.py"], holders
    other_http = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                        if re.search(r"^\s*(import requests|from requests|import urllib\.request"
                                     r"|from urllib\.request|from urllib import request)",
                                     p.read_text(), re.MULTILINE))
    assert other_http == []


def test_the_course_room_map_names_every_module():
    """docs/arquitectura.md groups the biggest room; a new module must be placed in a group."""
    text = (ROOT / "docs" / "arquitectura.md").read_text()
    section = text.split("### Dentro de `course`", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(\w+)`", section))
    first, last = re.search(r"`day(\d)` … `day(\d)`", section).groups()
    listed |= {f"day{n}" for n in range(int(first), int(last) + 1)}
    modules = {p.stem for p in (ROOT / "lib" / "opsbook" / "course").glob("*.py")} - {"__init__"}
    assert modules - listed == set(), sorted(modules - listed)

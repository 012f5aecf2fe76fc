"""The package imports in one direction: files -> tidy table -> evidence -> findings -> ranked
causes -> report -> command line.  Every module has a layer; a module imports only modules of
lower layers (or its own package's siblings of the same layer), never the package root; and the
import graph (imports inside functions included, `if TYPE_CHECKING:` ones not) has no circle."""

from __future__ import annotations

import ast
import os

from conftest import REPO

PKG = os.path.join(REPO, "logsleuth")

# lowest first; the longest matching prefix gives a module its layer
LAYERS = {
    # shared by every layer: the data model, errors, number formats, lazily imported names
    "logsleuth._version": 0, "logsleuth.lazy": 0, "logsleuth.pathguard": 0,
    "logsleuth.errors": 0, "logsleuth.model": 0, "logsleuth.comparison": 0, "logsleuth.resources": 0,
    "logsleuth.progress": 0, "logsleuth.numfmt": 0, "logsleuth.rulecache": 0.3, "logsleuth.params": 0.5, "logsleuth.kinds": 0.5,
    "logsleuth.hparam_names": 0.5,
    # files -> tidy table (and the series with roles on one step axis)
    "logsleuth.ingest": 1, "logsleuth.roles": 1, "logsleuth.axes": 1,
    # -> evidence
    "logsleuth.detectors": 2,
    # -> findings
    "logsleuth.ruleset": 3,
    # -> ranked causes
    "logsleuth.ranking": 4,
    # one run's diagnosis; the machinery of many
    "logsleuth.cache": 5, "logsleuth.executors": 5,
    "logsleuth.pipeline": 6, "logsleuth.sweep": 6,
    "logsleuth.scan": 7,
    # -> reports, and what is built on whole analyses
    "logsleuth.compare": 8, "logsleuth.report": 8, "logsleuth.healthy_runs": 8, "logsleuth.evaluate": 8,
    "logsleuth.docs": 9, "logsleuth.calibrate": 9,
    "logsleuth.commands": 10,
    "logsleuth.cli": 11,
    "logsleuth.__main__": 12,
}

# (importer, imported) edges allowed against the direction, each with its reason and its end
ALLOWED_BACK_EDGES: dict = {}  # none: every import goes down the layers


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{module} has no layer in LAYERS: add it"
    return LAYERS[best]


def _modules() -> dict[str, str]:
    out = {}
    for dp, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dp, f), REPO)[:-3].replace(os.sep, ".")
                out[rel[: -len(".__init__")] if rel.endswith(".__init__") else rel] = os.path.join(dp, f)
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node, except those under `if TYPE_CHECKING:` (never imported when the code runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)


def _imports(module: str, path: str) -> set[str]:
    """Every logsleuth module a file imports, at the top or inside a function."""
    is_pkg = path.endswith("__init__.py")
    pkg = module if is_pkg else module.rsplit(".", 1)[0]
    found = set()
    for node in _runtime_nodes(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            else:
                names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n == "logsleuth" or n.startswith("logsleuth.")}
    return found


def _graph() -> dict[str, set[str]]:
    """module -> the logsleuth modules it imports (a name imported from a package: the package)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        edges = set()
        for target in _imports(mod, path):
            if target not in mods and target.rsplit(".", 1)[0] in mods:
                target = target.rsplit(".", 1)[0]  # `from . import x` of a name, not a module
            if target != mod:
                edges.add(target)
        graph[mod] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a graph: one path per strongly connected component of more than
    one module (or a module importing itself), found with Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_imports_only_lower_layers():
    graph = _graph()
    assert len(graph) > 40
    bad = []
    for mod, targets in sorted(graph.items()):
        if mod == "logsleuth":
            continue  # the root only re-exports, lazily
        for target in sorted(targets):
            if (mod, target) in ALLOWED_BACK_EDGES:
                continue
            if target == "logsleuth":
                bad.append(f"{mod} imports the package root (import from the module itself)")
            elif layer(target) > layer(mod) or (layer(target) == layer(mod) and
                                                 target.split(".")[:2] != mod.split(".")[:2]):
                bad.append(f"{mod} (layer {layer(mod)}) imports {target} (layer {layer(target)})")
    assert not bad, "\n".join(bad)


def test_no_import_circles():
    """No module reaches itself through imports (the package root, which re-exports lazily,
    left out), not even through an import inside a function."""
    graph = {m: {t for t in ts if t != "logsleuth" and (m, t) not in ALLOWED_BACK_EDGES}
             for m, ts in _graph().items() if m != "logsleuth"}
    cycles = find_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The checker itself: a detector importing the pipeline is reported."""
    f = tmp_path / "x.py"
    f.write_text("from ..pipeline import diagnose\n")
    assert _imports("logsleuth.detectors.x", str(f)) == {"logsleuth.pipeline"}
    assert layer("logsleuth.pipeline") > layer("logsleuth.detectors.x")


def test_the_circle_finder_catches_a_function_level_circle(tmp_path):
    """The checker itself: a circle closed by an import inside a function is found; one closed
    only under TYPE_CHECKING is not a circle."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from .b import g\n")
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n"
                 "def g():\n    from .a import f\n    return f\n")
    graph = {"logsleuth.a": _imports("logsleuth.a", str(a)), "logsleuth.b": _imports("logsleuth.b", str(b))}
    assert find_cycles(graph) == [["logsleuth.a", "logsleuth.b"]]
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    graph["logsleuth.b"] = _imports("logsleuth.b", str(b))
    assert find_cycles(graph) == []
    assert find_cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]


def test_every_subpackage_ships_in_the_wheel():
    """pyproject.toml lists the packages by name: a new subpackage missing there installs a
    logsleuth that fails at import (as `commands` and `calibrate` once did)."""
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    found = {"logsleuth." + os.path.relpath(d, PKG).replace(os.sep, ".") if d != PKG else "logsleuth"
             for d, _, files in os.walk(PKG) if "__init__.py" in files}
    assert found <= listed, sorted(found - listed)

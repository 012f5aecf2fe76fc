"""The package imports in one direction: files -> tidy table -> evidence -> findings -> ranked
causes -> report -> command line.  Every module has a layer; a module imports only modules of
lower layers (or its own package's siblings of the same layer), never the package root."""

from __future__ import annotations

import ast
import os

from conftest import REPO

PKG = os.path.join(REPO, "logsleuth")

# lowest first; the longest matching prefix gives a module its layer
LAYERS = {
    "logsleuth._version": 0, "logsleuth.errors": 0, "logsleuth.model": 0, "logsleuth.resources": 0,
    "logsleuth.progress": 0, "logsleuth.params": 0.5, "logsleuth.kinds": 0.5,
    "logsleuth.ingest": 1, "logsleuth.roles": 1, "logsleuth.detectors": 1, "logsleuth.axes": 1,
    "logsleuth.ruleset": 2, "logsleuth.ranking": 2,
    "logsleuth.cache": 3, "logsleuth.executors": 3,
    "logsleuth.pipeline": 4, "logsleuth.sweep": 4, "logsleuth.compare": 5,
    "logsleuth.report": 5, "logsleuth.reference": 5, "logsleuth.evaluate": 5,
    "logsleuth.docs": 6,
    "logsleuth.cli": 7,
    "logsleuth.__main__": 8,
}


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


def _imports(module: str, path: str) -> set[str]:
    """Every logsleuth module a file imports, at the top or inside a function."""
    is_pkg = path.endswith("__init__.py")
    pkg = module if is_pkg else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
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


def test_every_module_imports_only_lower_layers():
    mods = _modules()
    assert len(mods) > 40
    bad = []
    for mod, path in sorted(mods.items()):
        if mod == "logsleuth":
            continue  # the root only re-exports, lazily
        for target in _imports(mod, path):
            if target not in mods and target.rsplit(".", 1)[0] in mods:
                target = target.rsplit(".", 1)[0]  # `from . import x` of a name, not a module
            if target == "logsleuth":
                bad.append(f"{mod} imports the package root (import from the module itself)")
            elif layer(target) > layer(mod) or (layer(target) == layer(mod) and
                                                 target.split(".")[:2] != mod.split(".")[:2]):
                bad.append(f"{mod} (layer {layer(mod)}) imports {target} (layer {layer(target)})")
    assert not bad, "\n".join(bad)


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The checker itself: a detector importing the pipeline is reported."""
    f = tmp_path / "x.py"
    f.write_text("from ..pipeline import diagnose\n")
    assert _imports("logsleuth.detectors.x", str(f)) == {"logsleuth.pipeline"}
    assert layer("logsleuth.pipeline") > layer("logsleuth.detectors.x")

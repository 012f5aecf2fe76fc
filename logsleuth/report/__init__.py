"""Reports: terminal, Markdown, HTML and JSON renderings of diagnoses.

Each format is its own module, imported on first use (PEP 562): a JSON report does not load
the terminal's or Markdown's code."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {"to_json": "jsonreport", "to_json_dict": "jsonreport", "to_markdown": "markdown", "to_terminal": "terminal"}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["to_json", "to_json_dict", "to_markdown", "to_terminal"]

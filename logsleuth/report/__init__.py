"""Reports: terminal, Markdown, HTML and JSON renderings of diagnoses.

Each format is its own module, imported on first use (PEP 562): a JSON report does not load
the terminal's or Markdown's code."""

from __future__ import annotations

from ..lazy import lazy_names

_PUBLIC = {"to_json": "jsonreport", "to_json_dict": "jsonreport", "to_markdown": "markdown", "to_terminal": "terminal"}


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())


__all__ = ["to_json", "to_json_dict", "to_markdown", "to_terminal"]

"""Reports: terminal, Markdown, HTML and JSON renderings of diagnoses."""

from __future__ import annotations

from .jsonreport import to_json, to_json_dict
from .markdown import to_markdown
from .terminal import to_terminal

__all__ = ["to_json", "to_json_dict", "to_markdown", "to_terminal"]

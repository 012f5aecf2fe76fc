"""logsleuth: post-mortem of neural-network training runs.

Public API::

    from logsleuth import discover, load_run, analyze_paths, diagnose
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._version import __version__

# The public names, imported on first use (PEP 562): importing any logsleuth module runs this
# file first, and `logsleuth --version`, `rules` or `explain` must not pay for pandas and the
# readers.
_PUBLIC = {
    "discover": "ingest", "load_run": "ingest",
    "analyze_paths": "scan", "analyze_source": "pipeline", "diagnose": "pipeline", "Options": "pipeline",
    "RunData": "model", "Series": "model", "Role": "model", "Evidence": "model", "Finding": "model",
    "CauseScore": "model", "Diagnosis": "model",
    "LogsleuthError": "errors", "InputError": "errors", "RuleError": "errors", "UsageError": "errors",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'logsleuth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = [
    "CauseScore",
    "Diagnosis",
    "Evidence",
    "Finding",
    "InputError",
    "LogsleuthError",
    "Options",
    "Role",
    "RuleError",
    "RunData",
    "Series",
    "UsageError",
    "__version__",
    "analyze_paths",
    "analyze_source",
    "diagnose",
    "discover",
    "load_run",
]

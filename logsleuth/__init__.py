"""logsleuth: post-mortem of neural-network training runs.

Public API::

    from logsleuth import discover, load_run, analyze_paths, diagnose
"""

from __future__ import annotations

from ._version import __version__
from .lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())


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

"""logsleuth: post-mortem of neural-network training runs.

Public API::

    from logsleuth import discover, load_run, analyze_paths, diagnose
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import InputError, LogsleuthError, RuleError, UsageError
from .ingest import discover, load_run
from .model import CauseScore, Diagnosis, Evidence, Finding, Role, RunData, Series
from .pipeline import Options, analyze_paths, analyze_source, diagnose

__all__ = [
    "__version__",
    "discover",
    "load_run",
    "analyze_paths",
    "analyze_source",
    "diagnose",
    "Options",
    "RunData",
    "Series",
    "Role",
    "Evidence",
    "Finding",
    "CauseScore",
    "Diagnosis",
    "LogsleuthError",
    "InputError",
    "RuleError",
    "UsageError",
]

"""What `logsleuth compare` finds: per pair of runs the settings that differ and, per shared
metric, where the curves part and which ends better (compare.py makes them, report/compare.py
renders them).  Apart from model.py so that `analyze` does not define them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .model import Diagnosis


@dataclass(frozen=True)
class MetricDiff:
    metric: str
    role: str
    direction: str  # lower | higher | none: which way is better
    parting_step: float | None  # where the curves part; None: they agree within their noise
    end_baseline: float
    end_other: float
    change: float  # relative change of the end level, other against baseline
    better: str  # baseline | other | same | unknown
    common_from: float
    common_to: float
    axis: str = "step"  # step, or progress (0-1 of each run) when the step ranges barely overlap


@dataclass(frozen=True)
class PairComparison:
    baseline: str
    other: str
    hparams: tuple[tuple[str, Any, Any], ...]  # (key, baseline value, other value), most telling first
    metrics: tuple[MetricDiff, ...]
    only_baseline: tuple[str, ...]  # symptoms (warning or worse) only the baseline shows
    only_other: tuple[str, ...]


@dataclass
class Comparison:
    """What `logsleuth compare` found: every run's diagnosis and one comparison per non-baseline run."""

    diagnoses: list[Diagnosis]
    pairs: list[PairComparison] = field(default_factory=list)
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)  # run -> metric -> xy

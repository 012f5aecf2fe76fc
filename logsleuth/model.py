"""The data that flows through logsleuth, one direction only.

files -> :class:`RunData` (tidy long table + hyperparameters)
      -> :class:`Evidence` (what a detector saw)
      -> :class:`Finding` (a rule that fired: a symptom with its evidence)
      -> :class:`CauseScore` (ranked causes with remedies)
      -> :class:`Diagnosis` (everything about one run, what reports print)

What `logsleuth compare` finds is in comparison.py (imported by that command only: each frozen
dataclass costs ~0.5 ms of every start).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TIDY_COLUMNS = ("metric", "step", "value", "wall_time")

class _Level(str, Enum):
    """An ordered level: a string (it compares equal to, prints and serialises as its value,
    so rule files, reports and the cache keep plain words) that also orders by its place in
    the declaration, least severe first.  `Severity("loud")` raises ValueError."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def rank(self) -> int:
        return list(type(self)).index(self)

    def _cmp(self, other: object) -> int | None:
        if isinstance(other, type(self)):
            return self.rank - other.rank
        return None

    def __lt__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c < 0

    def __le__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c <= 0

    def __gt__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c > 0

    def __ge__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c >= 0

    __hash__ = str.__hash__


class Severity(_Level):
    """Of a finding, least severe first."""
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Health(_Level):
    """Of a run, least severe first.  UNKNOWN: nothing could be judged (no loss curve, too few
    points); it sorts between healthy and warning: not an alarm, nor a clean bill of health."""
    HEALTHY = "healthy"
    UNKNOWN = "unknown"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITIES = tuple(s.value for s in Severity)
HEALTH_LEVELS = tuple(h.value for h in Health)
# a run's outcome in an overview: its health, or "unreadable" when it could not be read (worse
# than critical: nothing is known about it); worst first, the order every report lists runs in
OUTCOMES_WORST_FIRST = ("unreadable",) + HEALTH_LEVELS[::-1]
OUTCOME_RANK = {o: i for i, o in enumerate(OUTCOMES_WORST_FIRST)}


def empty_table() -> pd.DataFrame:
    """An empty tidy table with the right dtypes."""
    import pandas as pd

    return pd.DataFrame(
        {
            "metric": pd.Series([], dtype=object),
            "step": pd.Series([], dtype="float64"),
            "value": pd.Series([], dtype="float64"),
            "wall_time": pd.Series([], dtype="float64"),
        }
    )


@dataclass(frozen=True)
class Role:
    """What a metric is, inferred from its name (or set by the user)."""

    split: str | None  # train | val | test | None
    kind: str  # loss, accuracy, error, lr, grad_norm, update_ratio, dead_frac, reg_loss, ...
    direction: str  # lower | higher | none

    @property
    def name(self) -> str:
        """`<split>_<kind>` where a split applies, else the bare kind (CONTRACT.md)."""
        if self.kind == "other":
            return "other"
        return f"{self.split}_{self.kind}" if self.split else self.kind


@dataclass(frozen=True)
class Series:
    """One metric of one run: sorted, de-duplicated steps and their values."""

    metric: str
    role: Role
    steps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.steps.size)

    def finite(self) -> Series:
        """The same series without its NaN/Inf points."""
        import numpy as np

        ok = np.isfinite(self.values)
        return Series(self.metric, self.role, self.steps[ok], self.values[ok])


@dataclass(frozen=True)
class RunData:
    """Everything read from one run: a tidy table, hyperparameters, and warnings.

    A run whose step counter went back to its start (a second `fit`, k-fold, a job run again
    from scratch) holds its `segments`, each a RunData of its own (named `<run> (segment k of
    n)`, with `segment` = (k, n)); its own table is then its last segment's."""

    name: str
    path: str
    formats: tuple[str, ...]
    table: pd.DataFrame  # columns TIDY_COLUMNS, long format
    hparams: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    segments: tuple[RunData, ...] = ()
    segment: tuple[int, int] | None = None


@dataclass(frozen=True)
class Evidence:
    """What one detector saw on one series (or pair of series)."""

    detector: str
    metric: str
    fired: bool
    confidence: float = 0.0
    start_step: float | None = None
    end_step: float | None = None
    measures: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    cannot_judge: str | None = None  # reason, when the series was too short etc.


@dataclass(frozen=True)
class Finding:
    """A rule that fired: a symptom on a metric, with its evidence."""

    rule: str
    symptom: str
    severity: str
    metric: str
    confidence: float
    start_step: float | None
    end_step: float | None
    evidence: str
    causes: tuple[tuple[str, float], ...]  # (cause id, weight) after conditions


@dataclass(frozen=True)
class SkippedRule:
    rule: str
    reason: str


@dataclass(frozen=True)
class CauseScore:
    id: str
    score: float
    because: tuple[str, ...]
    remedies: tuple[str, ...]
    title: str = ""
    references: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class MetricInfo:
    metric: str
    role: str
    points: int
    first_step: float | None
    last_step: float | None
    nonfinite: int


@dataclass(frozen=True)
class Diagnosis:
    """The result for one run: what every report prints."""

    run: str
    status: str  # ok | error
    error: str | None = None
    health: str = "healthy"
    metrics: tuple[MetricInfo, ...] = ()
    symptoms: tuple[Finding, ...] = ()
    causes: tuple[CauseScore, ...] = ()
    skipped: tuple[SkippedRule, ...] = ()
    warnings: tuple[str, ...] = ()
    hparams: Mapping[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ()


# a run's main curves, decimated for its plot: role -> (metric, steps, values)
PlotCurves = Mapping[str, "tuple[str, np.ndarray, np.ndarray]"]  # metric -> (role, steps, values)


class Outcome(NamedTuple):
    """What analysing one run gives: its diagnosis (plain data: what reports print and the
    cache stores) and, apart from it, the curves its plot draws.  A run whose step counter
    went back to its start is one diagnosed run per segment: this outcome is its last segment
    and `segments` the ones before it, in order (`runs()` lists them all)."""
    diagnosis: Diagnosis
    curves: PlotCurves
    segments: tuple[Outcome, ...] = ()
    png: bytes | None = None  # its plot, when the worker that analysed it drew it (report.plots.drawn)

    def runs(self) -> tuple[Outcome, ...]:
        """The diagnosed runs of this outcome in segment order: the earlier segments, then this."""
        return (*self.segments, self._replace(segments=())) if self.segments else (self,)


@dataclass
class Analysis:
    """A scan's result, what every report renders: the diagnoses in discovery order, each run's
    plot curves by run name (empty when no plot is drawn), notes about the logs, and the
    overview across runs, computed once (`report.overview_of`) and carried here."""
    diagnoses: list[Diagnosis] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # runs given explicitly as a file on the command line that could not be read (exit code 2)
    explicit_errors: list[str] = field(default_factory=list)
    # about the scan, not the logs (cache problems...): printed on stderr, not in reports
    notices: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    curves: dict[str, PlotCurves] = field(default_factory=dict)
    pngs: dict[str, bytes] = field(default_factory=dict)  # plots the workers drew, by run name
    overview: Any = None  # a sweep.Overview once computed


# ------------------------------------------------------------------ a Diagnosis as data

def report_number(x: Any, exact: bool = False) -> Any:
    """A number as the JSON report writes it: floats to 4 places, NaN/Inf as null (`exact`: as is)."""
    if exact or not isinstance(x, float):
        return x
    return round(x, 4) if math.isfinite(x) else None


def _hparam(v: Any, exact: bool) -> Any:
    if exact:
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        return v.item() if hasattr(v, "item") and type(v).__module__ == "numpy" else str(v)  # numpy scalars
    return report_number(v, False) if isinstance(v, (int, float, str, bool)) or v is None else str(v)


def diagnosis_to_dict(d: Diagnosis, exact: bool = False) -> dict[str, Any]:
    """The one serialisation of a Diagnosis: the run object of the JSON report (CONTRACT.md:
    numbers rounded to 4 places, NaN/Inf as null) or, `exact`, the same object with every number
    as it is and each symptom's weighted causes: what the cache stores and
    `diagnosis_from_dict` reads back to an equal Diagnosis."""
    symptoms = []
    for f in d.symptoms:
        s = {"id": f.symptom, "rule": f.rule, "severity": f.severity, "metric": f.metric,
             "start_step": report_number(f.start_step, exact), "end_step": report_number(f.end_step, exact),
             "confidence": report_number(f.confidence, exact), "evidence": f.evidence}
        if exact:
            s["causes"] = [[c, w] for c, w in f.causes]
        symptoms.append(s)
    return {
        "run": d.run,
        "status": d.status,
        "error": d.error,
        "health": d.health,
        "formats": list(d.formats),
        "metrics": {m.metric: {"role": m.role, "points": m.points, "first_step": report_number(m.first_step, exact),
                               "last_step": report_number(m.last_step, exact), "nonfinite": m.nonfinite} for m in d.metrics},
        "symptoms": symptoms,
        "causes": [
            {"id": c.id, "title": c.title, "score": report_number(c.score, exact), "because": list(c.because),
             "remedies": list(c.remedies), "references": [dict(r) for r in c.references]}
            for c in d.causes
        ],
        "skipped_rules": [{"rule": s.rule, "reason": s.reason} for s in d.skipped],
        "warnings": list(d.warnings),
        "hparams": {str(k): _hparam(v, exact) for k, v in (d.hparams.items() if exact else sorted(d.hparams.items()))},
    }


def diagnosis_from_dict(p: Mapping[str, Any]) -> Diagnosis:
    """The Diagnosis of an exact `diagnosis_to_dict`."""
    return Diagnosis(
        run=p["run"], status=p["status"], error=p["error"], health=p["health"],
        metrics=tuple(MetricInfo(metric=k, role=m["role"], points=m["points"], first_step=m["first_step"],
                                 last_step=m["last_step"], nonfinite=m["nonfinite"]) for k, m in p["metrics"].items()),
        symptoms=tuple(Finding(rule=s["rule"], symptom=s["id"], severity=s["severity"], metric=s["metric"],
                               confidence=s["confidence"], start_step=s["start_step"], end_step=s["end_step"],
                               evidence=s["evidence"], causes=tuple((c, w) for c, w in s["causes"]))
                       for s in p["symptoms"]),
        causes=tuple(CauseScore(id=c["id"], score=c["score"], because=tuple(c["because"]), remedies=tuple(c["remedies"]),
                                title=c["title"], references=tuple(c["references"])) for c in p["causes"]),
        skipped=tuple(SkippedRule(rule=s["rule"], reason=s["reason"]) for s in p["skipped_rules"]),
        warnings=tuple(p["warnings"]), hparams=dict(p["hparams"]), formats=tuple(p["formats"]),
    )


def worst_first(diags: list[Diagnosis]) -> list[Diagnosis]:
    """Errors first, then critical, warning, unknown, healthy; within a level by top score, then name."""
    def key(d: Diagnosis):
        if d.status == "error":
            return (-1, 0.0, d.run)
        top = d.causes[0].score if d.causes and d.health != "healthy" else 0.0
        return (-Health(d.health).rank, -top, d.run)

    return sorted(diags, key=key)

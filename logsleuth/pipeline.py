"""files -> tidy table -> evidence -> ranked causes -> Diagnosis, for one run or many."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .ingest import RunSource, discover, load_run
from .model import Diagnosis, MetricInfo, Role, RunData, Series
from .roles import build_series


@dataclass(frozen=True)
class Options:
    """What changes a diagnosis: the rule set and role overrides."""

    ruleset: object | None = None  # logsleuth.ruleset.RuleSet; None: the built-in one
    role_overrides: tuple[tuple[str, Role], ...] = ()


@dataclass
class Analysis:
    diagnoses: list[Diagnosis] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # runs given explicitly as a file on the command line that could not be read (exit code 2)
    explicit_errors: list[str] = field(default_factory=list)


def metric_infos(series: dict[str, Series]) -> tuple[MetricInfo, ...]:
    out = []
    for name in sorted(series):
        s = series[name]
        out.append(MetricInfo(
            metric=name, role=s.role.name, points=len(s),
            first_step=float(s.steps[0]) if len(s) else None,
            last_step=float(s.steps[-1]) if len(s) else None,
            nonfinite=int((~np.isfinite(s.values)).sum()),
        ))
    return tuple(out)


def diagnose(run: RunData, options: Options | None = None) -> Diagnosis:
    """The diagnosis of one loaded run."""
    from .ranking import rank
    from .ruleset import builtin_ruleset, evaluate

    options = options or Options()
    series = build_series(run, list(options.role_overrides))
    ruleset = options.ruleset or builtin_ruleset()
    findings, skipped = evaluate(ruleset, series, run.hparams)
    health, causes = rank(findings, ruleset)
    return Diagnosis(
        run=run.name, status="ok", health=health, metrics=metric_infos(series),
        symptoms=tuple(findings), causes=tuple(causes), skipped=tuple(skipped),
        warnings=run.warnings, hparams=dict(run.hparams), formats=run.formats,
        curves=plot_curves(series),
    )


PLOT_ROLES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_score", "lr", "grad_norm")


def plot_curves(series: dict[str, Series], points: int = 1500) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """The main metric of each plotted role, decimated (min and max per bucket keep spikes)."""
    from .roles import primary

    out = {}
    for role in PLOT_ROLES:
        s = primary(series, role)
        if s is not None and len(s):
            st, v = decimate(s.steps, s.values, points)
            out[role] = (s.metric, st, v)
    return out


def decimate(steps: np.ndarray, values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about `points` points: per bucket the minimum and the maximum, in step order, so
    spikes survive; the first non-finite value of each bucket is kept too (it is evidence)."""
    n = values.size
    if n <= points:
        return steps, values
    buckets = max(1, points // 2)
    size = int(np.ceil(n / buckets))
    pad = buckets * size - n
    finite = np.isfinite(values)
    lo = np.where(finite, values, np.inf)
    hi = np.where(finite, values, -np.inf)
    lo = np.r_[lo, np.full(pad, np.inf)].reshape(buckets, size)
    hi = np.r_[hi, np.full(pad, -np.inf)].reshape(buckets, size)
    bad = np.r_[~finite, np.zeros(pad, bool)].reshape(buckets, size)
    base = np.arange(buckets) * size
    keep = [base + lo.argmin(axis=1), base + hi.argmax(axis=1)]
    has_bad = bad.any(axis=1)
    keep.append((base + bad.argmax(axis=1))[has_bad])
    idx = np.unique(np.concatenate(keep))
    idx = idx[idx < n]
    return steps[idx], values[idx]


def analyze_source(src: RunSource, options: Options | None = None) -> Diagnosis:
    """Load and diagnose one run; a broken run gives status 'error', never an exception."""
    try:
        run = load_run(src)
    except InputError as exc:
        return Diagnosis(run=src.name, status="error", error=str(exc), health="healthy")
    except MemoryError:
        return Diagnosis(run=src.name, status="error", error=f"{src.name}: out of memory while reading", health="healthy")
    return diagnose(run, options)


POOL_MIN_RUNS = 16


def analyze_paths(paths: list[str], options: Options | None = None, jobs: int | None = None) -> Analysis:
    """Discover every run under the paths and diagnose each, in `jobs` processes (default: all
    cores) when there are many runs; results come back in discovery order either way."""
    found = discover(paths)
    out = Analysis(messages=list(found.messages))
    explicit = {p for p in paths if os.path.isfile(p)}
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(found.runs) >= POOL_MIN_RUNS:
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial

        with ProcessPoolExecutor(max_workers=jobs) as ex:
            diags = list(ex.map(partial(analyze_source, options=options), found.runs,
                                chunksize=max(1, len(found.runs) // (8 * jobs))))
    else:
        diags = [analyze_source(src, options) for src in found.runs]
    for src, d in zip(found.runs, diags):
        out.diagnoses.append(d)
        if d.status == "error" and any(f.path in explicit for f in src.files):
            out.explicit_errors.append(d.error or src.name)
    return out

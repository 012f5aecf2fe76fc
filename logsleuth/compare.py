"""`logsleuth compare`: why did this run do worse than that one?

Runs are compared with a baseline (the first, or `--baseline`):

- hyperparameter differences, from the logs, the configs beside them and `key=value` parts of
  their paths, the settings that most often decide a run's fate first (learning rate,
  optimizer, batch size, ...);
- per shared metric, the step where the curves part (their smoothed difference leaves the
  band of both curves' noise and stays out), each run's end level and which ends better
  (lower for losses and errors, higher for accuracies and scores);
- the symptoms one run shows and the other does not.

Curves are compared on their common step range, on a log scale for positive losses, after the
same smoothing the detectors use.  Nothing here changes a diagnosis: each run is diagnosed
exactly as `analyze` would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .comparison import Comparison, MetricDiff, PairComparison
from .detectors.curves import level, smooth
from .errors import UsageError
from .hparam_names import HPARAM_ALIASES
from .ingest import discover, load_run
from .model import Series
from .pipeline import Options, diagnose, run_series
from .sweep import name_params

# settings that most often decide a run's fate, most telling first (their aliases count too)
KEY_ORDER = ("lr", "optimizer", "batch_size", "weight_decay", "warmup_steps", "warmup_ratio", "lr_scheduler_type",
             "scheduler", "momentum", "epochs", "num_train_epochs", "max_steps", "dropout", "gradient_clip_val",
             "max_grad_norm", "seed")
PART_SIGMAS = 3.0  # the curves part where their smoothed difference exceeds this many noise units...
PART_HOLD = 0.05  # ...and stays beyond it for this share of the common range (at least 3 points)
GRID_POINTS = 400  # points of the common step grid the curves are compared on
END_SHARE = (0.9, 1.0)  # a run's end level: the median of its last 10%
MIN_OVERLAP = 0.5  # step ranges sharing less than half of the shorter run: compare on relative progress
SAME_END = 0.02  # end levels within 2% of each other: neither run ends better
NOT_COMPARED = {"other", "epoch", "step", "time", "throughput"}  # bookkeeping, not how training went


# keys of a run's path that number log directories, not settings (Lightning's version_0, version_1)
PATH_BOOKKEEPING = frozenset({"version"})


def _canonical(hparams: dict[str, Any], path_params: dict[str, Any]) -> dict[str, Any]:
    """Settings under one name each (lr for learning_rate, ...); logged values beat path keys;
    a path's bookkeeping keys (version_0) are not settings."""
    alias = {a: canon for canon, names in HPARAM_ALIASES.items() for a in names}
    out: dict[str, Any] = {}
    path_params = {k: v for k, v in path_params.items() if k not in PATH_BOOKKEEPING}
    for src in (path_params, hparams):
        for k, v in src.items():
            out[alias.get(str(k), str(k))] = v
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except (TypeError, ValueError):
        return str(a) == str(b)


def hparam_diffs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    rank = {k: i for i, k in enumerate(KEY_ORDER)}
    keys = [k for k in set(a) | set(b) if not (k in a and k in b and _same(a[k], b[k]))]
    keys.sort(key=lambda k: (rank.get(k, len(rank)), k))
    return [(k, a.get(k), b.get(k)) for k in keys]


def _scale(v: np.ndarray) -> tuple[np.ndarray, bool]:
    positive = bool(v.size) and bool(np.all(v > 0))
    return (np.log(v) if positive else v), positive


def _noise(x: np.ndarray) -> float:
    """Spread of a curve around its smoothed self (MAD, in sigma units)."""
    if x.size < 5:
        return 0.0
    r = x - smooth(x, 0.05, min_window=5)
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def _progress(s: np.ndarray) -> np.ndarray:
    return (s - s[0]) / max(float(s[-1] - s[0]), 1e-12) if s.size else s


def overlap_share(a: Series, b: Series) -> float:
    """How much of the shorter run's step range both runs cover."""
    if not a.steps.size or not b.steps.size:
        return 0.0
    lo, hi = max(a.steps[0], b.steps[0]), min(a.steps[-1], b.steps[-1])
    short = min(a.steps[-1] - a.steps[0], b.steps[-1] - b.steps[0])
    return float(max(hi - lo, 0.0) / short) if short > 0 else 0.0


def parting(a: Series, b: Series, progress: bool = False) -> tuple[float | None, float, float]:
    """(step where the curves part or None, start and end of their common range); with
    `progress`, on the share of each run done (0 to 1) instead of steps."""
    fa, fb = np.isfinite(a.values), np.isfinite(b.values)
    sa, va, sb, vb = a.steps[fa], a.values[fa], b.steps[fb], b.values[fb]
    if progress:
        sa, sb = _progress(sa), _progress(sb)
    lo, hi = max(sa[0], sb[0]) if sa.size and sb.size else 0.0, min(sa[-1], sb[-1]) if sa.size and sb.size else 0.0
    if sa.size < 3 or sb.size < 3 or hi <= lo:
        return None, float(lo), float(hi)
    grid = np.linspace(lo, hi, min(GRID_POINTS, max(sa.size, sb.size)))
    xa, pos_a = _scale(va)
    xb, pos_b = _scale(vb)
    if pos_a != pos_b:  # one curve has zeros or negatives: compare both as they are
        xa, xb = va, vb
    ga, gb = np.interp(grid, sa, xa), np.interp(grid, sb, xb)
    d = smooth(ga, 0.03, min_window=3) - smooth(gb, 0.03, min_window=3)
    band = PART_SIGMAS * max(math.hypot(_noise(xa), _noise(xb)), 1e-12)
    out = np.abs(d) > band
    hold = max(3, int(PART_HOLD * grid.size))
    if out.sum() >= hold:
        run = np.convolve(out.astype(int), np.ones(hold, int), mode="valid") == hold  # `hold` points in a row
        i = np.flatnonzero(run)
        if i.size:
            return float(grid[i[0]]), float(lo), float(hi)
    return None, float(lo), float(hi)


def _end(s: Series) -> float:
    v = s.values[np.isfinite(s.values)]
    return level(v, *END_SHARE) if v.size else math.nan


def metric_diffs(base: dict[str, Series], other: dict[str, Series]) -> list[MetricDiff]:
    """Shared metrics (by name; else by role, for runs logged under other names)."""
    base = {k: s for k, s in base.items() if s.role.kind not in NOT_COMPARED}
    other = {k: s for k, s in other.items() if s.role.kind not in NOT_COMPARED}
    pairs: list[tuple[Series, Series]] = [(base[k], other[k]) for k in sorted(set(base) & set(other))]
    named = {k for k in set(base) & set(other)}
    by_role = {s.role.name: s for k, s in other.items() if k not in named}
    for k, s in sorted(base.items()):
        if k not in named and s.role.name in by_role:
            pairs.append((s, by_role.pop(s.role.name)))
    out = []
    for a, b in pairs:
        axis = "step" if overlap_share(a, b) >= MIN_OVERLAP else "progress"
        step, lo, hi = parting(a, b, progress=axis == "progress")
        ea, eb = _end(a), _end(b)
        change = (eb - ea) / abs(ea) if ea and math.isfinite(ea) and math.isfinite(eb) else math.nan
        direction = a.role.direction
        if not (math.isfinite(ea) and math.isfinite(eb)) or direction == "none":
            better = "unknown"
        elif abs(change) <= SAME_END:
            better = "same"
        else:
            better = "other" if (eb < ea) == (direction == "lower") else "baseline"
        name = a.metric if a.metric == b.metric else f"{a.metric} ~ {b.metric}"
        out.append(MetricDiff(name, a.role.name, direction, step, ea, eb, change, better, lo, hi, axis))
    # the metrics that decide first: losses and accuracies, where they part earliest
    key_roles = ("train_loss", "val_loss", "val_accuracy", "train_accuracy", "test_loss", "test_accuracy")
    out.sort(key=lambda m: (m.role not in key_roles, key_roles.index(m.role) if m.role in key_roles else 0, m.metric))
    return out


def one_run(path: str) -> Any:
    """The single run a compare argument names (a file or a run directory)."""
    found = discover([path])
    if not found.runs:
        raise UsageError(f"{path}: no training log found" + (f" ({found.messages[0]})" if found.messages else ""))
    if len(found.runs) > 1:
        names = ", ".join(r.name for r in found.runs[:5]) + (" ..." if len(found.runs) > 5 else "")
        raise UsageError(f"{path}: holds {len(found.runs)} runs ({names}); name one run per argument")
    return found.runs[0]


def compare_paths(paths: list[str], baseline: str | None = None, options: Options | None = None) -> Comparison:
    """Compare the runs at `paths` with the baseline run (the first path unless `baseline`)."""
    if len(paths) < 2:
        raise UsageError("compare needs at least two runs")
    order = list(paths)
    if baseline is not None:
        if baseline not in order:
            order.insert(0, baseline)
        else:
            order.remove(baseline)
            order.insert(0, baseline)
    sources = [one_run(p) for p in order]
    names = [s.name for s in sources]
    if len(set(names)) < len(names):
        raise UsageError("the same run is named twice: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    runs = [load_run(s) for s in sources]
    series = [run_series(r, options).series for r in runs]
    diags = [diagnose(r, options) for r in runs]
    settings = [_canonical(dict(r.hparams), name_params(r.name)) for r in runs]
    out = Comparison(diagnoses=diags)
    for d, ser in zip(diags, series):
        out.curves[d.run] = {k: (s.steps, s.values) for k, s in ser.items() if s.role.kind not in NOT_COMPARED}
    for i in range(1, len(runs)):
        sym_a = {f.symptom for f in diags[0].symptoms if f.severity != "info"}
        sym_b = {f.symptom for f in diags[i].symptoms if f.severity != "info"}
        out.pairs.append(PairComparison(
            baseline=diags[0].run, other=diags[i].run,
            hparams=tuple(hparam_diffs(settings[0], settings[i])),
            metrics=tuple(metric_diffs(series[0], series[i])),
            only_baseline=tuple(sorted(sym_a - sym_b)), only_other=tuple(sorted(sym_b - sym_a))))
    return out

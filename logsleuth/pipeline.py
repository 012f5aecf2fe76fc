"""One run: files -> tidy table -> evidence -> findings -> ranked causes (a Diagnosis).

Many runs (discovery, workers, the diagnosis cache) are scan.py's."""

from __future__ import annotations

import os
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .axes import Aligned, align
from .errors import InputError
from .ingest import RunSource, load_run
from .model import Diagnosis, Finding, MetricInfo, Outcome, Role, RunData, Series
from .roles import build_series

if TYPE_CHECKING:
    from .ruleset import RuleSet


@dataclass(frozen=True)
class Options:
    """What changes a diagnosis: the rule set and role overrides."""

    ruleset: RuleSet | None = None  # None: the built-in one
    role_overrides: tuple[tuple[str, Role], ...] = ()
    # read only the metrics a rule or a plot uses (runs with thousands of tags); others are
    # dropped as soon as each file is read and are not listed in reports
    only_needed: bool = False


def metric_filter(options: Options):
    """None, or a predicate on metric names keeping those the rules and plots can use."""
    if not options.only_needed:
        return None
    import fnmatch

    from .roles import assign_roles
    from .ruleset import builtin_ruleset, needed

    roles, patterns = needed(options.ruleset or builtin_ruleset())
    roles = roles | set(PLOT_ROLES)
    overrides = list(options.role_overrides)

    def keep(names: list[str]) -> list[str]:
        assigned = assign_roles(names, overrides)
        return [n for n in names if assigned[n].name in roles or any(fnmatch.fnmatchcase(n, p) for p in patterns)]

    return keep


def metric_infos(series: dict[str, Series]) -> tuple[MetricInfo, ...]:
    from .detectors.curves import finite

    out = []
    for name in sorted(series):
        s = series[name]
        out.append(MetricInfo(
            metric=name, role=s.role.name, points=len(s),
            first_step=float(s.steps[0]) if len(s) else None,
            last_step=float(s.steps[-1]) if len(s) else None,
            nonfinite=len(s) - finite(s)[1].size,
        ))
    return tuple(out)


def diagnose(run: RunData, options: Options | None = None) -> Diagnosis:
    """The diagnosis of one loaded run."""
    return diagnose_outcome(run, options, curves=False).diagnosis


def diagnose_outcome(run: RunData, options: Options | None = None, curves: bool = True) -> Outcome:
    """The diagnosis of one loaded run, and the curves of its plot when `curves`."""
    from .ranking import rank
    from .ruleset import builtin_ruleset, evaluate

    options = options or Options()
    aligned = run_series(run, options)
    series = aligned.series
    ruleset = options.ruleset or builtin_ruleset()
    findings, skipped = evaluate(ruleset, series, run.hparams)
    reason = nothing_to_judge(series)
    if reason and not any(f.severity != "info" for f in findings):
        findings.append(Finding(rule="judge.nothing", symptom="unknown", severity="info", metric="", confidence=1.0,
                                start_step=None, end_step=None, evidence=reason, causes=()))
    health, causes = rank(findings, ruleset, judged=reason is None)
    infos = metric_infos(series)
    from .detectors.curves import forget

    forget()  # the detectors' caches held this run's curves (transformed copies too): not the next run's memory
    return Outcome(Diagnosis(
        run=run.name, status="ok", health=health, metrics=infos,
        symptoms=tuple(findings), causes=tuple(causes), skipped=tuple(skipped),
        warnings=tuple(as_named(w, run.name, run.path, run.files) for w in run.warnings) + aligned.notes,
        hparams=dict(run.hparams), formats=run.formats,
    ), plot_curves(series) if curves else {})


def shown_files(name: str, directory: str, files: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Each file of a run as reports name it: under the run's own name (the PATH's name and the
    run's path under it), as run names are shown, not as an absolute or `../../` path."""
    out: dict[str, str] = {}
    for f in files:
        if len(files) == 1 and os.path.basename(name) == os.path.basename(f) and \
                os.path.normpath(os.path.dirname(f) or ".") == os.path.normpath(directory):
            out[f] = name  # a log file named on the command line is its own run
        else:
            rel = os.path.relpath(f, directory) if directory else f
            out[f] = name if rel == "." else (f if rel.startswith("..") else f"{name}/{rel.replace(os.sep, '/')}")
    return out


def as_named(text: str, name: str, directory: str, files: tuple[str, ...] | list[str]) -> str:
    """A reader's message with the run's file paths written as the report names them."""
    names = shown_files(name, directory, files)
    if directory and os.path.normpath(directory) != "." and directory not in names:
        names[directory] = name
    for path in sorted(names, key=len, reverse=True):
        if path in text and path != names[path]:
            shown = names[path]
            text = re.sub(re.escape(path) + r"(?![\w.-])", lambda _m: shown, text)  # noqa: B023
    return text


def run_series(run: RunData, options: Options | None = None) -> Aligned:
    """A run's metrics as series with roles, on one step axis (per-epoch series moved onto it)."""
    overrides = list((options or Options()).role_overrides)
    return align(build_series(run, overrides), partial(wall_times, run.table))


def wall_times(table, metric: str) -> np.ndarray | None:
    """Wall times of a metric's points in step order (as build_series orders them), or None."""
    rows = table[table["metric"] == metric]
    if "wall_time" not in rows or rows.empty:
        return None
    w = rows.sort_values("step", kind="stable")["wall_time"].to_numpy(dtype=float)
    return w if np.isfinite(w).all() and (w > 0).all() else None


# kinds of curve a judgement rests on (an objective, or a task metric)
OBJECTIVE_KINDS = ("loss", "perplexity", "gan_loss", "aux_loss", "reward", "error", "accuracy", "score")
# the fewest finite points any trend detector reads (no_learning, stuck_at_chance need 6, divergence 5)
MIN_JUDGE_POINTS = 5


def nothing_to_judge(series: dict[str, Series]) -> str | None:
    """Why nothing in a run can be judged, or None when something can: a run needs at least
    one objective or task curve with MIN_JUDGE_POINTS finite points."""
    from .detectors.curves import finite

    curves = [s for s in series.values() if s.role.kind in OBJECTIVE_KINDS]
    best = max((finite(s)[1].size for s in curves), default=0)  # the detectors' cached finite points
    if best >= MIN_JUDGE_POINTS:
        return None
    if not series:
        return "cannot judge: no metric was read"
    if not curves:
        return ("cannot judge: no loss or task metric among " + ", ".join(sorted(series)[:8])
                + (" ..." if len(series) > 8 else "") + " (name one with --roles)")
    if best == 0:
        return "cannot judge: no finite value in " + ", ".join(s.metric for s in curves[:4])
    return f"cannot judge: at most {best} finite point(s) per curve, {MIN_JUDGE_POINTS} needed"


PLOT_ROLES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_score", "lr", "grad_norm")


def plot_curves(series: dict[str, Series], points: int = 1500) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """The main metric of each plotted role, decimated (min and max per bucket keep spikes)."""
    from .roles import primary

    out = {}
    for role in PLOT_ROLES:
        s = primary(series, role)
        if s is None and role == "train_loss":
            # a GAN's losses, a perplexity, an RL reward: the run's objective takes the loss panel
            s = next((c for r in OBJECTIVE_STANDINS if (c := primary(series, r)) is not None), None)
        if s is not None and len(s):
            st, v = decimate(s.steps, s.values, points)
            out[role] = (s.metric, st, v)
    return out


# what the loss panel shows when no training loss is logged, first found wins
OBJECTIVE_STANDINS = ("gan_loss", "train_perplexity", "perplexity", "reward", "train_reward", "loss")


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


def analyze_source(src: RunSource, options: Options | None = None, curves: bool = True,
                   timeout: float | None = None) -> Outcome:
    """Load and diagnose one run; a broken run gives status 'error', never an exception.  A run
    whose step counter restarted gives one outcome per segment (`Outcome.segments`).
    `timeout` (seconds) stops a run that takes longer (local executors: the alarm needs the
    process's main thread, which is where pool workers run)."""
    try:
        with time_limit(timeout):
            run = load_run(src, keep=metric_filter(options or Options()))
            if not run.segments:
                return diagnose_outcome(run, options, curves=curves)
            # a step counter that went back to its start: each segment is a run of its own
            *before, last = (diagnose_outcome(seg, options, curves=curves) for seg in run.segments)
            return last._replace(segments=tuple(before))
    except InputError as exc:
        return _failed(src, as_named(str(exc), src.name, src.directory, [f.path for f in src.files]))
    except MemoryError:
        return _failed(src, f"{src.name}: out of memory while reading")
    except RunTimeout:
        return _failed(src, f"{src.name}: stopped after {timeout:g} s (--timeout); the run was not analysed")


def _failed(src: RunSource, error: str) -> Outcome:
    return Outcome(Diagnosis(run=src.name, status="error", error=error, health="unknown"), {})


class RunTimeout(BaseException):
    """Raised by the alarm of time_limit; a BaseException so no reader's `except Exception` eats it."""


@contextmanager
def time_limit(seconds: float | None):
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise RunTimeout()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds or 0.0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

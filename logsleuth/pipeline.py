"""files -> tidy table -> evidence -> ranked causes -> Diagnosis, for one run or many."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .axes import Aligned, align
from .errors import InputError
from .ingest import Discovery, RunSource, discover, load_run
from .model import Analysis, Diagnosis, Finding, MetricInfo, Outcome, Role, RunData, Series
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
    return Outcome(Diagnosis(
        run=run.name, status="ok", health=health, metrics=metric_infos(series),
        symptoms=tuple(findings), causes=tuple(causes), skipped=tuple(skipped),
        warnings=run.warnings + aligned.notes, hparams=dict(run.hparams), formats=run.formats,
    ), plot_curves(series) if curves else {})


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
    curves = [s for s in series.values() if s.role.kind in OBJECTIVE_KINDS]
    best = max((int(np.isfinite(s.values).sum()) for s in curves), default=0)
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
    """Load and diagnose one run; a broken run gives status 'error', never an exception.
    `timeout` (seconds) stops a run that takes longer (local executors: the alarm needs the
    process's main thread, which is where pool workers run)."""
    try:
        with time_limit(timeout):
            run = load_run(src, keep=metric_filter(options or Options()))
            return diagnose_outcome(run, options, curves=curves)
    except InputError as exc:
        return _failed(src, str(exc))
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


def analyze_chunk(sources: list[RunSource], options: Options | None = None, curves: bool = True,
                  timeout: float | None = None) -> list[Outcome]:
    """The unit of work sent to a worker: a few runs, one at a time (one run's data in memory)."""
    return [analyze_source(s, options, curves, timeout) for s in sources]


@dataclass
class ScanPlan:
    """What a scan will read: the discovered runs and, with a cache, each run's identity (its
    name and files, cache.run_identity) and cache key (that identity and the options)."""
    paths: list[str]
    found: Discovery
    identities: list[list]
    keys: list[str]


def plan_scan(paths: list[str], options: Options | None = None, cache=None, found: Discovery | None = None,
              identities: list[list] | None = None) -> ScanPlan:
    """Discovery (unless `found` is given) and, with a cache, the runs' identities (unless
    given) and keys."""
    found = discover(paths) if found is None else found
    keys: list[str] = []
    if cache is not None:
        from .cache import options_fingerprint, run_identity, run_key

        identities = [run_identity(r) for r in found.runs] if identities is None else identities
        fp = options_fingerprint(options or Options())
        keys = [run_key(r, fp, ident) for r, ident in zip(found.runs, identities)]
    return ScanPlan(list(paths), found, identities or [], keys)


def analyze_paths(paths: list[str], options: Options | None = None, jobs: int | None = None, *,
                  curves: bool = True, cache=None, progress: bool = False, executor: str = "local",
                  scheduler: str | None = None, timeout: float | None = None, plan: ScanPlan | None = None) -> Analysis:
    """Discover every run under the paths and diagnose each; results come back in discovery
    order whatever the executor.

    jobs: worker processes of the local executor (default: all cores); executor 'dask' sends
    the work to the Dask scheduler at `scheduler` (a local cluster of `jobs` workers if None).
    cache: a logsleuth.cache.DiagnosisCache; runs whose files, rules and options are unchanged
    are served from it.  curves: keep decimated curves for plots (HTML/Markdown reports).
    progress: draw a progress line on stderr.  plan: the scan's plan_scan(), when the caller
    already made it (with the same cache)."""
    from functools import partial

    from .executors import run_dask, run_local
    from .progress import Progress

    options = options or Options()
    if plan is None:
        plan = plan_scan(paths, options, cache)
    found = plan.found
    out = Analysis(messages=list(found.messages))
    out.explicit_errors += [f"{d}: no training log found in this directory (see the notes above)" for d in found.empty]
    runs = found.runs
    explicit = {p for p in paths if os.path.isfile(p)}
    jobs = jobs or os.cpu_count() or 1
    bar = Progress(len(runs), enabled=progress)
    results: list[Outcome | None] = [None] * len(runs)
    keys: list[str] = []
    if cache is not None:
        keys, hits = plan.keys, _cached(cache, plan.keys, curves, out)
        for i, k in enumerate(keys):
            if k in hits:
                results[i] = hits[k]
        bar.skip(len(hits))
        out.stats["cached"] = len(hits)
    todo = [i for i, r in enumerate(results) if r is None]
    work = partial(analyze_chunk, options=options, curves=curves, timeout=timeout)
    sources = [runs[i] for i in todo]
    kept = _Keeper(cache, keys, todo, curves, out, bar)
    try:
        if executor == "dask":
            fresh = run_dask(sources, work, scheduler, jobs, kept)
        else:
            fresh = run_local(sources, work, jobs, kept)
    except KeyboardInterrupt as exc:
        raise ScanInterrupted(kept.analysed, kept.cached, out.stats.get("cached", 0)) from exc
    finally:
        bar.close()
    for i, d in zip(todo, fresh):
        results[i] = d
    done = [d for d in results if d is not None]
    assert len(done) == len(runs), "every run is either cached or analysed"
    out.stats["analysed"] = len(todo)
    for src, o in zip(runs, done):
        out.diagnoses.append(o.diagnosis)
        if o.curves:
            out.curves[o.diagnosis.run] = o.curves
        if o.diagnosis.status == "error" and any(f.path in explicit for f in src.files):
            out.explicit_errors.append(o.diagnosis.error or src.name)
    return out


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during a scan: how many runs were analysed, how many of them are now in the
    cache, and how many came from it."""

    def __init__(self, analysed: int, cached: int, from_cache: int) -> None:
        super().__init__(analysed, cached, from_cache)
        self.analysed, self.cached, self.from_cache = analysed, cached, from_cache


@contextmanager
def _ctrl_c_deferred():
    """Ctrl-C inside the block takes effect when it ends (main thread only; elsewhere as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if pending:
            raise KeyboardInterrupt


class _Keeper:
    """on_done of the executors: moves the progress line and writes each finished chunk's
    diagnoses into the cache at once (one writer, one small transaction a chunk), so a scan
    killed at any point keeps what it finished and the next one does only the rest."""

    def __init__(self, cache, keys: list[str], todo: list[int], curves: bool, out: Analysis, bar) -> None:
        self.cache, self.keys, self.todo, self.curves, self.out, self.bar = cache, keys, todo, curves, out, bar
        self.analysed = self.cached = 0

    def __call__(self, first: int, res: list[Outcome]) -> None:
        self.bar.update(len(res))
        self.analysed += len(res)
        if self.cache is None:
            return
        from .cache import CacheError

        rows = [(self.keys[self.todo[first + k]], o) for k, o in enumerate(res) if o.diagnosis.status == "ok"]
        try:
            with _ctrl_c_deferred():  # stored and counted, or neither: the count said at Ctrl-C is true
                self.cache.put_many(rows, with_curves=self.curves)
                self.cached += len(rows)
        except CacheError as exc:
            self.out.notices.append(str(exc))
            self.cache = None  # one notice; the scan goes on without the cache


def _cached(cache, keys: list[str], curves: bool, out: Analysis) -> dict[str, Outcome]:
    from .cache import CacheError

    try:
        return cache.get_many(keys, want_curves=curves)
    except CacheError as exc:
        out.notices.append(str(exc))
        return {}

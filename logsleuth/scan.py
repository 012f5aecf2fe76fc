"""Many runs: discovery, the worker processes, and the diagnosis cache's policy (which runs
and whole reports are served from it, what is stored, where it may live).

The one-run diagnosis is pipeline.py's; the SQLite store itself is cache.py's.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .ingest.discover import Discovery, RunSource, discover
from .model import Analysis, Health, Outcome
from .pathguard import inside_analysed

if TYPE_CHECKING:
    from .cache import DiagnosisCache
    from .pipeline import Options

# the pipeline (numpy, the readers, the rules) is imported when a run is analysed: a scan whose
# every run, or whose whole report, is stored does without it


def analyze_chunk(sources: list[RunSource], options: Options | None = None, curves: bool = True,
                  timeout: float | None = None, plots: Callable[[Outcome], Outcome] | None = None) -> list[Outcome]:
    """The unit of work sent to a worker: a few runs, one at a time (one run's data in memory);
    with `plots` (report.plots.drawn), each run's plot is drawn there too (one matplotlib per
    worker, no second pool)."""
    from .pipeline import analyze_source

    out = [analyze_source(s, options, curves, timeout) for s in sources]
    return [plots(o) for o in out] if plots is not None and curves else out


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
        from .pipeline import Options

        identities = [run_identity(r) for r in found.runs] if identities is None else identities
        fp = options_fingerprint(options or Options())
        keys = [run_key(r, fp, ident) for r, ident in zip(found.runs, identities)]
    return ScanPlan(list(paths), found, identities or [], keys)


def analyze_paths(paths: list[str], options: Options | None = None, jobs: int | None = None, *,
                  curves: bool = True, cache=None, progress: bool = False, executor: str = "local",
                  scheduler: str | None = None, timeout: float | None = None, plan: ScanPlan | None = None,
                  plots: Callable[[Outcome], Outcome] | None = None) -> Analysis:
    """Discover every run under the paths and diagnose each; results come back in discovery
    order whatever the executor.

    jobs: worker processes of the local executor (default: all cores); executor 'dask' sends
    the work to the Dask scheduler at `scheduler` (a local cluster of `jobs` workers if None).
    cache: a logsleuth.cache.DiagnosisCache; runs whose files, rules and options are unchanged
    are served from it.  curves: keep decimated curves for plots (HTML/Markdown reports).
    progress: draw a progress line on stderr.  plan: the scan's plan_scan(), when the caller
    already made it (with the same cache).  plots: report.plots.drawn, for the workers to draw
    each run's plot too (`Analysis.pngs`; runs from the cache are drawn by render_all)."""
    from .executors import run_dask, run_local
    from .pipeline import Options
    from .progress import Progress

    options = options or Options()
    if plan is None:
        plan = plan_scan(paths, options, cache)
    found = plan.found
    out = Analysis(messages=list(found.messages))
    out.explicit_errors += [f"{d}: no training log found in this directory (see the notes above)" for d in found.empty]
    runs = found.runs
    out.explicit_errors += _unread_files(paths, runs)
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
    work = partial(analyze_chunk, options=options, curves=curves, timeout=timeout, plots=plots)
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
        for one in o.runs():  # the segments of a restarted run, in order
            out.diagnoses.append(one.diagnosis)
            if one.curves:
                out.curves[one.diagnosis.run] = one.curves
            if one.png:
                out.pngs[one.diagnosis.run] = one.png
        if o.diagnosis.status == "error" and _named(src, paths):
            out.explicit_errors.append(o.diagnosis.error or src.name)
    return out


def _same(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _named(src: RunSource, paths: Sequence[str]) -> bool:
    """Whether a run was named on the command line (one of its files, or its own directory),
    not found inside a tree: its failure is exit 2 (CONTRACT), a tree's broken run is not."""
    return any(_same(p, src.directory) or any(_same(p, f.path) for f in src.files) for p in paths)


def _unread_files(paths: Sequence[str], runs: Sequence[RunSource]) -> list[str]:
    """Files named on the command line that no run reads (not a training log): each is exit 2."""
    read = {os.path.realpath(f.path) for r in runs for f in r.files}
    read |= {os.path.realpath(h) for r in runs for h in r.hparam_files}
    return [f"{p}: not a training log logsleuth can read (see the notes above)" for p in paths
            if os.path.isfile(p) and os.path.realpath(p) not in read]


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


# ------------------------------------------------------------------ where the cache and reports may be

def open_cache(path: str | None, roots: Sequence[str]) -> tuple[DiagnosisCache | None, str | None]:
    """(the diagnosis cache or None, a note for the user or None).  A --cache inside an analysed
    path is a usage error; a default one there, or a cache that cannot be used, is a note and
    the scan goes on without it (the cache only saves time)."""
    from .cache import CacheError, DiagnosisCache, default_path

    if path and inside_analysed(path, roots):
        raise UsageError(f"{path}: refusing to keep the cache inside an analysed path; use --cache elsewhere or --no-cache")
    path = path or default_path()
    if inside_analysed(path, roots):
        return None, f"the default cache {path} is inside an analysed path; scanning without it"
    try:
        return DiagnosisCache(path), None
    except CacheError as exc:
        return None, str(exc)


# ------------------------------------------------------------------ stored reports of whole scans

@dataclass
class StoredLookup:
    """A stored-report lookup: its key, the discovery and run identities it made (a scan that
    goes on reuses them), and the stored report (texts, worst health) or None."""
    key: str
    found: Discovery
    identities: list[list]
    stored: dict[str, Any] | None


def stored_report(cache: DiagnosisCache, paths: list[str], rules: Sequence[str], roles: str | None,
                  only_needed: bool, spec: list) -> StoredLookup:
    """An unchanged tree scanned again with the same code, rule and role files and report kinds
    (`spec`) gets the reports stored last time (they depend on nothing else), found before the
    rules are even parsed."""
    from .cache import report_key, run_identity, sources_fingerprint

    found = discover(paths)
    identities = [run_identity(r) for r in found.runs]
    key = report_key(sources_fingerprint(tuple(rules), roles, only_needed), paths, identities, found.messages,
                     found.empty, spec)
    return StoredLookup(key, found, identities, cache.get_report(key))


def storable(result: Analysis, explicit_errors: Sequence[str]) -> bool:
    """A scan's report is kept only when nothing in it can change on its own: no error (a file
    being written, a path missing), no notice."""
    return not explicit_errors and not result.notices and all(d.status == "ok" for d in result.diagnoses)


def store_report(cache: DiagnosisCache, key: str, texts: list[str], worst: str | None) -> str | None:
    """Store a scan's reports; a note when the cache refused them."""
    from .cache import CacheError

    try:
        cache.put_report(key, texts, worst)
    except CacheError as exc:
        return str(exc)
    return None


def worst_health(diagnoses) -> str | None:
    """The highest health among the runs analysed (None when none was)."""
    levels = [Health(d.health) for d in diagnoses if d.status == "ok"]
    return max(levels).value if levels else None

"""Finding runs under the paths a user gives.

A run is the directory holding one training job's logs: several TensorBoard event files
in one directory (restarts) are one run, and so are Keras' `train/` and `validation/`
event sub-directories.  Several CSV/JSON-lines logs side by side in one directory (no
event files) are separate runs, one per file.  Symlinked directories are not followed, so
walks cannot loop or leave the given root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .formats import classify
from .mlflow import is_mlflow_run
from .sniff import HPARAM_FILES, IGNORED_FILES, SNIFF_BYTES, TEXT_EXT, looks_like_csv, read_head

__all__ = ["HPARAM_FILES", "Discovery", "LogFile", "RunSource", "classify", "discover", "looks_like_csv", "why_not"]

SKIP_DIRS = {".git", "__pycache__", "node_modules", ".hg", ".svn", ".ipynb_checkpoints", "checkpoints_weights"}
SPLIT_DIRS = {"train", "training", "validation", "val", "valid", "eval", "test"}
# inside a W&B run directory that has its .wandb file: what would read the same run twice
# (files/wandb-history.jsonl of older clients) or is not training output
WANDB_RUN_SUBDIRS = ("files", "logs", "tmp")
# DVCLive's directory: one `.tsv` per metric below plots/metrics/, the logged params beside them
DVCLIVE_SERIES = ("plots", "metrics")
DVCLIVE_PARAMS = "params.yaml"
DVCLIVE_OWN = ("metrics.json", DVCLIVE_PARAMS, "report.html", "report.md", "dvc.yaml")  # what DVCLive writes beside its series
DVCLIVE_HEADER_BYTES = 4096  # a .tsv header line: `step<TAB>train/loss` (the timestamp column first in some versions)


@dataclass(frozen=True)
class LogFile:
    path: str
    kind: str  # a kind of ingest.formats.FORMATS
    prefix: str = ""
    entry: str = ""  # which run inside a file that holds many (an MLflow database: the run id)


@dataclass(frozen=True)
class RunSource:
    """Where one run's logs are; `name` is what reports call it."""

    name: str
    directory: str
    files: tuple[LogFile, ...]
    hparam_files: tuple[str, ...] = ()


@dataclass
class Discovery:
    runs: list[RunSource] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # directories given that hold no readable log (exit 2)


def natural_key(path: str) -> list:
    """Event files in the order they were written: the numbers in their names (time stamp, pid,
    writer counter) compared as numbers, so `...0001.host.7.9` comes before `...0001.host.7.10`."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", os.path.basename(path))]


def _display_name(given: str, rel: str) -> str:
    rel = "" if rel == "." else rel.replace(os.sep, "/")
    if os.path.isabs(given):
        base = os.path.basename(os.path.normpath(given)) or "."
        return f"{base}/{rel}" if rel else base
    g = os.path.normpath(given).replace(os.sep, "/")
    if not rel:
        return g
    return rel if g == "." else f"{g}/{rel}"


def discover(paths: list[str]) -> Discovery:
    """All runs under the given files and directories, sorted by name."""
    out = Discovery()
    seen: set[tuple[int, int]] = set()
    for given in paths:
        if os.path.isfile(given):
            kind = classify(given)
            if kind == "mlflowdb":
                base = os.path.normpath(given).replace(os.sep, "/") if not os.path.isabs(given) else os.path.basename(given)
                _add_db_runs(given, base, out)
                continue
            if kind is None:
                kind = "csv" if given.lower().endswith(".log") else "jsonl" if given.lower().endswith(".json") else None
            if kind is None:
                out.messages.append(f"{given}: not a training log logsleuth can read (TensorBoard, CSV, JSON lines, trainer_state.json, MLflow, console text)")
                continue
            d = os.path.dirname(given) or "."
            names = _list(d, out.messages)
            out.runs.append(RunSource(
                name=os.path.normpath(given).replace(os.sep, "/") if not os.path.isabs(given) else os.path.basename(given),
                directory=d, files=(LogFile(given, kind),),
                hparam_files=tuple(os.path.join(d, n) for n in HPARAM_FILES if n in names)))
            continue
        if not os.path.isdir(given):
            out.messages.append(f"{given}: no such file or directory")
            continue
        before = len(out.runs)
        looked = _walk(given, out, seen)
        if len(out.runs) == before:
            out.empty.append(given)
            out.messages.append(f"{given}: no training log found" + (f" among {len(looked)} file(s)" if looked else " (no files)"))
            for p in looked[:MAX_SKIP_REASONS]:
                out.messages.append(f"skipped {p}: {why_not(p)}")
            if len(looked) > MAX_SKIP_REASONS:
                out.messages.append(f"... and {len(looked) - MAX_SKIP_REASONS} more file(s)")
    out.runs.sort(key=lambda r: r.name)
    return out


def _add_db_runs(path: str, base: str, out: Discovery) -> None:
    """One run source per run of an MLflow database, named `<base>/<experiment>/<run>`."""
    from ..errors import InputError
    from .mlflowdb import list_runs

    try:
        runs = list_runs(path)
    except InputError as exc:
        out.messages.append(str(exc))
        return
    if not runs:
        out.messages.append(f"{path}: an MLflow database without runs")
    for run_id, label in runs:
        out.runs.append(RunSource(f"{base}/{label}", os.path.dirname(path) or ".", (LogFile(path, "mlflowdb", entry=run_id),)))


MAX_SKIP_REASONS = 10  # files named with their reason when a directory yields no run


def why_not(path: str) -> str:
    """Why a file is not read as a log, in a few words."""
    low = os.path.basename(path).lower()
    if low in IGNORED_FILES or low in HPARAM_FILES:
        return "a known file that is not a training log (metadata, hyperparameters or a tool's own log)"
    head = read_head(path).rstrip(b"\x00")
    if not head:
        return "empty"
    if b"\x00" in head[:1024]:
        return "binary content"
    if low.endswith(TEXT_EXT) or low.endswith((".json", ".jsonl")):
        return (f"no metric lines (`name value` fields, a table of numbers or JSON records) in its first "
                f"{SNIFF_BYTES // 1024} KB")
    return "not a log format logsleuth reads, by name or by content"


def _list(d: str, messages: list[str]) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except OSError as exc:
        messages.append(f"{d}: cannot list: {exc.strerror or exc}")
        return []


def _tree(root: str, onerror: Callable[[OSError], None]):
    """os.walk(root, topdown=True, followlinks=False), with the files as DirEntry objects (their
    symlink bit without a syscall): (dirpath, dirnames to prune in place, file entries)."""
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                entries = list(it)
        except OSError as exc:
            onerror(exc)
            continue
        dirnames, files, linked = [], [], set()
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirnames.append(e.name)
                if e.is_symlink():
                    linked.add(e.name)
            else:
                files.append(e)
        yield top, dirnames, files
        # a symlinked directory is listed, not entered
        stack += [os.path.join(top, d) for d in reversed(dirnames) if d not in linked]


def _walk(given: str, out: Discovery, seen: set[tuple[int, int]]) -> list[str]:
    """Add the runs under `given` to `out`; the files looked at that were not logs."""
    root = given
    passed: list[str] = []
    real_root = os.path.realpath(root)

    def onerror(exc: OSError) -> None:
        out.messages.append(f"{exc.filename}: cannot list: {exc.strerror or exc}")

    consumed: set[str] = set()
    for dirpath, dirnames, entries in _tree(root, onerror):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        try:
            st = os.stat(dirpath)
            real = (st.st_dev, st.st_ino)  # the same directory reached twice (bind mounts, given twice)
        except OSError:
            continue
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        if dirpath in consumed:
            continue
        links = {e.name for e in entries if e.is_symlink()}
        names = sorted(e.name for e in entries)
        rel = dirpath[len(root):].lstrip(os.sep) or "."  # dirpath is root joined with the names below it
        if is_mlflow_run(dirpath, names + dirnames):
            out.runs.append(RunSource(_display_name(given, rel), dirpath, (LogFile(dirpath, "mlflow"),)))
            dirnames[:] = []
            continue
        dvc = _dvclive_run(_display_name(given, rel), dirpath, names, dirnames)
        if dvc:
            out.runs.append(dvc)
            names = [n for n in names if n not in DVCLIVE_OWN]  # other logs beside it (rare) are runs of their own
        files: list[LogFile] = []
        for fn in names:
            p = os.path.join(dirpath, fn)
            if fn in links and not os.path.realpath(p).startswith(real_root + os.sep):
                out.messages.append(f"{p}: symlink pointing outside {given}; skipped")
                continue
            kind = classify(p)
            if kind == "wandb":
                consumed.update(os.path.join(dirpath, d) for d in WANDB_RUN_SUBDIRS)
            if kind == "mlflowdb":  # a database holds many runs: each is its own
                _add_db_runs(p, f"{_display_name(given, rel)}/{fn}", out)
            elif kind:
                files.append(LogFile(p, kind))
            elif len(passed) < 1000:
                passed.append(p)
        files += _split_event_files(dirpath, dirnames, out.messages, consumed)
        if not files:
            continue
        hp = tuple(os.path.join(dirpath, n) for n in HPARAM_FILES if n in names)
        runs = _directory_runs(_display_name(given, rel), dirpath, files, hp)
        if dvc:  # the directory's name is the DVCLive run's: the others are named by their file
            runs = [replace(r, name=f"{r.name}/{_stem(r.files[0].path)}") if r.name == dvc.name else r for r in runs]
        out.runs += runs
    return passed


def _split_event_files(dirpath: str, dirnames: list[str], messages: list[str], consumed: set[str]) -> list[LogFile]:
    """Keras/TF2 layout: the event files of train/ and validation/ sub-directories, named by them
    (those directories are then consumed: not runs of their own)."""
    files: list[LogFile] = []
    for sub in list(dirnames):
        if sub.lower() in SPLIT_DIRS:
            sp = os.path.join(dirpath, sub)
            ev = [f for f in _list(sp, messages) if "tfevents" in f.lower() and os.path.isfile(os.path.join(sp, f))]
            if ev:
                files += [LogFile(os.path.join(sp, f), "tensorboard", prefix=f"{sub}/") for f in ev]
                consumed.add(sp)
    return files


def _dvclive_run(name: str, dirpath: str, names: list[str], dirnames: list[str]) -> RunSource | None:
    """DVCLive's directory as one run: its series under plots/metrics/ (not walked again), its
    params.yaml as hyperparameters, its summary (metrics.json) not a series; None when not one."""
    files = _dvclive_files(dirpath, dirnames)
    if not files:
        return None
    dirnames.remove(DVCLIVE_SERIES[0])
    hp = tuple(os.path.join(dirpath, n) for n in (*HPARAM_FILES, DVCLIVE_PARAMS) if n in names)
    return RunSource(name, dirpath, files, hp)


def _dvclive_files(dirpath: str, dirnames: list[str]) -> tuple[LogFile, ...]:
    """The `.tsv` series of a DVCLive directory (`plots/metrics/train/loss.tsv`, one metric per file),
    in natural order; none when `dirpath` is not one.  A file whose header names its metric without
    the directories above it (`step  loss` in train/ and in eval/, as older DVCLive writes) gets them
    as a prefix, so train/loss and eval/loss stay two metrics."""
    if "plots" not in dirnames:
        return ()
    top = os.path.join(dirpath, *DVCLIVE_SERIES)
    found = []
    for sub, subdirs, fns in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found += [os.path.join(sub, fn) for fn in fns if fn.lower().endswith(".tsv")]
    out = []
    for p in sorted(found, key=natural_key):
        rel = os.path.relpath(os.path.dirname(p), top).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        header = read_head(p, DVCLIVE_HEADER_BYTES).decode("utf-8", "replace").split("\n", 1)[0]
        named = bool(prefix) and any(col.strip().startswith(prefix) for col in header.split("\t"))
        out.append(LogFile(p, "csv", prefix="" if named else prefix))
    return tuple(out)


def _directory_runs(name: str, dirpath: str, files: list[LogFile], hp: tuple[str, ...]) -> list[RunSource]:
    """The runs one directory's logs make: one, with all its event files (restarts, Keras' split
    directories), or, without event files, one per log side by side (the Monitor files of the
    environment workers together; DVCLive's `.tsv` files of one run together)."""
    tb = sorted((f for f in files if f.kind == "tensorboard"), key=lambda f: (f.prefix, natural_key(f.path)))
    other = [f for f in files if f.kind not in ("tensorboard", "monitor")]
    monitors = tuple(sorted((f for f in files if f.kind == "monitor"), key=lambda f: natural_key(f.path)))
    separate = (not tb and len(other) + bool(monitors) > 1
                and not all(f.path.lower().endswith(".tsv") for f in other + list(monitors)))
    if not separate:
        return [RunSource(name, dirpath, tuple(tb + other) + monitors, hp)]
    runs = []
    if monitors:  # one file per environment worker: one run (ingest.monitorcsv)
        runs.append(RunSource(f"{name}/monitor", dirpath, monitors, hp))
    for f in other:
        runs.append(RunSource(f"{name}/{_stem(f.path)}", dirpath, (f,), hp))
    return runs


def _stem(path: str) -> str:
    """A log file's name without its log extension (`metrics.jsonl` -> `metrics`)."""
    stem = os.path.basename(path)
    for ext in (".jsonl", ".json", ".csv", ".tsv", ".log", ".txt"):
        if stem.lower().endswith(ext):
            return stem[: -len(ext)]
    return stem
